//! The gRPC API against the real daemon: our tonic client (generated from proto/) follows
//! a SIPp call through a trunk (lifecycle with increasing sequence numbers, per-second
//! snapshots), reconnects with a sequence number and gets exactly what it missed, is
//! refused without a valid token or scope, lists and hangs up a call; an independent Python
//! grpcio client sees the lifecycle too.

mod common;

use common::api::*;
use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pb::event::Payload;
use switchboard::api::pb;
use tonic::transport::Channel;
use tonic::Code;

static MEDIA_BLOCK: AtomicU16 = AtomicU16::new(0);

/// An even RTP port range of our own (test binaries run in parallel).
fn media_base() -> u16 {
    let block = MEDIA_BLOCK.fetch_add(1, Ordering::SeqCst);
    42000 + block * 200 + (std::process::id() as u16 % 10) * 1000
}

/// A trunk to `uas_port` for every number, and the API on `api_port` with three tokens.
fn config(dir: &Path, port: u16, uas_port: u16, api_port: u16) -> String {
    let base = media_base();
    let extra = format!(
        r#"{LEGACY_AUTH}
[media]
address = "127.0.0.1"
port_min = {base}
port_max = {max}

[[trunks]]
name = "carrier"
address = "127.0.0.1:{uas_port}"

[[dialplan.routes]]
pattern = "_X."
trunk = "carrier"

[api]
listen = "127.0.0.1:{api_port}"
tokens = [
  {{ token = "{READ}", scopes = ["read"] }},
  {{ token = "{CONTROL}", scopes = ["control"] }},
  {{ token = "{ADMIN}", scopes = ["admin"] }},
]
"#,
        max = base + 199
    );
    test_config(dir, port, TRUSTING, &extra)
}

struct Setup {
    dir: tempfile::TempDir,
    daemon: Daemon,
    uas_port: u16,
    api_port: u16,
}

fn setup() -> Setup {
    let dir = temp_dir();
    let (port, uas_port, api_port) = (free_port(), free_port(), free_port());
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, uas_port, api_port),
    );
    Setup {
        dir,
        daemon,
        uas_port,
        api_port,
    }
}

/// Subscribe and collect every event into the returned list in the background.
async fn follow(ch: Channel, after_seq: Option<u64>) -> Seen {
    subscribe(
        ch,
        pb::SubscribeRequest {
            after_seq,
            ..Default::default()
        },
    )
    .await
}

fn is_snapshot(e: &pb::Event) -> bool {
    matches!(e.payload, Some(Payload::Snapshot(_)))
}

fn is_sequenced(e: &pb::Event) -> bool {
    !matches!(
        e.payload,
        Some(Payload::Snapshot(_)) | Some(Payload::Gap(_))
    )
}

fn ended(events: &[pb::Event]) -> Option<&pb::Event> {
    events
        .iter()
        .find(|e| matches!(e.payload, Some(Payload::CallEnded(_))))
}

