//! Event-stream fan-out: `SUBSCRIBERS` real tonic clients, each on its own HTTP/2 connection
//! over loopback, follow `Events.Subscribe` while the bus publishes a snapshot of `CALLS`
//! synthetic active calls once a second and `EVENTS_PER_SEC` ordinary call events between.
//!
//! The server (bus + gRPC service, as in the daemon) runs in this process; the clients run
//! in a child process (this binary re-run with `FANOUT_CLIENT`), so `getrusage` here counts
//! the server's CPU only. Each published event carries its publish time (µs since the Unix
//! epoch) in `call_id`; the clients decode only `seq` and `call_id` of each message (the
//! rest is skipped, not decoded) and report the delivery lag.
//!
//! `cargo bench --bench api_fanout` (env: SUBSCRIBERS, CALLS, SECONDS, EVENTS_PER_SEC).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchboard::api::{pb, Bus, Server, Tokens};
use switchboard::config::{ApiLimits, ApiScope, ApiSecurity, ApiToken};
use tokio::sync::mpsc;

const TOKEN: &str = "bench-token";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we own.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// A snapshot of `n` calls that looks like a busy call centre's (ids, numbers, queue,
/// agent, quality, KPIs of 20 queues and 1,000 agents... scaled to `n`).
fn snapshot(n: usize) -> pb::Snapshot {
    pb::Snapshot {
        calls: (0..n)
            .map(|i| pb::CallInfo {
                call_id: format!("{:08x}-4b1d-4c3a-9e2f-{:012x}", i, i * 7919),
                state: pb::CallState::Confirmed as i32,
                caller: format!("+4930{:07}", 1_000_000 + i),
                callee: "+498001234567".into(),
                duration_ms: 60_000 + i as u64 * 17,
                talk_ms: 45_000 + i as u64 * 13,
                queue: format!("queue-{}", i % 20),
                agent: format!("agent-{i:04}"),
                held: i % 10 == 0,
                quality: Some(pb::CallQuality {
                    caller_packets: 3_000 + i as u64,
                    callee_packets: 2_990 + i as u64,
                    loss_pct: 0.1,
                    jitter_ms: 2.5,
                    mos: 4.3,
                    rtt_ms: 12.0,
                }),
            })
            .collect(),
        queues: (0..20)
            .map(|q| pb::QueueInfo {
                name: format!("queue-{q}"),
                waiting: 5,
                longest_wait_ms: 42_000,
                offered: 900,
                answered: 850,
                abandoned: 50,
                answered_within_sl: 800,
                service_level_pct: Some(94.1),
                service_level_secs: 20,
                asa_ms: Some(12_000),
                aht_ms: Some(240_000),
                ewt_ms: Some(30_000),
                agents_logged_in: 50,
                agents_ready: 2,
                agents_busy: 48,
            })
            .collect(),
        agents: (0..n)
            .map(|a| pb::AgentInfo {
                agent: format!("agent-{a:04}"),
                state: pb::AgentState::OnCall as i32,
                reason: String::new(),
                phone: format!("{}", 2000 + a),
                in_state_ms: Some(45_000),
                calls_handled: 40,
                talk_ms: 9_000_000,
                occupancy_pct: Some(88.0),
                aht_ms: Some(240_000),
            })
            .collect(),
    }
}

