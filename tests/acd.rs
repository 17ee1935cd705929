//! The ACD with real peers: SIPp callers walk the IVR into a queue and are connected to
//! baresip agents (auto-answer) who logged in with the feature code from their phone; the
//! skilled agent is chosen, wrap-up and RONA are observed, abandons counted, and agent
//! state survives kill -9.

mod common;

use common::baresip::*;
use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::time::Duration;

/// MD5-only auth (baresip 1.0), the demo prompts, an IVR at 500 whose key 1 queues the
/// caller for `billing` (skill billing >= 8), agents 1002 (billing 9) and 1003 (billing 3).
fn config(dir: &Path, port: u16, ring_secs: u32) -> String {
    let phones = phone_config(dir);
    let extra = format!(
        r#"{phones}
[acd]
queue_log = "queue_log"

[[ivr]]
name = "main"
extension = "500"
prompt = "prompts/welcome.wav"
options = {{ "1" = "queue:billing" }}

[[queues]]
name = "billing"
strategy = "longest-idle"
skills = {{ billing = 8 }}
wrap_up_secs = 1
ring_timeout_secs = {ring_secs}
[queues.caller]
music = "prompts/moh.wav"

[[agents]]
id = "1002"
name = "Bob"
skills = {{ billing = 9 }}
queues = [{{ queue = "billing" }}]

[[agents]]
id = "1003"
name = "Carol"
skills = {{ billing = 3 }}
queues = [{{ queue = "billing" }}]
"#
    );
    test_config(dir, port, TRUSTING, &extra)
}

/// The finished CDR of the customer's call (1001), not the agents' feature-code calls.
fn caller_cdr(d: &Daemon) -> CdrRow {
    let db = d.dir.join("switchboard.db");
    let mut found = None;
    assert!(
        poll_until(Duration::from_secs(10), || {
            found = cdrs(&db)
                .into_iter()
                .find(|r| r.end_cause.is_some() && r.caller == "1001");
            found.is_some()
        }),
        "no finished caller CDR: {:?}\n{}",
        cdrs(&db),
        d.log_text()
    );
    found.expect("found by the poll")
}

fn queue_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("queue_log")).unwrap_or_default()
}

