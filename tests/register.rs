//! Registration against real peers: SIPp digest scenarios, sipsak, replay through a relay,
//! persistence across kill -9, and the per-source ban.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::*;

#[path = "common/sipp.rs"]
mod sipp;

/// Run a SIPp scenario against `target` and fail the test (with both logs) if SIPp fails.
fn sipp_ok(d: &Daemon, scenario: &str, target: &str, users: &[(&str, &str)], extra: &[&str]) {
    let (ok, log) = sipp::run_uac(&d.dir, scenario, target, users, users.len(), extra);
    assert!(
        ok,
        "sipp {scenario} failed:\n{log}\n--- daemon:\n{}",
        d.log_text()
    );
}

fn daemon(dir: &std::path::Path, extra: &str) -> Daemon {
    let port = free_port();
    let extra = if extra.is_empty() { LEGACY_AUTH } else { extra };
    Daemon::start(dir, port, &test_config(dir, port, TRUSTING, extra))
}

#[test]
fn sipp_registers_with_digest_auth_and_unregisters() {
    let dir = temp_dir();
    let d = daemon(dir.path(), "");
    sipp_ok(
        &d,
        "register_auth.xml",
        &d.addr().to_string(),
        &[
            ("1001", "1001pass"),
            ("1002", "1002pass"),
            ("1003", "1003pass"),
        ],
        &[],
    );
}

#[test]
fn sipp_over_tcp_registers() {
    let dir = temp_dir();
    let d = daemon(dir.path(), "");
    sipp_ok(
        &d,
        "register_auth.xml",
        &d.addr().to_string(),
        &[("1004", "1004pass")],
        &["-t", "t1"],
    );
}

#[test]
fn sipp_wrong_password_and_unknown_user_get_the_same_403() {
    let dir = temp_dir();
    let d = daemon(dir.path(), "");
    sipp_ok(
        &d,
        "register_refused.xml",
        &d.addr().to_string(),
        &[("1001", "not-the-password"), ("9999", "whatever")],
        &[],
    );
    // The security log names the user tried, for fail2ban-style tooling.
    assert!(
        d.wait_log("user=9999", Duration::from_secs(5)),
        "{}",
        d.log_text()
    );
}

#[test]
fn sipp_expired_nonce_gets_stale_challenge_then_succeeds() {
    let dir = temp_dir();
    let d = daemon(
        dir.path(),
        "[auth]\nalgorithms = [\"MD5\", \"SHA-256\"]\nnonce_ttl_secs = 1\n",
    );
    sipp_ok(
        &d,
        "register_stale.xml",
        &d.addr().to_string(),
        &[("1002", "1002pass")],
        &[],
    );
}

/// A UDP relay between SIPp and the daemon that records what SIPp sends, so the test can
/// replay an authenticated REGISTER the way an eavesdropper would.
struct Relay {
    port: u16,
    captured: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

fn relay(target: std::net::SocketAddr) -> Relay {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let back = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = front.local_addr().unwrap().port();
    let captured = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (f2, b2, c2) = (
        front.try_clone().unwrap(),
        back.try_clone().unwrap(),
        client.clone(),
    );
    let cap = captured.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok((n, from)) = f2.recv_from(&mut buf) {
            *c2.lock().unwrap() = Some(from);
            cap.lock().unwrap().push(buf[..n].to_vec());
            let _ = b2.send_to(&buf[..n], target);
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok((n, _)) = back.recv_from(&mut buf) {
            if let Some(c) = *client.lock().unwrap() {
                let _ = front.send_to(&buf[..n], c);
            }
        }
    });
    Relay { port, captured }
}

