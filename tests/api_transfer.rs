//! Hold, resume and blind transfer through the gRPC API with real phones: baresip phones
//! each send their own tone (caller 440 Hz, first callee 1000 Hz, ...) and record what they
//! hear; Goertzel says who heard whom in each phase. The outside-number transfer goes to a
//! SIPp "carrier" that echoes RTP (the caller then hears its own tone back). Error statuses
//! come from our tonic client.

mod common;

#[path = "common/sipp.rs"]
mod sipp;

use common::api::{authed, Seen, CONTROL, READ};
use common::baresip::*;
use common::*;

use std::path::Path;
use std::time::Duration;

use switchboard::api::pb;
use tonic::transport::Channel;
use tonic::Code;

const CALLER: f64 = 440.0;
const FIRST: f64 = 1000.0;
const SECOND: f64 = 1500.0;
const AGENT: f64 = 2400.0;
const MUSIC: f64 = 600.0;

/// The API, hold music of a known tone, a queue with agent 1004, and a trunk to `uas_port`
/// for numbers starting with 555.
fn config(dir: &Path, port: u16, api_port: u16, uas_port: u16) -> String {
    // Agents confirm feature codes with the shipped prompts.
    write_tone(&dir.join("hold.wav"), MUSIC, 5);
    let phones = phone_config(dir);
    let extra = format!(
        r#"{phones}
[calls]
hold_music = "hold.wav"

[[trunks]]
name = "carrier"
address = "127.0.0.1:{uas_port}"

[[dialplan.routes]]
pattern = "_555X."
trunk = "carrier"

[[queues]]
name = "sales"

[[agents]]
id = "1004"
name = "Dana"
queues = [{{ queue = "sales" }}]

[api]
listen = "127.0.0.1:{api_port}"
tokens = [
  {{ token = "{READ}", scopes = ["read"] }},
  {{ token = "{CONTROL}", scopes = ["control"] }},
]
"#
    );
    test_config(dir, port, TRUSTING, &extra)
}

struct Api {
    rt: tokio::runtime::Runtime,
    channel: Channel,
    client: pb::control_client::ControlClient<Channel>,
}

impl Api {
    fn connect(api_port: u16) -> Api {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let url = format!("http://127.0.0.1:{api_port}");
        let mut channel = None;
        assert!(
            poll_until(Duration::from_secs(10), || {
                channel = rt
                    .block_on(Channel::from_shared(url.clone()).unwrap().connect())
                    .ok();
                channel.is_some()
            }),
            "cannot connect to the API"
        );
        let channel = channel.unwrap();
        let client = pb::control_client::ControlClient::new(channel.clone());
        Api {
            rt,
            channel,
            client,
        }
    }

    /// Collect every event (snapshots aside) in the background from now on.
    fn follow(&self) -> Seen {
        let mut events = pb::events_client::EventsClient::new(self.channel.clone());
        let req = authed(pb::SubscribeRequest::default(), READ);
        let mut stream = self
            .rt
            .block_on(events.subscribe(req))
            .expect("subscribe")
            .into_inner();
        let seen = Seen::default();
        let sink = seen.clone();
        self.rt.spawn(async move {
            while let Ok(Some(ev)) = stream.message().await {
                if !matches!(ev.payload, Some(pb::event::Payload::Snapshot(_))) {
                    sink.lock().unwrap().push(ev);
                }
            }
        });
        seen
    }

    /// The one call whose callee is `callee`, once it is confirmed.
    fn call_to(&mut self, callee: &str) -> String {
        let mut id = None;
        let ok = poll_until(Duration::from_secs(20), || {
            let calls = self
                .rt
                .block_on(
                    self.client
                        .list_calls(authed(pb::ListCallsRequest {}, READ)),
                )
                .map(|r| r.into_inner().calls)
                .unwrap_or_default();
            id = calls
                .into_iter()
                .find(|c| c.callee == callee && c.state == pb::CallState::Confirmed as i32)
                .map(|c| c.call_id);
            id.is_some()
        });
        assert!(
            ok,
            "no confirmed call to {callee}: {:?}",
            self.rt.block_on(
                self.client
                    .list_calls(authed(pb::ListCallsRequest {}, READ))
            )
        );
        id.unwrap()
    }

