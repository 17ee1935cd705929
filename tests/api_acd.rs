//! The gRPC API with the ACD: an agent logged in through `Control.AgentLogin` (a baresip
//! phone, auto-answer) takes a SIPp caller who went through the IVR into a queue; the
//! event stream shows the whole lifecycle with the call's queue and agent named, snapshots
//! show the queue and the agent, and a subscriber filtered on the queue sees only that.

mod common;

use common::baresip::*;
use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pb::acd_event::Kind;
use pb::event::Payload;
use switchboard::api::pb;
use tonic::transport::Channel;
use tonic::Request;

const TOKEN: &str = "crm-token-0123456789";

/// MD5-only auth (baresip 1.0), an IVR at 500 whose key 1 queues for `billing`, agent 1002.
fn config(dir: &Path, port: u16, api_port: u16) -> String {
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prompts"),
        dir.join("prompts"),
    )
    .unwrap();
    let base = 46000 + (std::process::id() as u16 % 20) * 200;
    let extra = format!(
        r#"[auth]
algorithms = ["MD5"]

[media]
address = "127.0.0.1"
port_min = {base}
port_max = {max}

[[ivr]]
name = "main"
extension = "500"
prompt = "prompts/welcome.wav"
options = {{ "1" = "queue:billing" }}

[[queues]]
name = "billing"
wrap_up_secs = 1
[queues.caller]
music = "prompts/moh.wav"

[[agents]]
id = "1002"
name = "Bob"
queues = [{{ queue = "billing" }}]

[api]
listen = "127.0.0.1:{api_port}"
tokens = [{{ token = "{TOKEN}", scopes = ["admin"] }}]
"#,
        max = base + 199
    );
    test_config(dir, port, TRUSTING, &extra)
}

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    // Invariant: the header value is ASCII.
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

type Seen = Arc<Mutex<Vec<pb::Event>>>;

async fn follow(ch: Channel, req: pb::SubscribeRequest) -> Seen {
    let mut stream = pb::events_client::EventsClient::new(ch)
        .subscribe(authed(req))
        .await
        .expect("subscribe")
        .into_inner();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Ok(Some(ev)) = stream.message().await {
            sink.lock().unwrap().push(ev);
        }
    });
    seen
}

