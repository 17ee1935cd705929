//! The API's call control, part 2, against the real daemon with independent peers:
//! click-to-call rings a baresip agent, then a SIPp customer behind a trunk, and bridges
//! them; recording is started, paused, resumed and stopped over gRPC on a SIPp call (the
//! WAV shows it, Subscribe reports it) and the call gets a disposition; a blocked caller is
//! refused by SIPp-visible status codes, across a kill -9, until unblocked (and a Python
//! grpcio client sees the block list).

mod common;

use common::api::*;
use common::baresip::*;
use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pb::event::Payload;
use switchboard::api::pb;
use tonic::transport::Channel;
use tonic::Code;

/// A trunk to `uas_port` for every number, one queue with agent 1002, dispositions, the
/// API with three tokens, and `extra` appended.
fn config(dir: &Path, port: u16, uas_port: u16, api_port: u16, extra: &str) -> String {
    // The ACD's feature-code prompts.
    let phones = phone_config(dir);
    let text = format!(
        r#"{phones}
[[trunks]]
name = "carrier"
address = "127.0.0.1:{uas_port}"
caller_id = "+15550999"

[[dialplan.routes]]
pattern = "_X."
trunk = "carrier"

[[queues]]
name = "sales"

[[agents]]
id = "1002"
name = "Bob"
queues = [{{ queue = "sales" }}]

[dispositions]
codes = [
  {{ code = "sale", final = true }},
  {{ code = "callback", callback = true }},
  {{ code = "no-interest", final = true }},
]

[api]
listen = "127.0.0.1:{api_port}"
tokens = [
  {{ token = "{READ}", scopes = ["read"] }},
  {{ token = "{CONTROL}", scopes = ["control"] }},
  {{ token = "{ADMIN}", scopes = ["admin"] }},
]

{extra}
"#
    );
    test_config(dir, port, TRUSTING, &text)
}

fn control(ch: &Channel) -> pb::control_client::ControlClient<Channel> {
    pb::control_client::ControlClient::new(ch.clone())
}

/// Subscribe (live) and collect every event in the background.
async fn follow(ch: Channel) -> Seen {
    subscribe(ch, pb::SubscribeRequest::default()).await
}