    fn hold(&mut self, call_id: &str, token: &str) -> Result<pb::HoldResponse, tonic::Status> {
        let req = pb::HoldRequest {
            call_id: call_id.into(),
            side: pb::Side::Unspecified as i32,
        };
        self.rt
            .block_on(self.client.hold(authed(req, token)))
            .map(|r| r.into_inner())
    }

    fn resume(&mut self, call_id: &str) -> Result<(), tonic::Status> {
        let req = pb::ResumeRequest {
            call_id: call_id.into(),
        };
        self.rt
            .block_on(self.client.resume(authed(req, CONTROL)))
            .map(|_| ())
    }

    fn start_consult(&mut self, call_id: &str, target: &str) -> Result<String, tonic::Status> {
        let req = pb::StartConsultRequest {
            call_id: call_id.into(),
            target: target.into(),
        };
        self.rt
            .block_on(self.client.start_consult(authed(req, CONTROL)))
            .map(|r| r.into_inner().consult_call_id)
    }

    fn complete_transfer(&mut self, call_id: &str) -> Result<(), tonic::Status> {
        let req = pb::CompleteTransferRequest {
            call_id: call_id.into(),
        };
        self.rt
            .block_on(self.client.complete_transfer(authed(req, CONTROL)))
            .map(|_| ())
    }

    fn transfer(&mut self, call_id: &str, target: &str) -> Result<String, tonic::Status> {
        let req = pb::TransferRequest {
            call_id: call_id.into(),
            target: target.into(),
            keep_side: pb::Side::Unspecified as i32,
        };
        self.rt
            .block_on(self.client.transfer(authed(req, CONTROL)))
            .map(|r| r.into_inner().destination)
    }
}

/// Wait until an event of `call` matches `f`.
fn wait_event(seen: &Seen, call: &str, what: &str, f: impl Fn(&pb::event::Payload) -> bool) {
    assert!(
        poll_until(Duration::from_secs(20), || seen
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.call_id == call && e.payload.as_ref().is_some_and(&f))),
        "no {what} event for {call}: {:#?}",
        seen.lock().unwrap()
    );
}

/// Run tests/py/api_call_control.py (grpcio) with `ops`; its JSON lines.
fn python(api_port: u16, ops: &[String]) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/api_call_control.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(format!("127.0.0.1:{api_port}"))
        .arg(CONTROL)
        .args(ops)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The newest decoded-audio file of a phone (baresip may start a new one when a re-INVITE
/// moves its stream) and its samples so far (header skipped: complete only at the end).
fn heard_in(p: &Phone) -> (Option<std::path::PathBuf>, Vec<f64>) {
    let Ok(dir) = std::fs::read_dir(p.home.join("snd")) else {
        return (None, Vec::new());
    };
    let Some(path) = dir
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .max_by_key(|p| {
            (
                std::fs::metadata(p).and_then(|m| m.modified()).ok(),
                p.clone(),
            )
        })
    else {
        return (None, Vec::new());
    };
    let bytes = std::fs::read(&path).unwrap_or_default();
    let start = bytes
        .windows(4)
        .take(512)
        .position(|w| w == b"data")
        .map_or(44, |i| i + 8);
    let samples = bytes[start.min(bytes.len())..]
        .chunks_exact(2)
        .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])))
        .collect();
    (Some(path), samples)
}

fn heard(p: &Phone) -> Vec<f64> {
    heard_in(p).1
}

