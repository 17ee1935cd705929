//! `[metrics]`: one SIPp call through a trunk, then `GET /metrics` shows it (the finished
//! call by cause and the RTP relayed).

mod common;

use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A SIPp callee answering and echoing RTP.
fn uas(dir: &Path, port: u16, media_port: u16) -> Child {
    let scen = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/call_uas.xml");
    Command::new(common::tool("sipp"))
        .arg("-sf")
        .arg(&scen)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
        .args(["-rtp_echo", "-m", "1", "-nostdin", "-timeout", "30s"])
        .args(["-timeout_error", "-trace_err", "-error_file"])
        .arg(dir.join("uas.errors.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas")
}

/// The caller scenario with 3 s of PCMU to stream (the path written into a copy).
fn caller_scenario(dir: &Path) -> String {
    let audio = dir.join("caller.ulaw");
    let bytes: Vec<u8> = (0..24000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&audio, bytes).unwrap();
    sipp::filled(
        dir,
        "call_uac.xml",
        &[("AUDIO_FILE", &audio.display().to_string())],
    )
}

/// `GET path` over HTTP/1.0: (status line, body).
fn http_get(addr: SocketAddr, path: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// The value of the sample line starting with `name` (name with its labels), if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_call_shows_up_in_the_metrics() {
    let dir = temp_dir();
    let port = free_port();
    let uas_port = free_port();
    let metrics_port = free_port();
    let metrics: SocketAddr = format!("127.0.0.1:{metrics_port}").parse().unwrap();
    let base = media_base();
    let max = base + 399;
    let calls = format!(
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

[metrics]
listen = "{metrics}"
"#
    );
    let cfg = common::test_config(dir.path(), port, TRUSTING, &calls);
    let daemon = Daemon::start(dir.path(), port, &cfg);

    // Served before any call; anything but /metrics is 404.
    let mut first = None;
    assert!(
        poll_until(Duration::from_secs(10), || {
            first = http_get(metrics, "/metrics");
            first.is_some()
        }),
        "no answer on {metrics}; daemon:\n{}",
        daemon.log_text()
    );
    let (status, body) = first.unwrap();
    assert!(status.contains("200"), "{status}");
    assert_eq!(
        sample(&body, "switchboard_calls_active"),
        Some(0.0),
        "{body}"
    );
    let (status, _) = http_get(metrics, "/nope").unwrap();
    assert!(status.contains("404"), "{status}");

    let mut callee = uas(dir.path(), uas_port, free_port());
    let scenario = caller_scenario(dir.path());
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scenario,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "5551234", "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(
        ok,
        "caller failed:\n{log}\n--- daemon:\n{}",
        daemon.log_text()
    );
    assert!(callee.wait().expect("uas exit").success(), "callee failed");

    // The CDR (with its media figures) arrives shortly after the BYE.
    let mut body = String::new();
    let done = poll_until(Duration::from_secs(10), || {
        body = http_get(metrics, "/metrics")
            .map(|r| r.1)
            .unwrap_or_default();
        sample(&body, "switchboard_calls_total{cause=\"normal\"}") == Some(1.0)
    });
    assert!(done, "no finished call in:\n{body}");
    let relayed = sample(
        &body,
        "switchboard_rtp_packets_relayed_total{direction=\"a_to_b\"}",
    );
    assert!(relayed.unwrap_or(0.0) > 0.0, "{body}");
    let echoed = sample(
        &body,
        "switchboard_rtp_packets_relayed_total{direction=\"b_to_a\"}",
    );
    assert!(echoed.unwrap_or(0.0) > 0.0, "{body}");
    assert!(
        sample(&body, "switchboard_call_setups_total").unwrap_or(0.0) >= 1.0,
        "{body}"
    );
    assert!(
        sample(&body, "switchboard_call_answers_total").unwrap_or(0.0) >= 1.0,
        "{body}"
    );
    assert!(sample(&body, "switchboard_sip_messages_received_total").unwrap_or(0.0) > 0.0);
    assert!(sample(&body, "switchboard_sip_messages_sent_total").unwrap_or(0.0) > 0.0);
    assert!(body.ends_with("# EOF\n"), "{body}");
}

/// An INVITE to a trunk that never answers: Timer B (64·T1, T1 = 50 ms here) ends the
/// client transaction (a 408 for the B2BUA), the caller gets 480, and `/metrics` counts both.
#[test]
fn a_transaction_timeout_and_the_error_response_are_counted() {
    let dir = temp_dir();
    let port = free_port();
    // Nothing listens there: the INVITE is retransmitted into the void until Timer B.
    let dead_port = free_port();
    let metrics_port = free_port();
    let metrics: SocketAddr = format!("127.0.0.1:{metrics_port}").parse().unwrap();
    let base = media_base();
    let max = base + 399;
    let extra = format!(
        r#"{LEGACY_AUTH}
[sip.timers]
t1_ms = 50
t2_ms = 400

[media]
address = "127.0.0.1"
port_min = {base}
port_max = {max}

[[trunks]]
name = "dead"
address = "127.0.0.1:{dead_port}"

[[dialplan.routes]]
pattern = "_X."
trunk = "dead"

[metrics]
listen = "{metrics}"
"#
    );
    let cfg = common::test_config(dir.path(), port, TRUSTING, &extra);
    let daemon = Daemon::start(dir.path(), port, &cfg);
    let scen = sipp::filled(
        dir.path(),
        "call_uac_fail.xml",
        &[
            ("FAILCODE", "480"),
            (
                "MLINE",
                "m=audio [media_port] RTP/AVP 0\n      a=rtpmap:0 PCMU/8000",
            ),
        ],
    );
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scen,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "5551234", "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(
        ok,
        "the caller did not get 480:\n{log}\n{}",
        daemon.log_text()
    );
    // The counters are brought up to date once a second.
    let timeout =
        "switchboard_sip_transactions_total{side=\"client\",method=\"invite\",outcome=\"timeout\"}";
    let sent_4xx = "switchboard_sip_error_responses_total{direction=\"sent\",class=\"4xx\"}";
    let mut body = String::new();
    let done = poll_until(Duration::from_secs(15), || {
        body = http_get(metrics, "/metrics")
            .map(|r| r.1)
            .unwrap_or_default();
        sample(&body, timeout).is_some_and(|n| n >= 1.0)
    });
    assert!(done, "no INVITE timeout counted in:\n{body}");
    assert_eq!(sample(&body, timeout), Some(1.0), "{body}");
    // The 407 challenge and the 480: both error responses we sent.
    assert!(sample(&body, sent_4xx).unwrap_or(0.0) >= 2.0, "{body}");
    // The caller's INVITEs ran their course as server transactions.
    let server_done = "switchboard_sip_transactions_total{side=\"server\",method=\"invite\",outcome=\"completed\"}";
    let done = poll_until(Duration::from_secs(15), || {
        body = http_get(metrics, "/metrics")
            .map(|r| r.1)
            .unwrap_or_default();
        sample(&body, server_done).is_some_and(|n| n >= 1.0)
    });
    assert!(done, "no server INVITE transaction completed in:\n{body}");
}