/// A SIPp callee on `port` streaming 1000 Hz (no echo), checking the INVITE with `check`
/// (an extra `<ereg>` action, or "").
fn tone_callee(dir: &Path, port: u16, check: &str) -> Child {
    let tone = tone_ulaw(dir, "callee.ulaw", 1000.0, 4);
    let scen = sipp::filled(
        dir,
        "rec_uas_tone.xml",
        &[
            ("AUDIO_FILE", &tone.display().to_string()),
            ("assign_to=\"m\"/>", &format!("assign_to=\"m\"/>{check}")),
        ],
    );
    Command::new(tool("sipp"))
        .args(["-sf", &scen, "-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &free_port().to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error"])
        .arg("-trace_err")
        .arg("-error_file")
        .arg(dir.join("uas.errors.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas")
}

/// The caller 1001 streaming 440 Hz to `number` for `talk_ms`, in the background.
fn tone_caller(dir: &Path, daemon: &Daemon, number: &str, talk_ms: u32) -> Child {
    let tone = tone_ulaw(dir, "caller.ulaw", 440.0, 4);
    let scen = sipp::filled(
        dir,
        "rec_uac_tone.xml",
        &[
            ("AUDIO_FILE", &tone.display().to_string()),
            ("TALK_MS", &talk_ms.to_string()),
        ],
    );
    let csv = dir.join("uac.csv");
    std::fs::write(
        &csv,
        "SEQUENTIAL\n1001;1001pass;switchboard.local;[authentication username=1001 password=1001pass]\n",
    )
    .unwrap();
    Command::new(tool("sipp"))
        .arg(daemon.addr().to_string())
        .args(["-sf", &scen, "-inf"])
        .arg(&csv)
        .args(["-i", "127.0.0.1", "-p", "0", "-m", "1", "-s", number])
        .args(["-mi", "127.0.0.1", "-mp", &free_port().to_string()])
        .args([
            "-timeout",
            "60s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
        ])
        .arg("-error_file")
        .arg(dir.join("uac.errors.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uac")
}

/// Wait (60 s) for a SIPp process to exit; true if it succeeded.
fn exited_ok(child: &mut Child) -> bool {
    let mut status = None;
    poll_until(Duration::from_secs(60), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
    }
    status.is_some_and(|s| s.success())
}

/// One column set of the CDR `id`, once it is finished.
fn finished_row<T>(
    db: &Path,
    id: &str,
    cols: &str,
    f: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Option<T> {
    let mut out = None;
    poll_until(Duration::from_secs(15), || {
        out = rusqlite::Connection::open(db).ok().and_then(|c| {
            c.query_row(
                &format!("SELECT {cols} FROM cdrs WHERE id = ?1 AND end_unix_ms IS NOT NULL"),
                [id],
                &f,
            )
            .ok()
        });
        out.is_some()
    });
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_rings_the_agent_then_the_customer_behind_the_trunk_and_bridges() {
    let dir = temp_dir();
    let (port, uas_port, api_port) = (free_port(), free_port(), free_port());
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, uas_port, api_port, ""),
    );
    let ch = channel(api_port).await;
    let mut ctl = control(&ch);

    // Before the agent's phone registers: FAILED_PRECONDITION, and NOT_FOUND for nobody.
    let req = |who: &str, caller_id: Option<&str>| pb::OriginateRequest {
        agent_or_extension: who.into(),
        number: "5551234".into(),
        caller_id: caller_id.map(str::to_string),
        variables: [("lead".to_string(), "L-42".to_string())].into(),
    };
    let e = ctl
        .originate(authed(req("1002", None), CONTROL))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("not registered"), "{e:?}");
    let e = ctl
        .originate(authed(req("nobody", None), CONTROL))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = ctl
        .originate(authed(req("1002", Some("not-a-number")), CONTROL))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let e = ctl
        .originate(authed(req("1002", None), READ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&daemon, "1002", 1)),
        "{}\n--- bob:\n{}",
        daemon.log_text(),
        bob.log()
    );
    // The customer: a SIPp phone behind the trunk, checking it is shown our caller ID.
    let check = r#"<ereg regexp="From: &lt;sip:\+15550100@" search_in="msg" check_it="true" assign_to="m"/>"#;
    let mut customer = tone_callee(dir.path(), uas_port, check);
    let live = follow(ch.clone()).await;
    let call_id = ctl
        .originate(authed(req("1002", Some("+15550100")), CONTROL))
        .await
        .expect("originate")
        .into_inner()
        .call_id;
    assert!(!call_id.is_empty());
    // The agent is busy now: a second click-to-call for them is refused.
    let second = ctl.originate(authed(req("1002", None), CONTROL)).await;
    let e = second.expect_err(&format!(
        "a second click-to-call for a busy agent:\n{}",
        daemon.log_text()
    ));
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("busy"), "{e:?}");

    assert!(
        daemon.wait_log("ringing for an answered caller", Duration::from_secs(15)),
        "the customer was never dialled:\n{}\n--- bob:\n{}",
        daemon.log_text(),
        bob.log()
    );
    assert!(
        daemon.wait_log("connected", Duration::from_secs(15)),
        "never bridged:\n{}\n--- the customer's SIPp:\n{}",
        daemon.log_text(),
        std::fs::read_to_string(dir.path().join("uas.errors.log")).unwrap_or_default()
    );
    assert!(
        poll_until(Duration::from_secs(15), || dec_bytes(&bob) > 2 * 16000),
        "no audio reached Bob:\n{}",
        bob.log()
    );
    let resp = bob.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        exited_ok(&mut customer),
        "the customer's SIPp failed:\n{}\n--- daemon:\n{}",
        std::fs::read_to_string(dir.path().join("uas.errors.log")).unwrap_or_default(),
        daemon.log_text()
    );
    // Bob heard the customer's 1000 Hz, not his own 440 Hz.
    assert_hears(&bob, 1000.0, 440.0);

    wait_for(&live, 30, "CallEnded", |e| {
        e.iter()
            .any(|x| x.call_id == call_id && matches!(x.payload, Some(Payload::CallEnded(_))))
    })
    .await;
    let kinds: Vec<&'static str> = live
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.call_id == call_id)
        .filter_map(|e| match &e.payload {
            Some(Payload::CallCreated(_)) => Some("created"),
            Some(Payload::CallRinging(_)) => Some("ringing"),
            Some(Payload::CallAnswered(_)) => Some("answered"),
            Some(Payload::CallEnded(_)) => Some("ended"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["created", "ringing", "answered", "ended"]);

    let db = dir.path().join("switchboard.db");
    let row = finished_row(
        &db,
        &call_id,
        "direction, caller, callee, trunk, agent, end_cause, a_to_b_packets, b_to_a_packets",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?.unwrap_or(0),
                r.get::<_, Option<i64>>(7)?.unwrap_or(0),
            ))
        },
    )
    .expect("the click-to-call's CDR");
    assert_eq!(row.0, "click-to-call", "{row:?}");
    assert_eq!((row.1.as_str(), row.2.as_str()), ("1002", "5551234"));
    assert_eq!(row.3.as_deref(), Some("carrier"));
    assert_eq!(row.4.as_deref(), Some("1002"), "the agent: {row:?}");
    assert_eq!(row.5.as_deref(), Some("normal"));
    // RTP both ways through the relay: agent → customer and customer → agent.
    assert!(row.6 > 20 && row.7 > 20, "media both ways: {row:?}");
}