/// Power at `freqs` in 2 s of what `p` hears, starting half a second from now (the change
/// just made has taken effect by then); starts over if the phone opens a new file.
fn listen(p: &Phone, freqs: &[f64]) -> Vec<f64> {
    let (mut file, s) = heard_in(p);
    let mut from = s.len() + 4000;
    let mut seg = Vec::new();
    let ok = poll_until(Duration::from_secs(20), || {
        let (now_file, s) = heard_in(p);
        if now_file != file {
            file = now_file;
            from = s.len() + 4000;
            return false;
        }
        if s.len() > from + 16000 {
            seg = s[from..from + 16000].to_vec();
            return true;
        }
        false
    });
    if !ok {
        // For a hunt under load (the temp dir goes with the test): SB_KEEP_FAILED=DIR keeps
        // every phone's files and the daemon's log (`daemon.log`) for a capture to match.
        if let (Ok(keep), Some(root)) = (std::env::var("SB_KEEP_FAILED"), p.home.parent()) {
            let _ = std::process::Command::new("cp")
                .arg("-r")
                .arg(root)
                .arg(&keep)
                .status();
        }
    }
    assert!(ok, "{} stopped hearing audio:\n{}", p.ext, p.log());
    freqs.iter().map(|f| goertzel(&seg, *f)).collect()
}

/// Baresip's line when the other end sent BYE.
fn hung_up(p: &Phone) -> bool {
    p.log().contains("session closed")
}

/// What `p` decoded (power at `freqs`) while `clock` heard 2 s, from half a second on: `p`
/// may get no audio at all in that time (nothing is sent to a side that hears silence).
fn listen_beside(p: &Phone, clock: &Phone, freqs: &[f64]) -> Vec<f64> {
    let from = heard(p).len() + 4000;
    let _ = listen(clock, &[]);
    let s = heard(p);
    let seg = &s[from.min(s.len())..];
    if seg.is_empty() {
        // Nothing decoded at all: nothing of either tone either.
        return vec![0.0; freqs.len()];
    }
    freqs.iter().map(|f| goertzel(seg, *f)).collect()
}

/// `a` clearly present, `b` not (a tone heard has ~1e7 here, one not heard ~0).
fn louder(a: f64, b: f64) -> bool {
    a > 100.0 * b.max(1e-9)
}

/// One test at a time: each runs a daemon and up to four phones decoding audio, and in
/// parallel on 2 cores their audio stalls.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next one may still run.
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn start(dir: &Path) -> (Daemon, Api, u16, u16) {
    let (d, api, port, uas_port, _) = start_with_api_port(dir);
    (d, api, port, uas_port)
}

fn start_with_api_port(dir: &Path) -> (Daemon, Api, u16, u16, u16) {
    let (port, api_port, uas_port) = (free_port(), free_port(), free_port());
    let d = Daemon::start(dir, port, &config(dir, port, api_port, uas_port));
    let api = Api::connect(api_port);
    (d, api, port, uas_port, api_port)
}

fn wait_registered(d: &Daemon, exts: &[&str]) {
    assert!(
        poll_until(Duration::from_secs(20), || exts
            .iter()
            .all(|e| registered(d, e, 1))),
        "phones never registered:\n{}",
        d.log_text()
    );
}

