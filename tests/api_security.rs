//! The API port's protections against the real daemon, with raw TCP sockets and our tonic
//! client: a connection that never sends the HTTP/2 preface is closed; connections beyond
//! `max_connections_per_ip` are closed while another source is served; a source sending
//! invalid bearer tokens is logged (rate-limited, never the token) and banned, while another
//! source and a trusted one are not.
//!
//! Every source here is loopback: Linux routes all of 127.0.0.0/8 to `lo`, so binding a client
//! to 127.0.0.2 makes a second source.

mod common;

use common::api::*;
use common::*;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::Duration;

use switchboard::api::pb;
use tonic::Code;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame: with the preface, all a client must send first.
const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const TRUSTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

/// Generous for a loaded 2-core machine; only ever waited out when something is wrong.
const DEADLINE: Duration = Duration::from_secs(20);

/// The daemon with the API on its own port, `[security] trusted` = 127.0.0.3 only, and
/// `api_extra` inside `[api]`.
fn start(api_extra: &str) -> (tempfile::TempDir, Daemon, u16) {
    let dir = temp_dir();
    let (port, api_port) = (free_port(), free_port());
    let extra = format!(
        r#"[api]
listen = "127.0.0.1:{api_port}"
tokens = [{{ token = "{READ}", scopes = ["read"] }}]
{api_extra}
"#
    );
    let security = "[security]\ntrusted = [\"127.0.0.3/32\"]\n";
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, security, &extra),
    );
    assert!(
        d.wait_log("gRPC API listening", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    (dir, d, api_port)
}

/// Whether the server closed `s` (EOF or reset) within `DEADLINE`; bytes the server sends
/// first (its SETTINGS) are read past. False if it is still open at the deadline.
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Whether `s` is still open: nothing but the server's own frames arrive within a short
/// wait (an open connection's read just times out).
fn still_open(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(e) => return matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }
}

/// A ListCalls with `token` from `local`: its status code (Ok on success).
async fn list_calls(api_port: u16, local: IpAddr, token: &str) -> Code {
    let ch = match channel_from(api_port, local).await {
        Ok(ch) => ch,
        Err(_) => return Code::Unavailable,
    };
    let mut client = pb::control_client::ControlClient::new(ch);
    match client
        .list_calls(authed(pb::ListCallsRequest {}, token))
        .await
    {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_sends_the_preface_is_closed() {
    let (_dir, d, api_port) = start("preface_timeout_secs = 1");
    let mut silent = TcpStream::connect(("127.0.0.1", api_port)).unwrap();
    // Half a preface is no better than none.
    let mut half = TcpStream::connect(("127.0.0.1", api_port)).unwrap();
    half.write_all(&PREFACE[..10]).unwrap();
    let mut not_http2 = TcpStream::connect(("127.0.0.1", api_port)).unwrap();
    not_http2
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(
        closed_by_server(&mut silent),
        "a silent connection was kept open; log:\n{}",
        d.log_text()
    );
    assert!(closed_by_server(&mut half), "half a preface was kept open");
    assert!(closed_by_server(&mut not_http2), "HTTP/1.1 was kept open");
    // A real client is served as before.
    assert_eq!(list_calls(api_port, LOCAL, READ).await, Code::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_per_ip_cap_are_closed_and_other_sources_still_served() {
    let (_dir, d, api_port) = start("max_connections_per_ip = 3\npreface_timeout_secs = 60");
    // Three HTTP/2 clients that stay connected, then a fourth from the same address.
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", api_port)).unwrap();
            s.write_all(PREFACE).unwrap();
            s.write_all(SETTINGS).unwrap();
            s
        })
        .collect();
    let mut extra = TcpStream::connect(("127.0.0.1", api_port)).unwrap();
    extra.write_all(PREFACE).unwrap();
    assert!(
        closed_by_server(&mut extra),
        "a 4th connection from one address was kept; log:\n{}",
        d.log_text()
    );
    for s in &mut held {
        assert!(still_open(s), "a connection within the cap was closed");
    }
    // Another source is served meanwhile; the full one is not.
    assert_eq!(list_calls(api_port, OTHER, READ).await, Code::Ok);
    assert_ne!(list_calls(api_port, LOCAL, READ).await, Code::Ok);
    assert!(
        d.wait_log("connection cap reached", DEADLINE),
        "{}",
        d.log_text()
    );
    // A closed connection gives its slot back.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while list_calls(api_port, LOCAL, READ).await != Code::Ok {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot of a closed connection never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_guessing_tokens_is_logged_and_banned_others_are_not() {
    let (_dir, d, api_port) = start("[api.security]\nauth_failures = 5\nban_secs = 300");
    const WRONG: &str = "wrong-token-0123456789-guess";
    // 200 wrong tokens in a row on one connection: refused, then refused as banned.
    let ch = channel_from(api_port, LOCAL).await.expect("connect");
    let mut client = pb::control_client::ControlClient::new(ch);
    let mut codes = Vec::new();
    for _ in 0..200 {
        let r = client
            .list_calls(authed(pb::ListCallsRequest {}, WRONG))
            .await;
        codes.push(r.expect_err("a wrong token was accepted").code());
    }
    assert!(
        codes[..5].iter().all(|c| *c == Code::Unauthenticated),
        "{codes:?}"
    );
    assert!(
        codes[5..].iter().all(|c| *c == Code::PermissionDenied),
        "the source was not banned after 5 wrong tokens: {:?}; log:\n{}",
        &codes[..10],
        d.log_text()
    );
    // Banned: even the right token is refused, on this connection and on a new one.
    let banned = client
        .list_calls(authed(pb::ListCallsRequest {}, READ))
        .await
        .expect_err("a banned source was served");
    assert_eq!(banned.code(), Code::PermissionDenied, "{banned:?}");
    assert!(banned.message().contains("banned"), "{banned:?}");
    assert_ne!(list_calls(api_port, LOCAL, READ).await, Code::Ok);
    // Another source is not affected.
    assert_eq!(list_calls(api_port, OTHER, READ).await, Code::Ok);

    // The security log: the first failure and the ban, with the source, never the token,
    // and not one line per guess.
    assert!(
        d.wait_log("security: API source banned", DEADLINE),
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("security: API") && l.contains("source=127.0.0.1"))
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("invalid bearer token")),
        "{lines:#?}"
    );
    assert!(lines.len() <= 4, "a line per failure: {lines:#?}");
    assert!(lines.iter().all(|l| l.contains("WARN")), "{lines:#?}");
    assert!(!log.contains(WRONG), "the token was logged");

    // A trusted source is logged but never banned.
    let ch = channel_from(api_port, TRUSTED).await.expect("connect");
    let mut trusted = pb::control_client::ControlClient::new(ch);
    for _ in 0..20 {
        let r = trusted
            .list_calls(authed(pb::ListCallsRequest {}, WRONG))
            .await;
        assert_eq!(r.expect_err("wrong token").code(), Code::Unauthenticated);
    }
    assert!(trusted
        .list_calls(authed(pb::ListCallsRequest {}, READ))
        .await
        .is_ok());
    assert!(d.wait_log("source=127.0.0.3", DEADLINE), "{}", d.log_text());
}