fn main() {
    raise_fd_limit();
    if let Ok(addr) = std::env::var("FANOUT_CLIENT") {
        return client::run(&addr);
    }
    // `cargo bench` passes `--bench`; a filter argument means "not this bench".
    if std::env::args().skip(1).any(|a| !a.starts_with("--")) {
        return;
    }
    // `cargo test --all-targets` runs bench targets without `--bench`: 1,000 subscribers
    // are for `cargo bench` only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("api_fanout bench: run it with `cargo bench --bench api_fanout`");
        return;
    }
    let subscribers = env("SUBSCRIBERS", 1_000);
    let calls = env("CALLS", 1_000) as usize;
    let seconds = env("SECONDS", 10);
    let events_per_sec = env("EVENTS_PER_SEC", 100);
    // Two workers: the daemon's runtime on this 2-core machine.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (mut bus, reader) = Bus::new();
        let (commands, _rx) = mpsc::channel(1);
        let server = Server {
            bus: reader,
            tokens: Tokens::new(&[ApiToken {
                token: TOKEN.into(),
                scopes: vec![ApiScope::Read],
            }]),
            commands,
            tls: None,
            // Every subscriber is its own connection from 127.0.0.1: lift the caps.
            limits: ApiLimits {
                max_connections: 1_000_000,
                max_connections_per_ip: 1_000_000,
                ..ApiLimits::default()
            },
            security: ApiSecurity::default(),
            trusted: Vec::new(),
        };
        let listener = switchboard::api::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let ready = server.build().await.expect("server");
        tokio::spawn(ready.serve(listener));

        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .env("FANOUT_CLIENT", addr.to_string())
            .env("SUBSCRIBERS", subscribers.to_string())
            .env("SECONDS", seconds.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the clients");
        let deadline = Instant::now() + Duration::from_secs(120);
        while (bus.subscribers() as u64) < subscribers {
            assert!(Instant::now() < deadline, "only {} subscribed", bus.subscribers());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let snap = snapshot(calls);
        let size = prost::Message::encoded_len(&pb::Event {
            payload: Some(pb::event::Payload::Snapshot(snap.clone())),
            ..Default::default()
        });
        // What the path before the shared encoding did per subscriber and snapshot: a deep
        // clone of the event (the subscriber task's copy) and its encoding (tonic's). Timed
        // here on one thread for the same snapshot, as CPU per second of stream.
        let old = {
            let ev = std::sync::Arc::new(pb::Event {
                payload: Some(pb::event::Payload::Snapshot(snap.clone())),
                ..Default::default()
            });
            let reps = 50u32;
            let t = Instant::now();
            for _ in 0..reps {
                let copy: pb::Event = (*ev).clone();
                std::hint::black_box(prost::Message::encode_to_vec(&copy));
            }
            t.elapsed() / reps
        };
        // Warm-up second, then the measured window.
        let mut tick = tokio::time::interval(Duration::from_millis(1000 / events_per_sec.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut published = (0u64, 0u64);
        let mut cpu0 = None;
        let mut wall0 = Instant::now();
        let per_sec = events_per_sec.max(1);
        for i in 0..(seconds + 1) * per_sec {
            tick.tick().await;
            if i == per_sec {
                cpu0 = Some(cpu_time());
                wall0 = Instant::now();
            }
            if i % per_sec == 0 {
                bus.snapshot(pb::Event {
                    call_id: format!("s{}", micros()),
                    payload: Some(pb::event::Payload::Snapshot(snap.clone())),
                    ..Default::default()
                });
                published.0 += 1;
            } else {
                bus.publish(pb::Event {
                    call_id: format!("e{}", micros()),
                    payload: Some(pb::event::Payload::CallRinging(pb::CallRinging {})),
                    ..Default::default()
                });
                published.1 += 1;
            }
        }
        let wall = wall0.elapsed();
        let cpu = cpu_time() - cpu0.expect("ran past the warm-up");
        // The end marker, once the last snapshot has had time to go out.
        tokio::time::sleep(Duration::from_millis(500)).await;
        bus.publish(pb::Event {
            call_id: "x".into(),
            ..Default::default()
        });
        // Let the clients drain the last second, then collect their report.
        let out = child.stdout.take().expect("piped");
        let report: Vec<String> = tokio::task::spawn_blocking(move || {
            BufReader::new(out).lines().map_while(Result::ok).collect()
        })
        .await
        .expect("reader");
        let _ = child.wait();
        println!(
            "api_fanout: {subscribers} subscribers, snapshot of {calls} calls ({size} bytes encoded) \
             1/s + {} events/s, {seconds} s measured",
            per_sec - 1
        );
        println!(
            "server CPU: {:.3} s per second of stream ({:.1} % of one core); published {} snapshots, {} events",
            cpu.as_secs_f64() / wall.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
            published.0,
            published.1
        );
        for l in report {
            println!("{l}");
        }
        println!(
            "per-subscriber clone + encode of this snapshot (the old path): {:.2} ms each, \
             {:.3} s CPU per second for {subscribers} subscribers",
            old.as_secs_f64() * 1000.0,
            old.as_secs_f64() * subscribers as f64
        );
    });
}

mod client {
    //! The subscribers: decode only the head of each event (`seq`, `call_id`).

    use super::*;
    use tonic::codegen::http::uri::PathAndQuery;
    use tonic::transport::Endpoint;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Head {
        #[prost(uint64, tag = "1")]
        seq: u64,
        #[prost(string, tag = "3")]
        call_id: String,
    }

    fn pct(v: &mut [u64], p: f64) -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_unstable();
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i] as f64 / 1000.0
    }

    pub fn run(addr: &str) {
        let n = env("SUBSCRIBERS", 1_000);
        let seconds = env("SECONDS", 10);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let addr = format!("http://{addr}");
        let (snaps, events, gaps) = rt.block_on(async move {
            let mut tasks = Vec::new();
            for _ in 0..n {
                let addr = addr.clone();
                tasks.push(tokio::spawn(async move {
                    let ch = Endpoint::from_shared(addr)
                        .expect("uri")
                        .connect()
                        .await
                        .expect("connect");
                    let mut grpc = tonic::client::Grpc::new(ch);
                    grpc.ready().await.expect("ready");
                    let mut req = tonic::Request::new(pb::SubscribeRequest::default());
                    req.metadata_mut().insert(
                        "authorization",
                        format!("Bearer {TOKEN}").parse().expect("ascii"),
                    );
                    let codec = tonic_prost::ProstCodec::<pb::SubscribeRequest, Head>::default();
                    let mut stream = grpc
                        .server_streaming(
                            req,
                            PathAndQuery::from_static("/switchboard.v1.Events/Subscribe"),
                            codec,
                        )
                        .await
                        .expect("subscribe")
                        .into_inner();
                    let (mut snaps, mut events, mut gaps) = (Vec::new(), Vec::new(), 0u64);
                    let end = tokio::time::Instant::now() + Duration::from_secs(seconds + 20);
                    while let Ok(Ok(Some(h))) = tokio::time::timeout_at(end, stream.message()).await
                    {
                        let now = micros();
                        let lag = |t: &str| t.parse::<u64>().map(|t| now.saturating_sub(t)).ok();
                        if let Some(t) = h.call_id.strip_prefix('s') {
                            snaps.extend(lag(t));
                        } else if let Some(t) = h.call_id.strip_prefix('e') {
                            events.extend(lag(t));
                        } else if h.call_id == "x" {
                            break;
                        } else {
                            gaps += 1;
                        }
                    }
                    (snaps, events, gaps)
                }));
            }
            let (mut s, mut e, mut g) = (Vec::new(), Vec::new(), 0);
            for t in tasks {
                let (a, b, c) = t.await.expect("client task");
                s.extend(a);
                e.extend(b);
                g += c;
            }
            (s, e, g)
        });
        let (mut snaps, mut events) = (snaps, events);
        println!(
            "snapshot lag ms: p50 {:.2} p99 {:.2} max {:.2} ({} deliveries)",
            pct(&mut snaps, 0.5),
            pct(&mut snaps, 0.99),
            pct(&mut snaps, 1.0),
            snaps.len()
        );
        println!(
            "event lag ms:    p50 {:.2} p99 {:.2} max {:.2} ({} deliveries); gaps/other: {gaps}",
            pct(&mut events, 0.5),
            pct(&mut events, 0.99),
            pct(&mut events, 1.0),
            events.len()
        );
    }
}