fn transferred_to(d: &Daemon) -> Vec<Option<String>> {
    let conn = rusqlite::Connection::open(d.dir.join("switchboard.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT transferred_to FROM cdrs WHERE end_unix_ms IS NOT NULL")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .filter_map(Result::ok)
        .collect()
}

#[test]
fn hold_plays_music_to_the_caller_and_silence_to_the_callee_until_resume() {
    let _one = serial();
    let dir = temp_dir();
    let (d, mut api, port, _, api_port) = start_with_api_port(dir.path());
    let seen = api.follow();
    let caller = Phone::start(dir.path(), "caller", "1001", port, CALLER, "manual");
    let callee = Phone::start(dir.path(), "callee", "1002", port, FIRST, "auto");
    wait_registered(&d, &["1001", "1002"]);

    // Errors first: a call that does not exist, a token without the control scope.
    let e = api.hold("no-such-call", CONTROL).unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().contains("ListCalls"), "{e:?}");
    let e = api.hold("", CONTROL).unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    let resp = caller.command("dial", &format!("sip:1002@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    let id = api.call_to("1002");
    let e = api.hold(&id, READ).unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // Talking: each hears the other.
    let c = listen(&caller, &[FIRST, MUSIC]);
    assert!(
        louder(c[0], c[1]),
        "before hold the caller hears the callee: {c:?}"
    );

    let held = api.hold(&id, CONTROL).expect("hold");
    assert_eq!(held.held, pb::Side::Caller as i32);
    wait_event(
        &seen,
        &id,
        "CallHeld (api)",
        |p| matches!(p, pb::event::Payload::CallHeld(h) if h.api && h.by == pb::Side::Caller as i32),
    );
    let c = listen(&caller, &[MUSIC, FIRST]);
    assert!(
        louder(c[0], c[1]),
        "held, the caller hears music, not the callee: {c:?}"
    );
    let b = listen_beside(&callee, &caller, &[CALLER, MUSIC]);
    assert!(
        b[0] < 1e-3 * c[0] && b[1] < 1e-3 * c[0],
        "held, the callee hears neither the caller nor the music: {b:?} (music {:.0})",
        c[0]
    );
    let e = api.hold(&id, CONTROL).unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    api.resume(&id).expect("resume");
    let c = listen(&caller, &[FIRST, MUSIC]);
    assert!(
        louder(c[0], c[1]),
        "resumed, the caller hears the callee again: {c:?}"
    );
    let b = listen(&callee, &[CALLER, MUSIC]);
    assert!(
        louder(b[0], b[1]),
        "resumed, the callee hears the caller again: {b:?}"
    );
    wait_event(
        &seen,
        &id,
        "CallResumed (api)",
        |p| matches!(p, pb::event::Payload::CallResumed(r) if r.api),
    );
    let e = api.resume(&id).unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    // The same through an independent client (grpcio).
    let ops = [
        "hold:no-such-call".to_string(),
        format!("hold:{id}"),
        format!("hold:{id}"),
        format!("resume:{id}"),
        format!("resume:{id}"),
        format!("transfer:{id}:nowhere"),
    ];
    let got = python(api_port, &ops);
    let codes: Vec<&str> = got.iter().filter_map(|v| v["code"].as_str()).collect();
    assert_eq!(
        codes,
        [
            "NOT_FOUND",
            "OK",
            "FAILED_PRECONDITION",
            "OK",
            "FAILED_PRECONDITION",
            "INVALID_ARGUMENT"
        ],
        "{got:#?}"
    );
    assert_eq!(got[1]["held"], "SIDE_CALLER");
    let c = listen(&caller, &[FIRST, MUSIC]);
    assert!(
        louder(c[0], c[1]),
        "after grpcio's resume the caller hears the callee: {c:?}"
    );
}

#[test]
fn blind_transfer_to_an_extension_then_to_a_queue() {
    let _one = serial();
    let dir = temp_dir();
    let (d, mut api, port, _) = start(dir.path());
    let caller = Phone::start(dir.path(), "caller", "1001", port, CALLER, "manual");
    let first = Phone::start(dir.path(), "first", "1002", port, FIRST, "auto");
    let second = Phone::start(dir.path(), "second", "1003", port, SECOND, "auto");
    let _agent = Phone::start(dir.path(), "agent", "1004", port, AGENT, "auto");
    wait_registered(&d, &["1001", "1002", "1003", "1004"]);
    let login = pb::AgentLoginRequest {
        agent: "1004".into(),
        phone: "1004".into(),
    };
    api.rt
        .block_on(api.client.agent_login(authed(login, CONTROL)))
        .expect("agent login");

    let resp = caller.command("dial", &format!("sip:1002@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    let id = api.call_to("1002");
    let c = listen(&caller, &[FIRST, SECOND]);
    assert!(louder(c[0], c[1]), "the caller talks to 1002 first: {c:?}");

    let e = api.transfer(&id, "nowhere").unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("queue:NAME"), "{e:?}");

    assert_eq!(api.transfer(&id, "1003").expect("transfer"), "extension");
    // 1002's leg got BYE (its phone's call is over), the caller now talks to 1003.
    assert!(
        poll_until(Duration::from_secs(20), || hung_up(&first)),
        "1002's call was not hung up:\n{}",
        first.log()
    );
    let same = api.call_to("1003");
    assert_eq!(same, id, "the call keeps its id");
    let c = listen(&caller, &[SECOND, FIRST]);
    assert!(
        louder(c[0], c[1]),
        "transferred, the caller hears 1003: {c:?}"
    );
    let s = listen(&second, &[CALLER]);
    assert!(louder(s[0], 0.0), "1003 hears the caller: {s:?}");

    // On to the queue: agent 1004 is offered the caller and answers.
    assert_eq!(api.transfer(&id, "queue:sales").expect("transfer"), "queue");
    assert!(
        d.wait_log("offering the caller to an agent", Duration::from_secs(20)),
        "{}",
        d.log_text()
    );
    // The agent's phone answered: the call's callee is now that phone.
    api.call_to("1004");
    let c = listen(&caller, &[AGENT, SECOND]);
    assert!(
        louder(c[0], c[1]),
        "queued, the caller reaches the agent: {c:?}"
    );

    let resp = caller.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    let mut rows = Vec::new();
    assert!(
        poll_until(Duration::from_secs(20), || {
            rows = cdrs(&d.dir.join("switchboard.db"));
            rows.iter().any(|r| r.end_cause.is_some())
        }),
        "no finished CDR:\n{}",
        d.log_text()
    );
    let cdr = rows.into_iter().find(|r| r.end_cause.is_some()).unwrap();
    assert_eq!(cdr.queue.as_deref(), Some("sales"), "{cdr:?}");
    assert_eq!(cdr.agent.as_deref(), Some("1004"), "{cdr:?}");
    assert_eq!(
        transferred_to(&d),
        [Some("1003,queue:sales".to_string())],
        "one CDR naming both transfers"
    );
}

#[test]
fn blind_transfer_to_an_outside_number_through_the_trunk() {
    let _one = serial();
    let dir = temp_dir();
    let (d, mut api, port, uas_port) = start(dir.path());
    let seen = api.follow();
    let caller = Phone::start(dir.path(), "caller", "1001", port, CALLER, "manual");
    let first = Phone::start(dir.path(), "first", "1002", port, FIRST, "auto");
    wait_registered(&d, &["1001", "1002"]);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/call_uas.xml");
    let mut carrier = sipp::Uas::spawn(
        dir.path(),
        "carrier",
        &scenario.display().to_string(),
        (uas_port, free_port()),
        1,
        &[],
    );

    let resp = caller.command("dial", &format!("sip:1002@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    let id = api.call_to("1002");
    assert_eq!(api.transfer(&id, "5551234").expect("transfer"), "number");
    wait_event(&seen, &id, "CallTransferred", |p| {
        matches!(p, pb::event::Payload::CallTransferred(t)
            if t.target == "5551234" && t.kind == "blind" && t.destination == "number")
    });
    api.call_to("5551234");
    assert!(
        poll_until(Duration::from_secs(20), || hung_up(&first)),
        "1002's call was not hung up:\n{}",
        first.log()
    );
    // The carrier echoes RTP: the caller hears its own tone come back through it.
    let c = listen(&caller, &[CALLER, FIRST]);
    assert!(
        louder(c[0], c[1]),
        "the caller's audio goes to the carrier and back: {c:?}"
    );

    let resp = caller.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert_eq!(
        carrier.wait(Duration::from_secs(20)),
        Some(true),
        "the carrier's call completed (BYE included)"
    );
    let cdr = finished_cdr(&d);
    assert_eq!(cdr.callee, "5551234", "{cdr:?}");
    assert_eq!(transferred_to(&d), [Some("5551234".to_string())]);
}

#[test]
fn a_transfer_is_journaled_before_the_call_ends_and_survives_kill_9() {
    let _one = serial();
    let dir = temp_dir();
    let (mut d, mut api, port, _) = start(dir.path());
    let caller = Phone::start(dir.path(), "caller", "1001", port, CALLER, "manual");
    let _first = Phone::start(dir.path(), "first", "1002", port, FIRST, "auto");
    let _second = Phone::start(dir.path(), "second", "1003", port, SECOND, "auto");
    wait_registered(&d, &["1001", "1002", "1003"]);
    let resp = caller.command("dial", &format!("sip:1002@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    let id = api.call_to("1002");
    api.transfer(&id, "1003").expect("transfer");
    api.call_to("1003");

    // The open (journal) row already names the transfer.
    let db = d.dir.join("switchboard.db");
    let journaled = || {
        let conn = rusqlite::Connection::open(&db).ok()?;
        conn.query_row(
            "SELECT transferred_to FROM cdrs WHERE end_unix_ms IS NULL",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .ok()
        .flatten()
    };
    assert!(
        poll_until(Duration::from_secs(10), || journaled().as_deref()
            == Some("1003")),
        "journal row without the transfer: {:?}",
        journaled()
    );
    d.kill9();
    let (config, dir_path) = (d.config.clone(), d.dir.clone());
    let restarted = Daemon::start_with(&dir_path, port, &config);
    assert!(
        restarted.wait_log("system-restart", Duration::from_secs(10)),
        "{}",
        restarted.log_text()
    );
    let rows = cdrs(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].end_cause.as_deref(), Some("system-restart"));
    assert_eq!(rows[0].callee, "1003");
    assert_eq!(transferred_to(&restarted), [Some("1003".to_string())]);
}

/// Poll (deadline 30 s) until what `p` hears has `want` clearly above `not`.
fn comes_to_hear(p: &Phone, want: f64, not: f64) -> Vec<f64> {
    let mut last = Vec::new();
    let ok = poll_until(Duration::from_secs(30), || {
        last = listen(p, &[want, not]);
        louder(last[0], last[1])
    });
    assert!(
        ok,
        "{} never came to hear {want} Hz over {not} Hz: {last:?}",
        p.ext
    );
    last
}

#[test]
fn attended_transfer_consults_the_target_then_joins_it_with_the_caller() {
    let _one = serial();
    let dir = temp_dir();
    let (d, mut api, port, _) = start(dir.path());
    let seen = api.follow();
    let caller = Phone::start(dir.path(), "caller", "1001", port, CALLER, "manual");
    let agent = Phone::start(dir.path(), "agent", "1002", port, FIRST, "auto");
    let target = Phone::start(dir.path(), "target", "1003", port, SECOND, "auto");
    wait_registered(&d, &["1001", "1002", "1003"]);
    let resp = caller.command("dial", &format!("sip:1002@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    let id = api.call_to("1002");

    let e = api.start_consult(&id, "queue:sales").unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let e = api.complete_transfer(&id).unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("StartConsult"), "{e:?}");

    let consult = api.start_consult(&id, "1003").expect("consult");
    assert_ne!(consult, id);
    assert_eq!(
        api.call_to("1003"),
        consult,
        "the consult call is its own call"
    );
    // Agent and target talk; the customer hears music and neither of them.
    comes_to_hear(&agent, SECOND, CALLER);
    comes_to_hear(&target, FIRST, CALLER);
    let c = listen(&caller, &[MUSIC, FIRST, SECOND]);
    assert!(
        louder(c[0], c[1]) && louder(c[0], c[2]),
        "consulting, the customer hears only music: {c:?}"
    );

    api.complete_transfer(&id).expect("complete");
    assert!(
        poll_until(Duration::from_secs(20), || hung_up(&agent)),
        "the agent's leg was not hung up:\n{}",
        agent.log()
    );
    wait_event(
        &seen,
        &id,
        "CallTransferred (attended)",
        |p| matches!(p, pb::event::Payload::CallTransferred(t) if t.kind == "attended" && t.target == "1003"),
    );
    comes_to_hear(&caller, SECOND, MUSIC);
    comes_to_hear(&target, CALLER, FIRST);

    let resp = caller.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        poll_until(Duration::from_secs(20), || hung_up(&target)),
        "the target was not hung up:\n{}",
        target.log()
    );
    let db = d.dir.join("switchboard.db");
    let mut rows = Vec::new();
    assert!(
        poll_until(Duration::from_secs(20), || {
            rows = cdrs(&db);
            rows.len() == 2 && rows.iter().all(|r| r.end_cause.is_some())
        }),
        "two finished CDRs: {rows:?}"
    );
    let causes: Vec<_> = rows
        .iter()
        .map(|r| r.end_cause.clone().unwrap_or_default())
        .collect();
    assert!(
        causes.contains(&"transferred".to_string()),
        "the consult call's: {causes:?}"
    );
    let mine: Vec<_> = transferred_to(&d).into_iter().flatten().collect();
    assert_eq!(mine, ["1003"], "the customer's CDR names the target");
}