async fn wait_for(seen: &Seen, what: &str, f: impl Fn(&[pb::Event]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f(&seen.lock().unwrap()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; got {:#?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn acd(e: &pb::Event) -> Option<&Kind> {
    match &e.payload {
        Some(Payload::Acd(a)) => a.kind.as_ref(),
        _ => None,
    }
}

/// A SIPp caller (1001) dialling the IVR, pressing 1, then talking for 2 s.
fn run_caller(dir: &Path, daemon: &str) -> (bool, String) {
    let keys = dir.join("dtmf-1.pcap");
    pcap::dtmf(&keys, "1", 101);
    let audio = dir.join("caller.ulaw");
    let bytes: Vec<u8> = (0..24000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&audio, bytes).unwrap();
    let scen = sipp::filled(
        dir,
        "call_uac_ivr.xml",
        &[
            ("DTMF_PCAP", &keys.display().to_string()),
            ("AUDIO_FILE", &audio.display().to_string()),
            (
                "<pause milliseconds=\"1500\"/>",
                "<pause milliseconds=\"2000\"/>",
            ),
        ],
    );
    let mp = free_port().to_string();
    sipp::run_uac(
        dir,
        &scen,
        daemon,
        &[("1001", "1001pass")],
        1,
        &["-s", "500", "-mi", "127.0.0.1", "-mp", &mp],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_call_to_an_agent_logged_in_through_the_api_is_followed_end_to_end() {
    let dir = temp_dir();
    let (port, api_port) = (free_port(), free_port());
    let mut d = Daemon::start(dir.path(), port, &config(dir.path(), port, api_port));
    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)),
        "Bob's phone never registered:\n{}",
        d.log_text()
    );
    let ch = Channel::from_shared(format!("http://127.0.0.1:{api_port}"))
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let all = follow(ch.clone(), pb::SubscribeRequest::default()).await;
    let billing = follow(
        ch.clone(),
        pb::SubscribeRequest {
            queues: vec!["billing".into()],
            kinds: vec![pb::EventKind::Acd as i32, pb::EventKind::CallEnded as i32],
            ..Default::default()
        },
    )
    .await;
    let is_snapshot = |e: &pb::Event| matches!(e.payload, Some(Payload::Snapshot(_)));
    wait_for(&all, "a first snapshot", |e| e.iter().any(is_snapshot)).await;

    let mut control = pb::control_client::ControlClient::new(ch.clone());
    let login = control
        .agent_login(authed(pb::AgentLoginRequest {
            agent: "1002".into(),
            phone: "1002".into(),
        }))
        .await
        .expect("login")
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(login.state, pb::AgentState::Ready as i32, "{login:?}");
    assert_eq!(login.phone, "1002");
    let agents = control
        .list_agents(authed(pb::ListAgentsRequest {}))
        .await
        .expect("list agents")
        .into_inner()
        .agents;
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].state, pb::AgentState::Ready as i32);

    // An earlier call of this customer, for the screen pop's contact history (written
    // beside the running daemon: SQLite WAL lets a second writer in).
    {
        let db = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        db.execute(
            "INSERT INTO cdrs (id, a_call_id, direction, caller, callee, start_unix_ms,
               end_unix_ms, end_cause, queue, agent, disposition)
             VALUES ('earlier', 'x@y', 'inbound', '1001', '1002', 1000, 61000, 'normal',
               'billing', '1002', 'sale')",
            [],
        )
        .unwrap();
    }
    let (dir_path, addr) = (dir.path().to_path_buf(), d.addr().to_string());
    let (ok, log) = tokio::task::spawn_blocking(move || run_caller(&dir_path, &addr))
        .await
        .unwrap();
    assert!(ok, "caller failed:\n{log}\n--- daemon:\n{}", d.log_text());
    wait_for(&all, "wrap-up done", |e| {
        e.iter()
            .any(|x| matches!(acd(x), Some(Kind::WrapUpDone(_))))
    })
    .await;

    let events = all.lock().unwrap().clone();
    let queued = events
        .iter()
        .find(|e| matches!(acd(e), Some(Kind::Queued(_))))
        .expect("Queued");
    let call_id = queued.call_id.clone();
    assert!(!call_id.is_empty(), "{queued:?}");
    assert_eq!(queued.queue, "billing");
    // The customer's call, in order: created, DTMF 1 in the IVR, queued, offered to Bob,
    // connected, ended, the ACD's end and Bob's wrap-up.
    let story: Vec<&str> = events
        .iter()
        .filter(|e| e.call_id == call_id)
        .filter_map(|e| match &e.payload {
            Some(Payload::CallCreated(_)) => Some("created"),
            Some(Payload::Dtmf(_)) => Some("dtmf"),
            Some(Payload::CallEnded(_)) => Some("ended"),
            Some(Payload::Acd(_)) => match acd(e)? {
                Kind::Queued(_) => Some("queued"),
                Kind::Offered(_) => Some("offered"),
                Kind::Connected(_) => Some("connected"),
                Kind::Ended(_) => Some("acd-ended"),
                Kind::WrapUpDone(_) => Some("wrap-up-done"),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let pos = |what: &str| story.iter().position(|s| *s == what);
    for w in [
        "created",
        "dtmf",
        "queued",
        "offered",
        "connected",
        "ended",
        "wrap-up-done",
    ] {
        assert!(pos(w).is_some(), "no {w} in {story:?}");
    }
    assert!(pos("created") < pos("queued") && pos("queued") < pos("offered"));
    assert!(pos("offered") < pos("connected") && pos("connected") < pos("ended"));
    // The screen pop: the offer names the caller and carries their earlier call.
    let offered = events
        .iter()
        .find_map(|e| match acd(e) {
            Some(Kind::Offered(o)) => Some(o.clone()),
            _ => None,
        })
        .expect("Offered");
    assert_eq!(offered.caller, "1001", "{offered:?}");
    assert_eq!(offered.history.len(), 1, "{offered:?}");
    let h = &offered.history[0];
    assert_eq!(
        (
            h.queue.as_str(),
            h.agent.as_str(),
            h.end_cause.as_str(),
            h.disposition.as_str()
        ),
        ("billing", "1002", "normal", "sale")
    );
    let connected = events
        .iter()
        .find(|e| matches!(acd(e), Some(Kind::Connected(_))))
        .unwrap();
    assert_eq!(
        (connected.queue.as_str(), connected.agent.as_str()),
        ("billing", "1002")
    );
    let ended = events
        .iter()
        .find(|e| e.call_id == call_id && matches!(e.payload, Some(Payload::CallEnded(_))))
        .unwrap();
    assert_eq!(
        (ended.queue.as_str(), ended.agent.as_str()),
        ("billing", "1002")
    );
    // Bob's state changes were streamed: logged in (ready), then on the call.
    let bob_states: Vec<i32> = events
        .iter()
        .filter_map(|e| match acd(e) {
            Some(Kind::AgentState(s)) if e.agent == "1002" => Some(s.to),
            _ => None,
        })
        .collect();
    assert!(
        bob_states.contains(&(pb::AgentState::Ready as i32)),
        "{bob_states:?}"
    );
    assert!(
        bob_states.contains(&(pb::AgentState::OnCall as i32)),
        "{bob_states:?}"
    );
    // Snapshots name the queue and Bob; one showed him on the call.
    let snaps: Vec<&pb::Snapshot> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::Snapshot(s)) => Some(s),
            _ => None,
        })
        .collect();
    assert!(snaps
        .iter()
        .all(|s| s.queues.iter().any(|q| q.name == "billing")));
    assert!(
        snaps.iter().any(|s| s
            .agents
            .iter()
            .any(|a| a.agent == "1002" && a.state == pb::AgentState::OnCall as i32)),
        "no snapshot showed Bob on the call"
    );
    // The filtered subscriber: only billing's ACD events and call ends, no snapshots.
    wait_for(&billing, "the filtered wrap-up", |e| {
        e.iter()
            .any(|x| matches!(acd(x), Some(Kind::WrapUpDone(_))))
    })
    .await;
    let filtered = billing.lock().unwrap().clone();
    assert!(
        filtered.iter().all(|e| e.queue == "billing"),
        "{filtered:#?}"
    );
    assert!(filtered.iter().all(|e| matches!(
        e.payload,
        Some(Payload::Acd(_)) | Some(Payload::CallEnded(_))
    )));
    assert!(filtered
        .iter()
        .any(|e| matches!(e.payload, Some(Payload::CallEnded(_)))));

    // Today's KPIs, exact from the events: one caller offered and answered, Bob handled it.
    let queues = control
        .list_queues(authed(pb::ListQueuesRequest {}))
        .await
        .expect("list queues")
        .into_inner()
        .queues;
    let billing_q = queues
        .iter()
        .find(|q| q.name == "billing")
        .expect("billing listed");
    assert_eq!(
        (billing_q.offered, billing_q.answered, billing_q.abandoned),
        (1, 1, 0),
        "{billing_q:?}"
    );
    assert!(billing_q.asa_ms.is_some(), "{billing_q:?}");
    assert!(billing_q.aht_ms.is_some(), "wrap-up is done: {billing_q:?}");
    assert_eq!(billing_q.agents_logged_in, 1, "{billing_q:?}");
    let agents = control
        .list_agents(authed(pb::ListAgentsRequest {}))
        .await
        .expect("list agents")
        .into_inner()
        .agents;
    assert_eq!(agents[0].calls_handled, 1, "{:?}", agents[0]);
    assert!(agents[0].talk_ms > 0, "{:?}", agents[0]);
    assert!(agents[0].occupancy_pct.is_some(), "{:?}", agents[0]);
    assert!(agents[0].in_state_ms.is_some(), "{:?}", agents[0]);

    // kill -9 once the wrap-up's event is committed: the restarted daemon replays the day's
    // stored events and shows the same figures.
    let db_path = dir.path().join("switchboard.db");
    let committed = poll_until(Duration::from_secs(10), || {
        rusqlite::Connection::open(&db_path)
            .and_then(|db| {
                db.query_row(
                    "SELECT COUNT(*) FROM acd_events WHERE json LIKE '%WrapUpDone%'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .is_ok_and(|n| n >= 1)
    });
    assert!(committed, "the wrap-up never reached the store");
    d.kill9();
    let d = Daemon::start_with(dir.path(), port, &dir.path().join("switchboard.toml"));
    let mut again = None;
    for _ in 0..100 {
        let Ok(ch) = Channel::from_shared(format!("http://127.0.0.1:{api_port}"))
            .unwrap()
            .connect()
            .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        again = Some(pb::control_client::ControlClient::new(ch));
        break;
    }
    let mut control = again.unwrap_or_else(|| panic!("API not back:\n{}", d.log_text()));
    let queues = control
        .list_queues(authed(pb::ListQueuesRequest {}))
        .await
        .expect("list queues after the restart")
        .into_inner()
        .queues;
    let after = queues
        .iter()
        .find(|q| q.name == "billing")
        .expect("billing listed");
    assert_eq!(
        (after.offered, after.answered, after.aht_ms),
        (1, 1, billing_q.aht_ms),
        "{after:?}"
    );
    let agents = control
        .list_agents(authed(pb::ListAgentsRequest {}))
        .await
        .expect("list agents after the restart")
        .into_inner()
        .agents;
    assert_eq!(agents[0].calls_handled, 1, "{:?}", agents[0]);
    drop(bob);
}
