//! The daemon as an operator meets it: check-config, SIGTERM, SIGHUP reload, TCP framing and
//! keep-alive, IPv6, and SHA-256 digest from an independent (Python) client.

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn check_config_prints_every_problem_with_position() {
    let dir = temp_dir();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[registrar]\nmin_expires = 0\nmax_contacts_per_aor = 0\n\n[[users]]\nextension = \"1\"\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let name = bad.display().to_string();
    assert!(
        err.contains(&format!(
            "{name}:2:15: registrar.min_expires must be at least 1"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{name}:3:24: registrar.max_contacts_per_aor")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{name}:5:1: user `1` needs `password`")),
        "{err}"
    );
    let good = Command::new(bin())
        .arg("check-config")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/switchboard.toml"
        ))
        .output()
        .unwrap();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
}

#[test]
fn sigterm_stops_gracefully() {
    let dir = temp_dir();
    let port = free_port();
    let mut d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, ""),
    );
    d.signal("TERM");
    assert_eq!(
        d.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_log("stopped", Duration::from_secs(2)),
        "{}",
        d.log_text()
    );
}

#[test]
fn sighup_reloads_and_refuses_a_bad_config() {
    let dir = temp_dir();
    let port = free_port();
    let base = test_config(dir.path(), port, TRUSTING, LEGACY_AUTH);
    let d = Daemon::start(dir.path(), port, &base);
    let with_1005 = format!("{base}\n[[users]]\nextension = \"1005\"\npassword = \"1005pass\"\n");
    std::fs::write(&d.config, &with_1005).unwrap();
    d.signal("HUP");
    assert!(
        d.wait_log("configuration reloaded", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    let py = |user: &str, pw: &str| py_register(port, user, pw);
    let out = py("1005", "1005pass");
    assert!(
        out.status.success(),
        "new user after reload: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A broken file is refused; the running config (with 1005) stays.
    std::fs::write(&d.config, format!("{with_1005}\nnot valid toml [[[\n")).unwrap();
    d.signal("HUP");
    assert!(
        d.wait_log("reload refused", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    let out = py("1005", "1005pass");
    assert!(
        out.status.success(),
        "after refused reload: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The independent Python (stdlib) client: REGISTER with a SHA-256 digest.
fn py_register(port: u16, user: &str, password: &str) -> std::process::Output {
    Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/sha256_register.py"
        ))
        .args(["127.0.0.1", &port.to_string(), user, password])
        .output()
        .unwrap()
}

#[test]
fn python_client_registers_with_sha256() {
    let dir = temp_dir();
    let port = free_port();
    let _d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, ""),
    );
    let out = py_register(port, "1002", "1002pass");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = py_register(port, "1002", "wrong");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("SIP/2.0 403"));
}

fn read_until(stream: &mut TcpStream, needle: &str, count: usize) -> String {
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while got.matches(needle).count() < count && std::time::Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => continue,
        }
    }
    got
}

#[test]
fn tcp_frames_by_content_length_and_answers_keepalive() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, ""),
    );
    let mut s = TcpStream::connect(d.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let local = s.local_addr().unwrap();
    let opt = |id: &str| options_request(id, local).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    // RFC 5626 ping → pong.
    s.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    s.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    // Two messages in one write, then one message split across writes.
    s.write_all(format!("{}{}", opt("tcp-1"), opt("tcp-2")).as_bytes())
        .unwrap();
    let got = read_until(&mut s, "SIP/2.0 200", 2);
    assert!(
        got.contains("Call-ID: tcp-1") && got.contains("Call-ID: tcp-2"),
        "{got}"
    );
    let third = opt("tcp-3");
    let (a, b) = third.split_at(40);
    s.write_all(a.as_bytes()).unwrap();
    s.flush().unwrap();
    s.write_all(b.as_bytes()).unwrap();
    let got = read_until(&mut s, "SIP/2.0 200", 1);
    assert!(got.contains("Call-ID: tcp-3"), "{got}");
}

#[test]
fn tcp_connection_cap_per_ip() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(
            dir.path(),
            port,
            TRUSTING,
            "[sip.tcp]\nmax_connections_per_ip = 2\n",
        ),
    );
    let _a = TcpStream::connect(d.addr()).unwrap();
    let _b = TcpStream::connect(d.addr()).unwrap();
    let mut c = TcpStream::connect(d.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The third is accepted by the kernel and closed by us at once.
    let mut buf = [0u8; 16];
    let n = c.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "third connection was served");
    assert!(d.wait_log("tcp connection cap reached", Duration::from_secs(5)));
}

#[test]
fn ipv6_loopback_is_served() {
    let Ok(probe) = UdpSocket::bind("[::1]:0") else {
        panic!("this machine has no IPv6 loopback");
    };
    let dir = temp_dir();
    let port = free_port();
    let text = test_config(dir.path(), port, TRUSTING, "").replace(
        &format!("listen = [{{ transport = \"udp\", addr = \"127.0.0.1:{port}\" }}, {{ transport = \"tcp\", addr = \"127.0.0.1:{port}\" }}]"),
        &format!("listen = [{{ transport = \"udp\", addr = \"127.0.0.1:{port}\" }}, {{ transport = \"udp\", addr = \"[::1]:{port}\" }}]"),
    );
    let _d = Daemon::start(dir.path(), port, &text);
    probe
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let local = probe.local_addr().unwrap();
    probe
        .send_to(
            options_request("v6", local).as_bytes(),
            format!("[::1]:{port}"),
        )
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, from) = probe.recv_from(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(from.is_ipv6());
    assert!(
        answer.contains("received=[::1]") || answer.contains("received=::1"),
        "{answer}"
    );
}

#[test]
fn idle_tcp_connections_are_closed() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(
            dir.path(),
            port,
            TRUSTING,
            "[sip.tcp]\nidle_timeout_secs = 1\n",
        ),
    );
    let mut s = TcpStream::connect(d.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 16];
    let closed = poll_until(Duration::from_secs(10), || {
        matches!(s.read(&mut buf), Ok(0))
    });
    assert!(closed, "idle connection still open");
}

#[test]
fn json_logs_with_the_flag() {
    let dir = temp_dir();
    let port = free_port();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, test_config(dir.path(), port, TRUSTING, "")).unwrap();
    let mut child = Command::new(bin())
        .args(["run", "--json", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let first = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with('{') && first.contains("\"level\":\"INFO\""),
        "{first}"
    );
}