/// The caller scenario `name` with 3 s of PCMU to stream (the path written into a copy).
fn caller_scenario(dir: &Path, name: &str) -> String {
    let path = dir.join("caller.ulaw");
    let bytes: Vec<u8> = (0..24000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    sipp::filled(dir, name, &[("AUDIO_FILE", &path.display().to_string())])
}

/// Run the caller `scenario` as 1001 calling 5551234, in a blocking thread.
fn call(s: &Setup, scenario: String) -> tokio::task::JoinHandle<(bool, String)> {
    let dir = s.dir.path().to_path_buf();
    let target = s.daemon.addr().to_string();
    tokio::task::spawn_blocking(move || {
        let mp = free_port().to_string();
        sipp::run_uac(
            &dir,
            &scenario,
            &target,
            &[("1001", "1001pass")],
            1,
            &["-s", "5551234", "-mi", "127.0.0.1", "-mp", &mp],
        )
    })
}

fn uas(s: &Setup, scenario: &str) -> sipp::Uas {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    sipp::Uas::spawn(
        s.dir.path(),
        scenario,
        &path.display().to_string(),
        (s.uas_port, free_port()),
        1,
        &[],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_sees_the_call_lifecycle_snapshots_and_replays_what_it_missed() {
    let s = setup();
    let ch = channel(s.api_port).await;
    let live = follow(ch.clone(), None).await;
    // The first snapshot (within a second) shows the subscription is live.
    wait_for(&live, 20, "a first snapshot", |e| e.iter().any(is_snapshot)).await;

    let mut callee = uas(&s, "call_uas.xml");
    let (ok, log) = call(&s, caller_scenario(s.dir.path(), "call_uac.xml"))
        .await
        .unwrap();
    assert!(
        ok,
        "caller failed:\n{log}\n--- daemon:\n{}",
        s.daemon.log_text()
    );
    assert_eq!(callee.wait(Duration::from_secs(10)), Some(true), "callee");
    wait_for(&live, 20, "CallEnded", |e| ended(e).is_some()).await;

    let events = live.lock().unwrap().clone();
    let end = ended(&events).unwrap().clone();
    let call_id = end.call_id.clone();
    assert!(!call_id.is_empty(), "{end:?}");
    let of_call: Vec<&pb::Event> = events
        .iter()
        .filter(|e| e.call_id == call_id && is_sequenced(e))
        .collect();
    assert!(
        matches!(of_call.first().and_then(|e| e.payload.as_ref()), Some(Payload::CallCreated(c)) if c.callee.contains("5551234")),
        "first event of the call: {of_call:#?}"
    );
    assert!(of_call
        .iter()
        .any(|e| matches!(e.payload, Some(Payload::CallAnswered(_)))));
    assert!(
        matches!(&end.payload, Some(Payload::CallEnded(c)) if c.cause == "normal"),
        "{end:?}"
    );
    // Sequenced events are numbered +1 each, in order.
    let seqs: Vec<u64> = events
        .iter()
        .filter(|e| is_sequenced(e))
        .map(|e| e.seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "seqs: {seqs:?}");
    // The call lasted ~2.5 s: at least one snapshot showed it, with its duration so far.
    let shown = events.iter().filter_map(|e| match &e.payload {
        Some(Payload::Snapshot(sn)) => sn.calls.iter().find(|c| c.call_id == call_id),
        _ => None,
    });
    assert!(
        shown
            .clone()
            .any(|c| c.duration_ms > 0 && c.caller.contains("1001")),
        "no snapshot showed the call: {events:#?}"
    );
    // Once answered, its relay's live figures ride along.
    assert!(
        shown
            .clone()
            .any(|c| c.state == pb::CallState::Confirmed as i32 && c.quality.is_some()),
        "no snapshot showed the answered call's quality: {events:#?}"
    );

    // Reconnect after the CallCreated: exactly the events after it come back, in order.
    let created_seq = of_call[0].seq;
    let last_seq = *seqs.last().unwrap();
    let again = follow(ch.clone(), Some(created_seq)).await;
    wait_for(&again, 20, "the replay", |e| {
        e.iter().any(|x| is_sequenced(x) && x.seq == last_seq)
    })
    .await;
    let replayed: Vec<u64> = again
        .lock()
        .unwrap()
        .iter()
        .filter(|e| is_sequenced(e) && e.seq <= last_seq)
        .map(|e| e.seq)
        .collect();
    let expected: Vec<u64> = seqs.iter().copied().filter(|q| *q > created_seq).collect();
    assert_eq!(replayed, expected);
    let first_live: Vec<pb::Event> = events
        .iter()
        .filter(|e| is_sequenced(e) && e.seq > created_seq)
        .cloned()
        .collect();
    let replayed_events: Vec<pb::Event> = again
        .lock()
        .unwrap()
        .iter()
        .filter(|e| is_sequenced(e) && e.seq <= last_seq)
        .cloned()
        .collect();
    assert_eq!(replayed_events, first_live, "replayed events differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_a_valid_token_or_scope_are_refused() {
    let s = setup();
    let ch = channel(s.api_port).await;
    let mut control = pb::control_client::ControlClient::new(ch.clone());
    let mut events = pb::events_client::EventsClient::new(ch.clone());

    let none = control
        .list_calls(pb::ListCallsRequest {})
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated, "{none:?}");
    assert!(none.message().contains("authorization"), "{none:?}");
    let wrong = control
        .list_calls(authed(pb::ListCallsRequest {}, "not-a-configured-token"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
    let sub = events
        .subscribe(pb::SubscribeRequest::default())
        .await
        .expect_err("unauthenticated subscribe refused");
    assert_eq!(sub.code(), Code::Unauthenticated);

    // read may list but not hang up; control may hang up but not list.
    let denied = control
        .hangup(authed(
            pb::HangupRequest {
                call_id: "x".into(),
            },
            READ,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("control"), "{denied:?}");
    let denied = control
        .list_calls(authed(pb::ListCallsRequest {}, CONTROL))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let sub = events
        .subscribe(authed(pb::SubscribeRequest::default(), CONTROL))
        .await
        .expect_err("subscribe without read refused");
    assert_eq!(sub.code(), Code::PermissionDenied);

    let listed = control
        .list_calls(authed(pb::ListCallsRequest {}, READ))
        .await
        .expect("read lists");
    assert!(listed.into_inner().calls.is_empty());
    let missing = control
        .hangup(authed(
            pb::HangupRequest {
                call_id: "no-such-call".into(),
            },
            ADMIN,
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let empty = control
        .hangup(authed(pb::HangupRequest::default(), CONTROL))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    let unknown = control
        .agent_ready(authed(
            pb::AgentRequest {
                agent: "1001".into(),
            },
            CONTROL,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert!(unknown.message().contains("[[agents]]"), "{unknown:?}");
    let no_permission = control
        .monitor(authed(
            pb::MonitorRequest {
                supervisor: "1003".into(),
                agent: "1002".into(),
            },
            CONTROL,
        ))
        .await
        .unwrap_err();
    assert_eq!(no_permission.code(), Code::FailedPrecondition);
    assert!(
        no_permission.message().contains("`monitor` permission"),
        "{no_permission:?}"
    );
    let no_mode = control
        .set_monitor_mode(authed(
            pb::SetMonitorModeRequest {
                supervisor_call_id: "x".into(),
                mode: 0,
            },
            CONTROL,
        ))
        .await
        .unwrap_err();
    assert_eq!(no_mode.code(), Code::InvalidArgument, "{no_mode:?}");
    let no_call = control
        .set_monitor_mode(authed(
            pb::SetMonitorModeRequest {
                supervisor_call_id: "no-such-call".into(),
                mode: pb::MonitorMode::Whisper as i32,
            },
            CONTROL,
        ))
        .await
        .unwrap_err();
    assert_eq!(no_call.code(), Code::NotFound, "{no_call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_calls_then_hangup_sends_bye_to_both_sides() {
    let s = setup();
    let ch = channel(s.api_port).await;
    let live = follow(ch.clone(), None).await;
    let mut control = pb::control_client::ControlClient::new(ch.clone());
    // Both SIPp sides wait for our BYE: only the hangup ends this call.
    let mut callee = uas(&s, "call_uas.xml");
    let caller = call(&s, caller_scenario(s.dir.path(), "call_uac_hungup.xml"));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let call = loop {
        let calls = control
            .list_calls(authed(pb::ListCallsRequest {}, READ))
            .await
            .expect("list calls")
            .into_inner()
            .calls;
        if let Some(c) = calls
            .into_iter()
            .find(|c| c.state == pb::CallState::Confirmed as i32)
        {
            break c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call never got established:\n{}",
            s.daemon.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(call.callee.contains("5551234"), "{call:?}");
    control
        .hangup(authed(
            pb::HangupRequest {
                call_id: call.call_id.clone(),
            },
            CONTROL,
        ))
        .await
        .expect("hangup");

    let (ok, log) = caller.await.unwrap();
    assert!(
        ok,
        "caller did not get its BYE:\n{log}\n--- daemon:\n{}",
        s.daemon.log_text()
    );
    assert_eq!(
        callee.wait(Duration::from_secs(10)),
        Some(true),
        "callee did not get its BYE"
    );
    wait_for(&live, 20, "CallEnded", |e| ended(e).is_some()).await;
    let events = live.lock().unwrap().clone();
    let end = ended(&events).unwrap();
    assert_eq!(end.call_id, call.call_id);
    assert!(
        matches!(&end.payload, Some(Payload::CallEnded(c)) if c.cause == "api-hangup"),
        "{end:?}"
    );
    let cdr = finished_cdr(&s.daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("api-hangup"), "{cdr:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_client_follows_the_call_lifecycle() {
    let s = setup();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/api_subscribe.py");
    let mut py = std::process::Command::new("python3")
        .args([script, &format!("127.0.0.1:{}", s.api_port), READ, "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let stdout = py.stdout.take().unwrap();
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push(l);
        }
    });
    // Its first snapshot says it is subscribed (stub generation takes a moment).
    assert!(
        poll_until(Duration::from_secs(30), || lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("\"snapshot\""))),
        "python client never subscribed: {:?}",
        lines.lock().unwrap()
    );
    let mut callee = uas(&s, "call_uas.xml");
    let (ok, log) = call(&s, caller_scenario(s.dir.path(), "call_uac.xml"))
        .await
        .unwrap();
    assert!(ok, "caller failed:\n{log}");
    assert_eq!(callee.wait(Duration::from_secs(10)), Some(true));
    let status = tokio::task::spawn_blocking(move || py.wait_with_output())
        .await
        .unwrap()
        .expect("python exit");
    let lines = lines.lock().unwrap().clone();
    assert!(
        status.status.success(),
        "python client failed: {lines:?}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let kinds: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["kind"] != "snapshot")
        .collect();
    let names: Vec<&str> = kinds.iter().filter_map(|v| v["kind"].as_str()).collect();
    assert_eq!(names.first(), Some(&"call_created"), "{names:?}");
    assert!(names.contains(&"call_answered"), "{names:?}");
    assert_eq!(names.last(), Some(&"call_ended"), "{names:?}");
    assert_eq!(kinds.last().unwrap()["cause"], "normal");
    let seqs: Vec<u64> = kinds.iter().filter_map(|v| v["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer_generic_tools() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let s = setup();
    let ch = channel(s.api_port).await;
    let status = HealthClient::new(ch.clone())
        .check(HealthCheckRequest {
            service: "switchboard.v1.Events".into(),
        })
        .await
        .expect("health check")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(ch)
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("reflection")
        .into_inner();
    let answer = answers.message().await.expect("answer").expect("one");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected reflection answer: {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "switchboard.v1.Events",
        "switchboard.v1.Control",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemon_with_subscribers_attached() {
    let mut s = setup();
    let ch = channel(s.api_port).await;
    let live = follow(ch, None).await;
    wait_for(&live, 20, "a first snapshot", |e| e.iter().any(is_snapshot)).await;
    s.daemon.signal("TERM");
    let code = tokio::task::spawn_blocking(move || {
        let code = s.daemon.wait_exit(Duration::from_secs(10));
        (code, s.daemon.log_text())
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "{}", code.1);
}