/// Decoded channels of a stereo WAV.
fn recording_states(events: &[pb::Event], call: &str) -> Vec<(i32, String)> {
    events
        .iter()
        .filter(|e| e.call_id == call)
        .filter_map(|e| match &e.payload {
            Some(Payload::Recording(r)) => Some((r.state, r.path.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_is_started_paused_resumed_and_stopped_over_grpc_and_the_call_disposed() {
    let dir = temp_dir();
    let (port, uas_port, api_port) = (free_port(), free_port(), free_port());
    let rec = "[recording]\ndir = \"rec\"\npolicy = \"on-demand\"\n";
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, uas_port, api_port, rec),
    );
    let ch = channel(api_port).await;
    let mut ctl = control(&ch);
    let live = follow(ch.clone()).await;

    let codes = ctl
        .list_dispositions(authed(pb::ListDispositionsRequest {}, READ))
        .await
        .expect("list dispositions")
        .into_inner()
        .codes;
    let names: Vec<(&str, bool, bool)> = codes
        .iter()
        .map(|c| (c.code.as_str(), c.r#final, c.callback))
        .collect();
    assert_eq!(
        names,
        [
            ("sale", true, false),
            ("callback", false, true),
            ("no-interest", true, false)
        ]
    );
    let e = ctl
        .start_recording(authed(
            pb::RecordingRequest {
                call_id: "no-such-call".into(),
            },
            CONTROL,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");

    let mut uas = tone_callee(dir.path(), uas_port, "");
    let mut uac = tone_caller(dir.path(), &daemon, "5551234", 8000);
    wait_for(&live, 30, "CallAnswered", |e| {
        e.iter()
            .any(|x| matches!(x.payload, Some(Payload::CallAnswered(_))))
    })
    .await;
    let call_id = live
        .lock()
        .unwrap()
        .iter()
        .find(|x| matches!(x.payload, Some(Payload::CallAnswered(_))))
        .map(|x| x.call_id.clone())
        .unwrap();
    let rreq = || {
        authed(
            pb::RecordingRequest {
                call_id: call_id.clone(),
            },
            CONTROL,
        )
    };
    // Not recording yet (on-demand): pausing is refused.
    let e = ctl.pause_recording(rreq()).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    // Each span is media time the WAV must show, so the test lets it pass (not a wait for
    // state: the RPC replies say when each change took effect).
    let span = Duration::from_millis(1500);
    ctl.start_recording(rreq()).await.expect("start");
    let e = ctl.start_recording(rreq()).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("already"), "{e:?}");
    tokio::time::sleep(span).await;
    ctl.pause_recording(rreq()).await.expect("pause");
    tokio::time::sleep(span).await;
    ctl.resume_recording(rreq()).await.expect("resume");
    tokio::time::sleep(span).await;
    ctl.stop_recording(rreq()).await.expect("stop");

    // Dispositions: an unknown code lists the valid ones; a real one is taken mid-call.
    let dreq = |code: &str, notes: Option<&str>, at: Option<i64>| {
        authed(
            pb::SetDispositionRequest {
                call_id: call_id.clone(),
                code: code.into(),
                notes: notes.map(str::to_string),
                callback_at_unix_ms: at,
            },
            CONTROL,
        )
    };
    let e = ctl
        .set_disposition(dreq("maybe", None, None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("sale, callback, no-interest"), "{e:?}");
    let e = ctl
        .set_disposition(dreq("sale", None, Some(1)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    ctl.set_disposition(dreq("sale", Some("two units"), None))
        .await
        .expect("disposition during the call");

    assert!(exited_ok(&mut uac), "caller:\n{}", daemon.log_text());
    assert!(exited_ok(&mut uas), "callee:\n{}", daemon.log_text());
    wait_for(&live, 30, "CallEnded", |e| {
        e.iter()
            .any(|x| x.call_id == call_id && matches!(x.payload, Some(Payload::CallEnded(_))))
    })
    .await;
    // In the wrap-up, after the end: the agent changes their mind.
    ctl.set_disposition(dreq(
        "callback",
        Some("call Tuesday"),
        Some(1_900_000_000_000),
    ))
    .await
    .expect("disposition after the end");
    let e = ctl
        .set_disposition(authed(
            pb::SetDispositionRequest {
                call_id: "no-such-call".into(),
                code: "sale".into(),
                ..Default::default()
            },
            CONTROL,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");

    // The events, in order, naming the file.
    use pb::RecordingState as S;
    wait_for(&live, 30, "the Recording events", |e| {
        recording_states(e, &call_id).len() >= 4
    })
    .await;
    let states = recording_states(&live.lock().unwrap(), &call_id);
    let kinds: Vec<i32> = states.iter().map(|s| s.0).collect();
    assert_eq!(
        kinds,
        [
            S::Started as i32,
            S::Paused as i32,
            S::Resumed as i32,
            S::Stopped as i32
        ]
    );
    let path = PathBuf::from(&states[0].1);
    assert!(path.starts_with(dir.path().join("rec")), "{path:?}");
    assert!(states.iter().all(|s| s.1 == states[0].1), "{states:?}");
    wait_for(&live, 30, "the Disposition events", |e| {
        e.iter()
            .filter(|x| matches!(x.payload, Some(Payload::Disposition(_))))
            .count()
            >= 2
    })
    .await;
    let disps: Vec<pb::Disposition> = live
        .lock()
        .unwrap()
        .iter()
        .filter_map(|x| match &x.payload {
            Some(Payload::Disposition(d)) if x.call_id == call_id => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(disps[0].code, "sale");
    assert_eq!(disps[0].notes, "two units");
    assert_eq!(disps[1].code, "callback");
    assert_eq!(disps[1].callback_at_unix_ms, 1_900_000_000_000);

    // The CDR: the recording's path, and the last disposition with its notes.
    let db = dir.path().join("switchboard.db");
    let row = finished_row(
        &db,
        &call_id,
        "recording, recording_status, disposition, disposition_notes, recording_ms",
        |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        },
    )
    .expect("the CDR");
    assert_eq!(row.0.as_deref(), Some(states[0].1.as_str()), "{row:?}");
    assert_eq!(row.1.as_deref(), Some("ok"));
    let mut disposed = None;
    assert!(poll_until(Duration::from_secs(10), || {
        disposed = rusqlite::Connection::open(&db).ok().and_then(|c| {
            c.query_row(
                "SELECT disposition, disposition_notes FROM cdrs WHERE id = ?1",
                [&call_id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .ok()
        });
        disposed.as_ref().is_some_and(|d| d.0 == "callback")
    }));
    assert_eq!(disposed.unwrap().1, "call Tuesday");

    // The WAV, judged by its content and the CDR rather than the test's wall clock: its
    // length is the CDR's recording_ms, and it holds audio, then one silent span (the
    // pause: silence is written for it), then audio again.
    let (_, left, right) = wav_channels(&path);
    assert_eq!(
        row.4,
        Some((left.len() / 8) as i64),
        "the CDR's recording_ms is the file's"
    );
    let frames: Vec<bool> = left
        .chunks(160)
        .zip(right.chunks(160))
        .map(|(l, r)| rms(l) < 50.0 && rms(r) < 50.0)
        .collect();
    // The longest run of silent 20 ms frames.
    let (mut best, mut run) = ((0, 0), 0);
    for (i, &silent) in frames.iter().enumerate() {
        run = if silent { run + 1 } else { 0 };
        if run > best.1 {
            best = (i + 1 - run, run);
        }
    }
    let (start, len) = best;
    assert!(
        len >= 50,
        "a silent span of a second or more where paused: longest {} ms",
        len * 20
    );
    for (name, w) in [
        ("before the pause", start.saturating_sub(50)..start),
        (
            "after the resume",
            start + len..(start + len + 50).min(frames.len()),
        ),
    ] {
        let w = w.start * 160..w.end * 160;
        assert!(
            w.len() >= 40 * 160,
            "{name}: {w:?} of {} samples",
            left.len()
        );
        assert!(
            rms(&left[w.clone()]) > 2000.0 && rms(&right[w.clone()]) > 2000.0,
            "{name} should be audio: left {} right {}",
            rms(&left[w.clone()]),
            rms(&right[w.clone()])
        );
    }
}

/// Call 5551234 as 1001 expecting the final status `code`.
fn call_refused(dir: &Path, daemon: &Daemon, code: &str) {
    let scen = sipp::filled(
        dir,
        "call_uac_fail.xml",
        &[
            ("FAILCODE", code),
            (
                "MLINE",
                "m=audio [media_port] RTP/AVP 0\n      a=rtpmap:0 PCMU/8000",
            ),
        ],
    );
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir,
        &scen,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "5551234", "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(
        ok,
        "the call did not end in {code}:\n{log}\n{}",
        daemon.log_text()
    );
}

/// The independent client: tests/py/api_control.py's JSON lines.
fn python_block_list(api_port: u16) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/api_control.py");
    let out = Command::new("python3")
        .args([script, &format!("127.0.0.1:{api_port}"), READ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_caller_is_refused_across_kill_9_until_unblocked() {
    let dir = temp_dir();
    let (port, uas_port, api_port) = (free_port(), free_port(), free_port());
    let cfg = dir.path().join("switchboard.toml");
    std::fs::write(&cfg, config(dir.path(), port, uas_port, api_port, "")).unwrap();
    let mut daemon = Daemon::start_with(dir.path(), port, &cfg);
    let ch = channel(api_port).await;
    let block = |number: &str, token: &str| {
        authed(
            pb::BlockNumberRequest {
                number: number.into(),
                reason: "abusive caller".into(),
                expires_unix_ms: None,
            },
            token,
        )
    };
    // Blocking is an admin change.
    let e = control(&ch)
        .block_number(block("1001", CONTROL))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let e = control(&ch)
        .block_number(block("not a number", ADMIN))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let b = control(&ch)
        .block_number(block("1001", ADMIN))
        .await
        .expect("block")
        .into_inner()
        .blocked
        .unwrap();
    assert_eq!((b.number.as_str(), b.expires_unix_ms), ("1001", 0));

    call_refused(dir.path(), &daemon, "603");
    assert!(daemon.wait_log("blocked number refused", Duration::from_secs(5)));
    let db = dir.path().join("switchboard.db");
    assert!(
        poll_until(Duration::from_secs(10), || cdrs(&db).iter().any(|r| r
            .end_cause
            .as_deref()
            == Some("blocked")
            && r.caller == "1001")),
        "no CDR with cause blocked: {:?}",
        cdrs(&db)
    );
    // An independent client reads the block list.
    let lines = python_block_list(api_port);
    assert_eq!(
        lines[0]["blocked"],
        serde_json::json!(["1001"]),
        "{lines:?}"
    );
    assert_eq!(lines[1]["block_with_read_token"], "PERMISSION_DENIED");

    // The block was acknowledged after its commit: kill -9 keeps it.
    daemon.kill9();
    let daemon = Daemon::start_with(dir.path(), port, &cfg);
    let ch = channel(api_port).await;
    let listed = control(&ch)
        .list_blocked(authed(pb::ListBlockedRequest {}, READ))
        .await
        .unwrap()
        .into_inner()
        .blocked;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].reason, "abusive caller");
    call_refused(dir.path(), &daemon, "603");

    // Unblocked, the call goes through.
    control(&ch)
        .unblock_number(authed(
            pb::UnblockNumberRequest {
                number: "1001".into(),
            },
            ADMIN,
        ))
        .await
        .expect("unblock");
    let e = control(&ch)
        .unblock_number(authed(
            pb::UnblockNumberRequest {
                number: "1001".into(),
            },
            ADMIN,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let mut uas = tone_callee(dir.path(), uas_port, "");
    let mut uac = tone_caller(dir.path(), &daemon, "5551234", 1000);
    assert!(exited_ok(&mut uac), "caller:\n{}", daemon.log_text());
    assert!(exited_ok(&mut uas), "callee:\n{}", daemon.log_text());

    // A blocked destination: 403.
    control(&ch)
        .block_number(block("5551234", ADMIN))
        .await
        .expect("block the destination");
    call_refused(dir.path(), &daemon, "403");
}