/// Log `phone` in with *71 from itself; waits until the daemon has done it.
fn login(d: &Daemon, phone: &Phone, port: u16) {
    let resp = phone.command("dial", &format!("sip:*71@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "dial refused: {resp}");
    let needle = format!("agent=Some(\"{}\") from=LoggedOut to=Ready", phone.ext);
    assert!(
        d.wait_log(&needle, Duration::from_secs(10)),
        "{} never logged in:\n{}\n--- phone:\n{}",
        phone.ext,
        d.log_text(),
        phone.log()
    );
}

/// A SIPp caller (1001) dialling the IVR, pressing 1, then talking for `hold_ms`.
fn caller(dir: &Path, d: &Daemon, hold_ms: u32) -> (bool, String) {
    run_caller(dir, &d.addr().to_string(), hold_ms)
}

/// `caller` on its own thread (for tests that act while the caller waits).
fn spawn_caller(dir: &Path, d: &Daemon, hold_ms: u32) -> std::thread::JoinHandle<(bool, String)> {
    let (dir, addr) = (dir.to_path_buf(), d.addr().to_string());
    std::thread::spawn(move || run_caller(&dir, &addr, hold_ms))
}

fn run_caller(dir: &Path, daemon: &str, hold_ms: u32) -> (bool, String) {
    let keys = dir.join("dtmf-1.pcap");
    pcap::dtmf(&keys, "1", 101);
    let audio = dir.join("caller.ulaw");
    std::fs::write(
        &audio,
        (0..24000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let scen = sipp::filled(
        dir,
        "call_uac_ivr.xml",
        &[
            ("DTMF_PCAP", &keys.display().to_string()),
            ("AUDIO_FILE", &audio.display().to_string()),
            (
                "<pause milliseconds=\"1500\"/>",
                &format!("<pause milliseconds=\"{hold_ms}\"/>"),
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

#[test]
fn the_skilled_agent_gets_the_caller_then_wraps_up() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(dir.path(), port, &config(dir.path(), port, 10));
    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "auto");
    let carol = Phone::start(dir.path(), "carol", "1003", port, 1000.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)
            && registered(&d, "1003", 1)),
        "agents' phones never registered:\n{}",
        d.log_text()
    );
    login(&d, &carol, port);
    login(&d, &bob, port);
    // Carol logged in first (longest idle) but lacks the skill level: Bob gets the call.
    let (ok, log) = caller(dir.path(), &d, 1500);
    assert!(ok, "caller failed:\n{log}\n--- daemon:\n{}", d.log_text());
    let call = caller_cdr(&d);
    assert_eq!(call.callee, "1002", "{call:?}");
    assert_eq!(call.agent.as_deref(), Some("1002"));
    assert_eq!(call.queue.as_deref(), Some("billing"));
    assert!(call.answered);
    // The caller's stream reached Bob, and Bob's tone came back.
    assert!(call.a_to_b > 50 && call.b_to_a > 50, "{call:?}");
    assert!(
        d.wait_log(
            "agent=Some(\"1002\") from=OnCall to=WrapUp",
            Duration::from_secs(5)
        ),
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_log(
            "agent=Some(\"1002\") from=WrapUp to=Ready",
            Duration::from_secs(5)
        ),
        "wrap-up never ended:\n{}",
        d.log_text()
    );
    let qlog = queue_log(dir.path());
    for event in ["|billing|NONE|ENTERQUEUE|", "|CONNECT|", "|COMPLETECALLER|"] {
        assert!(qlog.contains(event), "no {event} in queue_log:\n{qlog}");
    }
    assert!(
        !d.log_text()
            .contains("agent=Some(\"1003\") from=Ready to=Offered"),
        "Carol was offered the call"
    );
    // The same events reached the store: `switchboard report` beside the running daemon.
    let mut last = serde_json::Value::Null;
    let done = poll_until(Duration::from_secs(5), || {
        last = kpi_report(dir.path());
        last["agents"][0]["calls_handled"] == 1
    });
    assert!(done, "the report never saw Bob's call: {last:#}");
    let q = &last["queues"][0];
    assert_eq!(q["name"], "billing");
    assert_eq!(
        (
            q["offered"].as_u64(),
            q["answered"].as_u64(),
            q["abandoned"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{last:#}"
    );
    assert_eq!(q["waiting_now"], 0);
    assert_eq!(last["agents"][1]["calls_handled"], 0, "Carol took no call");
}

/// `switchboard report --json` (last hour) on the test's config.
fn kpi_report(dir: &Path) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["report", "--since-hours", "1", "--json", "--config"])
        .arg(dir.join("switchboard.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rona_puts_the_agent_not_ready_and_a_caller_who_leaves_is_an_abandon() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(dir.path(), port, &config(dir.path(), port, 2));
    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "manual");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)),
        "{}",
        d.log_text()
    );
    login(&d, &bob, port);
    // The caller waits 4 s after pressing 1, then hangs up; Bob's phone rings 2 s unanswered.
    let (ok, log) = caller(dir.path(), &d, 4000);
    assert!(ok, "caller failed:\n{log}\n--- daemon:\n{}", d.log_text());
    assert!(
        d.wait_log(
            "agent=Some(\"1002\") from=Offered to=NotReady reason=Some(\"no-answer\")",
            Duration::from_secs(5)
        ),
        "no RONA:\n{}",
        d.log_text()
    );
    assert!(
        poll_until(Duration::from_secs(5), || bob
            .log()
            .contains("session closed")
            || bob.log().contains("terminated")),
        "Bob's phone was not cancelled:\n{}",
        bob.log()
    );
    let cdr = caller_cdr(&d);
    assert_eq!(cdr.queue.as_deref(), Some("billing"));
    assert_eq!(cdr.agent, None, "nobody answered");
    assert_eq!(cdr.hangup_side.as_deref(), Some("caller"));
    assert!(
        poll_until(Duration::from_secs(5), || queue_log(dir.path())
            .contains("|ABANDON|")),
        "no ABANDON:\n{}",
        queue_log(dir.path())
    );
    assert!(queue_log(dir.path()).contains("|RINGNOANSWER|"));
}

/// The store's row for `agent` in acd_agents: (state, reason, phone).
fn agent_row(dir: &Path, agent: &str) -> Option<(String, Option<String>, Option<String>)> {
    let conn = rusqlite::Connection::open(dir.join("switchboard.db")).ok()?;
    conn.query_row(
        "SELECT state, reason, phone FROM acd_agents WHERE agent = ?1",
        [agent],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}

/// Finished feature-code calls (their confirmation played, we hung up).
fn feature_calls_done(d: &Daemon) -> usize {
    cdrs(&d.dir.join("switchboard.db"))
        .into_iter()
        .filter(|r| r.end_cause.as_deref() == Some("feature-code"))
        .count()
}

/// Dial a feature code from `phone`; waits for the state change `needle` and for the
/// confirmation call to be over (`done` feature calls finished in all).
fn feature(d: &Daemon, phone: &Phone, port: u16, code: &str, needle: &str, done: usize) {
    let resp = phone.command("dial", &format!("sip:{code}@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "dial refused: {resp}");
    assert!(
        d.wait_log(needle, Duration::from_secs(10)),
        "{code} did not give {needle}:\n{}\n--- phone:\n{}",
        d.log_text(),
        phone.log()
    );
    assert!(
        poll_until(Duration::from_secs(10), || feature_calls_done(d) >= done),
        "the {code} call never ended:\n{}",
        d.log_text()
    );
}

#[test]
fn agent_state_survives_kill_9() {
    let dir = temp_dir();
    let port = free_port();
    let cfg_path = dir.path().join("switchboard.toml");
    std::fs::write(&cfg_path, config(dir.path(), port, 10)).unwrap();
    let mut d = Daemon::start_with(dir.path(), port, &cfg_path);
    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)),
        "{}",
        d.log_text()
    );
    feature(
        &d,
        &bob,
        port,
        "*71",
        "agent=Some(\"1002\") from=LoggedOut to=Ready",
        1,
    );
    feature(
        &d,
        &bob,
        port,
        "*74",
        "agent=Some(\"1002\") from=Ready to=NotReady reason=Some(\"break\")",
        2,
    );
    assert!(
        poll_until(Duration::from_secs(5), || agent_row(dir.path(), "1002")
            .is_some_and(|r| r.0 == "not-ready")),
        "not-ready was not stored: {:?}",
        agent_row(dir.path(), "1002")
    );
    feature(
        &d,
        &bob,
        port,
        "*73",
        "agent=Some(\"1002\") from=NotReady to=Ready",
        3,
    );
    let mut row = None;
    assert!(
        poll_until(Duration::from_secs(5), || {
            row = agent_row(dir.path(), "1002");
            row.as_ref().is_some_and(|r| r.0 == "ready")
        }),
        "ready was not stored: {row:?}"
    );
    assert_eq!(row, Some(("ready".into(), None, Some("1002".into()))));
    d.kill9();
    let d = Daemon::start_with(dir.path(), port, &cfg_path);
    assert!(
        d.wait_log("agent state restored", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    // No new *71: the restored agent takes the caller at the phone they logged in at.
    let (ok, log) = caller(dir.path(), &d, 1500);
    assert!(ok, "caller failed:\n{log}\n--- daemon:\n{}", d.log_text());
    let call = caller_cdr(&d);
    assert_eq!(call.agent.as_deref(), Some("1002"), "{call:?}");
    assert_eq!(call.callee, "1002");
    assert!(call.answered, "{call:?}");
    assert!(
        !d.log_text().contains("agent feature code"),
        "the restarted daemon saw a feature code"
    );
    assert_eq!(
        agent_row(dir.path(), "1002").map(|r| r.0),
        Some("ready".to_string())
    );
}

/// Lines of the daemon log saying `ext`'s AOR now has `n` contacts.
fn bindings_logged(d: &Daemon, ext: &str, n: usize) -> usize {
    d.log_text()
        .lines()
        .filter(|l| {
            l.contains("registered")
                && l.contains(&format!("{ext}@switchboard.local"))
                && l.contains(&format!("contacts={n}"))
        })
        .count()
}

#[test]
fn an_agent_whose_phone_is_gone_is_not_offered_until_it_registers_again() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(dir.path(), port, &config(dir.path(), port, 10));
    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)),
        "{}",
        d.log_text()
    );
    login(&d, &bob, port);
    // baresip unregisters (REGISTER with Expires: 0) when told to quit.
    bob.command("quit", "");
    assert!(
        poll_until(Duration::from_secs(10), || bindings_logged(&d, "1002", 0)
            > 0),
        "the phone never unregistered:\n{}\n--- phone:\n{}",
        d.log_text(),
        bob.log()
    );
    drop(bob);
    // The agent is still logged in and ready, but has no phone: the caller waits.
    let caller = spawn_caller(dir.path(), &d, 9000);
    assert!(
        d.wait_log("caller queued", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    // Several presence sweeps pass with the caller queued: no offer, no INVITE to the
    // phone that is gone.
    assert!(
        !d.wait_log("offering the caller", Duration::from_secs(3)),
        "the unregistered agent was offered the caller:\n{}",
        d.log_text()
    );
    assert!(!d.log_text().contains("offer cannot ring"));
    // The phone comes back: the waiting caller is offered to it and it answers.
    let bob = Phone::start(dir.path(), "bob2", "1002", port, 440.0, "auto");
    let (ok, log) = caller.join().unwrap();
    assert!(ok, "caller failed:\n{log}\n--- daemon:\n{}", d.log_text());
    let call = caller_cdr(&d);
    assert_eq!(
        call.agent.as_deref(),
        Some("1002"),
        "{call:?}\n{}",
        bob.log()
    );
    assert!(call.answered, "{call:?}");
    let text = d.log_text();
    let lines: Vec<&str> = text.lines().collect();
    let back = lines
        .iter()
        .rposition(|l| {
            l.contains("registered")
                && l.contains("1002@switchboard.local")
                && l.contains("contacts=1")
        })
        .expect("the phone registered again");
    let offered = lines
        .iter()
        .position(|l| l.contains("offering the caller"))
        .expect("offered");
    assert!(
        offered > back,
        "offered before the phone came back:\n{text}"
    );
}

#[test]
fn an_agent_on_a_personal_call_is_not_offered_until_it_ends() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(dir.path(), port, &config(dir.path(), port, 10));
    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "auto");
    let friend = Phone::start(dir.path(), "friend", "1004", port, 1000.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)
            && registered(&d, "1004", 1)),
        "{}",
        d.log_text()
    );
    login(&d, &bob, port);
    assert!(
        poll_until(Duration::from_secs(10), || feature_calls_done(&d) >= 1),
        "the login call never ended:\n{}",
        d.log_text()
    );
    // Bob calls a colleague (not through the ACD) and they talk.
    let resp = bob.command("dial", &format!("sip:1004@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "dial refused: {resp}");
    assert!(
        poll_until(Duration::from_secs(10), || dec_bytes(&friend) > 0),
        "the personal call never connected:\n{}\n--- friend:\n{}",
        d.log_text(),
        friend.log()
    );
    let caller = spawn_caller(dir.path(), &d, 9000);
    assert!(
        d.wait_log("caller queued", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    assert!(
        !d.wait_log("offering the caller", Duration::from_secs(3)),
        "the agent on a personal call was offered the caller:\n{}",
        d.log_text()
    );
    // Bob hangs up: the waiting caller is offered to him and his phone answers.
    let resp = bob.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "hangup refused: {resp}");
    let (ok, log) = caller.join().unwrap();
    assert!(ok, "caller failed:\n{log}\n--- daemon:\n{}", d.log_text());
    let call = caller_cdr(&d);
    assert_eq!(
        call.agent.as_deref(),
        Some("1002"),
        "{call:?}\n{}",
        bob.log()
    );
    assert!(call.answered, "{call:?}");
    let personal = cdrs(&d.dir.join("switchboard.db"))
        .into_iter()
        .find(|r| r.caller == "1002" && r.callee == "1004")
        .expect("the personal call's CDR");
    assert_eq!(personal.agent, None);
}
