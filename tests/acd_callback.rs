//! A queued callback with real peers: a SIPp caller walks the IVR into a queue nobody
//! staffs, presses the callback key (RFC 4733 from a pcap) and is hung up on with their
//! place kept; the daemon is killed with kill -9 and restarted; when a baresip agent logs
//! in, the agent's phone rings first, then switchboard calls the customer back (a SIPp
//! phone registered as 1001) and bridges them.

mod common;

use common::baresip::*;
use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::time::Duration;

fn config(dir: &Path, port: u16) -> String {
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prompts"),
        dir.join("prompts"),
    )
    .unwrap();
    let base = media_base();
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
[queues.caller]
music = "prompts/moh.wav"
callback_key = "5"

[[agents]]
id = "1002"
name = "Bob"
queues = [{{ queue = "billing" }}]
"#,
        max = base + 199
    );
    test_config(dir, port, TRUSTING, &extra)
}

#[test]
fn a_callback_survives_kill_9_then_rings_the_agent_and_the_customer() {
    let dir = temp_dir();
    let port = free_port();
    let cfg_path = dir.path().join("switchboard.toml");
    std::fs::write(&cfg_path, config(dir.path(), port)).unwrap();
    let mut d = Daemon::start_with(dir.path(), port, &cfg_path);
    // The customer's phone for the call back: registered as 1001 from the port its SIPp
    // answers on.
    let home = free_port();
    {
        let sock = std::net::UdpSocket::bind(("127.0.0.1", home)).unwrap();
        register_from(&sock, d.addr(), "1001", "1001pass");
    }
    let mut customer_phone = sipp::Uas::spawn(
        dir.path(),
        "customer-phone",
        &sipp::filled(dir.path(), "call_uas.xml", &[]),
        (home, free_port()),
        1,
        &[],
    );
    // The caller presses 1 (IVR: billing) then 5 (queue: call me back) and waits for BYE.
    let keys = dir.path().join("dtmf-15.pcap");
    pcap::dtmf(&keys, "15", 101);
    let play = format!("<exec play_pcap_audio=\"{}\"/>", keys.display());
    let scen = sipp::filled(
        dir.path(),
        "call_uac_hungup.xml",
        &[("<exec rtp_stream=\"AUDIO_FILE,1,0\"/>", &play)],
    );
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scen,
        &d.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "500", "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(ok, "caller failed:\n{log}\n--- daemon:\n{}", d.log_text());
    assert!(d.wait_log("queued callback requested", Duration::from_secs(5)));
    // The callback is in the store; a crash now must not lose it.
    let db = dir.path().join("switchboard.db");
    let stored = || {
        rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM acd_callbacks", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or(0)
    };
    assert!(
        poll_until(Duration::from_secs(5), || stored() == 1),
        "callback not stored"
    );
    d.kill9();
    let d = Daemon::start_with(dir.path(), port, &cfg_path);
    assert!(
        d.wait_log("queued callbacks restored", Duration::from_secs(5)),
        "{}",
        d.log_text()
    );

    // Bob logs in; his phone rings for the callback, he answers, the customer is called.
    let bob = Phone::start(dir.path(), "bob", "1002", port, 440.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)),
        "{}",
        d.log_text()
    );
    let resp = bob.command("dial", &format!("sip:*71@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        d.wait_log("callback: ringing the agent first", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_log("ringing for an answered caller", Duration::from_secs(10)),
        "the customer was never dialled:\n{}\n--- bob:\n{}",
        d.log_text(),
        bob.log()
    );
    assert!(d.wait_log("connected", Duration::from_secs(10)));
    // Bob hangs up after a while; the customer's SIPp takes the BYE.
    assert!(
        poll_until(Duration::from_secs(10), || dec_bytes(&bob) > 2 * 16000),
        "no audio reached Bob:\n{}",
        bob.log()
    );
    let resp = bob.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert_eq!(
        customer_phone.wait(Duration::from_secs(10)),
        Some(true),
        "the customer's phone:\n{}",
        d.log_text()
    );
    let mut row = None;
    assert!(poll_until(Duration::from_secs(10), || {
        row = cdrs(&db)
            .into_iter()
            .find(|r| r.direction == "callback" && r.end_cause.is_some());
        row.is_some()
    }));
    let row = row.expect("found by the poll");
    assert_eq!(row.agent.as_deref(), Some("1002"), "{row:?}");
    assert_eq!(row.caller, "1001");
    assert!(row.answered);
    assert!(
        row.a_to_b > 20 && row.b_to_a > 20,
        "media both ways: {row:?}"
    );
    // Nothing left to call back.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let left: i64 = conn
        .query_row("SELECT COUNT(*) FROM acd_callbacks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}