#[test]
fn replayed_authorization_is_refused() {
    let dir = temp_dir();
    let d = daemon(dir.path(), "");
    let r = relay(d.addr());
    sipp_ok(
        &d,
        "register_auth.xml",
        &format!("127.0.0.1:{}", r.port),
        &[("1003", "1003pass")],
        &[],
    );
    let authed = r
        .captured
        .lock()
        .unwrap()
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .find(|m| m.contains("Authorization:") && m.contains("Expires: 3600"))
        .expect("captured an authenticated REGISTER");
    // The eavesdropper's copy: same credentials, a new transaction (branch, CSeq).
    let replay = authed
        .replace("branch=z9hG4bK", "branch=z9hG4bKreplay")
        .replace("CSeq: 2 REGISTER", "CSeq: 20 REGISTER");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.send_to(replay.as_bytes(), d.addr()).unwrap();
    let mut buf = [0u8; 65536];
    let (n, _) = sock.recv_from(&mut buf).expect("an answer to the replay");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(
        answer.starts_with("SIP/2.0 403"),
        "replay answered: {answer}"
    );
}

fn register_sipsak(d: &Daemon, user: &str, pass: &str, contact_port: u16) -> std::process::Output {
    std::process::Command::new(tool("sipsak"))
        .args(["-U", "-i", "-x", "600", "-C"])
        .arg(format!("sip:{user}@127.0.0.1:{contact_port}"))
        .arg("-s")
        .arg(format!("sip:{user}@127.0.0.1:{}", d.port))
        .args(["-a", pass, "-u", user, "-H", "127.0.0.1", "-vv"])
        .output()
        .expect("run sipsak")
}

#[test]
fn sipsak_options_and_register() {
    let dir = temp_dir();
    let d = daemon(dir.path(), "");
    let out = std::process::Command::new(tool("sipsak"))
        .arg("-s")
        .arg(format!("sip:switchboard.local@127.0.0.1:{}", d.port))
        .args(["-H", "127.0.0.1", "-vv"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("200"),
        "sipsak OPTIONS:\n{text}"
    );
    assert!(text.contains("Allow:") || text.contains("allow:"), "{text}");
    let out = register_sipsak(&d, "1004", "1004pass", 5999);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("OK"),
        "sipsak register failed:\n{text}\n--- daemon:\n{}",
        d.log_text()
    );
    assert!(
        d.wait_log(
            "registered aor=1004@switchboard.local",
            Duration::from_secs(5)
        ),
        "{}",
        d.log_text()
    );
}

/// Bindings are written through to SQLite before the 200 OK: after kill -9 and a restart the
/// phone is still registered (the daemon says so without the phone re-registering).
#[test]
fn bindings_survive_kill_9() {
    let dir = temp_dir();
    let port = free_port();
    let cfg = test_config(dir.path(), port, TRUSTING, LEGACY_AUTH);
    let mut d = Daemon::start(dir.path(), port, &cfg);
    sipp_ok(
        &d,
        "register_keep.xml",
        &d.addr().to_string(),
        &[("1001", "1001pass"), ("1002", "1002pass")],
        &[],
    );
    d.kill9();
    let d2 = Daemon::start(dir.path(), port, &cfg);
    assert!(
        d2.wait_log(
            "registrations restored from the store bindings=2",
            Duration::from_secs(10)
        ),
        "restart log:\n{}",
        d2.log_text()
    );
    // And a query REGISTER (no Contact) by the owner lists the binding made before the kill.
    sipp_ok(
        &d2,
        "register_query.xml",
        &d2.addr().to_string(),
        &[("1001", "1001pass")],
        &[],
    );
}

#[test]
fn request_flood_bans_the_source() {
    let dir = temp_dir();
    let port = free_port();
    let security = "[security]\nrate_limit = { requests = 20, window_secs = 2, ban_secs = 300 }\n";
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, security, ""),
    );
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let local = sock.local_addr().unwrap();
    let mut answered = 0;
    for i in 0..60 {
        sock.send_to(
            options_request(&format!("flood-{i}"), local).as_bytes(),
            d.addr(),
        )
        .unwrap();
    }
    let mut buf = [0u8; 4096];
    while sock.recv_from(&mut buf).is_ok() {
        answered += 1;
    }
    assert!(answered < 60, "all {answered} flood requests were answered");
    assert!(
        d.wait_log("source banned", Duration::from_secs(5)),
        "{}",
        d.log_text()
    );
    // Banned sources are dropped silently.
    sock.send_to(options_request("after-ban", local).as_bytes(), d.addr())
        .unwrap();
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "a banned source was answered"
    );
}
