//! What an attacker on the network tries against authentication, with real sockets and SIPp
//! against the real daemon: forged failures must not lock a phone out, a guessing user is
//! banned alone, and INVITE challenges are not retransmitted towards forged sources.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::*;

#[path = "common/sipp.rs"]
mod sipp;

/// Loopback is not trusted here (bans apply), with small thresholds.
const STRICT: &str =
    "[security]\nauth_failures = { max = 3, max_per_source = 6, window_secs = 60 }\n";

fn daemon(dir: &std::path::Path) -> Daemon {
    let port = free_port();
    Daemon::start(dir, port, &test_config(dir, port, STRICT, LEGACY_AUTH))
}

fn register(local: SocketAddr, user: &str, branch: &str, auth: &str) -> String {
    format!(
        "REGISTER sip:switchboard.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@switchboard.local>;tag={branch}\r\n\
         To: <sip:{user}@switchboard.local>\r\n\
         Call-ID: {branch}@attack\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:{user}@{local}>\r\n\
         {auth}Content-Length: 0\r\n\r\n"
    )
}

fn forged_auth(user: &str, nonce: &str) -> String {
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"switchboard.local\", nonce=\"{nonce}\", uri=\"sip:switchboard.local\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5, cnonce=\"x\", qop=auth, nc=00000001\r\n"
    )
}

/// Send `msg` and return the first final answer's status line.
fn ask(sock: &UdpSocket, to: SocketAddr, msg: &str) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.send_to(msg.as_bytes(), to).unwrap();
    let mut buf = [0u8; 8192];
    loop {
        let (n, _) = sock.recv_from(&mut buf).expect("an answer");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

fn nonce_of(answer: &str) -> String {
    answer
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a nonce")
        .to_string()
}

fn sipp_register(d: &Daemon, user: (&str, &str), scenario: &str) -> (bool, String) {
    sipp::run_uac(&d.dir, scenario, &d.addr().to_string(), &[user], 1, &[])
}

/// The defect: ten forged or replayed packets from a phone's address banned the phone.
#[test]
fn forged_failures_from_a_phones_address_do_not_lock_it_out() {
    let dir = temp_dir();
    let d = daemon(dir.path());
    // The spoofer has a nonce of its own, issued to another address (127.0.0.2) ...
    let elsewhere = UdpSocket::bind("127.0.0.2:0").unwrap();
    let challenge = ask(
        &elsewhere,
        d.addr(),
        &register(elsewhere.local_addr().unwrap(), "1001", "elsewhere", ""),
    );
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    let stolen = nonce_of(&challenge);
    // ... and sends wrong answers with it, or with made-up nonces, from the phone's address.
    let spoof = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = spoof.local_addr().unwrap();
    for i in 0..12 {
        let nonce = if i % 2 == 0 {
            stolen.clone()
        } else {
            "00".repeat(32)
        };
        let answer = ask(
            &spoof,
            d.addr(),
            &register(
                local,
                "1001",
                &format!("forged{i}"),
                &forged_auth("1001", &nonce),
            ),
        );
        assert!(
            answer.starts_with("SIP/2.0 401"),
            "a forged answer is challenged again, never judged: {answer}"
        );
    }
    // The phone on that address still registers.
    let (ok, log) = sipp_register(&d, ("1001", "1001pass"), "register_auth.xml");
    assert!(ok, "the phone was locked out:\n{log}\n{}", d.log_text());
    assert!(!d.log_text().contains("banned"), "{}", d.log_text());
}

#[test]
fn a_user_guessing_passwords_is_banned_but_not_the_phones_beside_it() {
    let dir = temp_dir();
    let d = daemon(dir.path());
    for _ in 0..3 {
        let (ok, log) = sipp_register(&d, ("1004", "wrong"), "register_refused.xml");
        assert!(ok, "a wrong password gets 403:\n{log}");
    }
    assert!(
        d.wait_log("user banned from this source", Duration::from_secs(5)),
        "{}",
        d.log_text()
    );
    // Now even the right password is refused for 1004 from here...
    let (ok, _) = sipp_register(&d, ("1004", "1004pass"), "register_auth.xml");
    assert!(!ok, "1004 registered while banned");
    // ...while another phone behind the same address registers.
    let (ok, log) = sipp_register(&d, ("1001", "1001pass"), "register_auth.xml");
    assert!(
        ok,
        "1001 was locked out with 1004:\n{log}\n{}",
        d.log_text()
    );
}

fn invite(local: SocketAddr, to: SocketAddr) -> String {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "INVITE sip:1002@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-inv;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@switchboard.local>;tag=inv\r\n\
         To: <sip:1002@switchboard.local>\r\n\
         Call-ID: inv@attack\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:1001@{local}>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// The defect: a stateful 407 was retransmitted about five times to a source that never ACKs,
/// reflecting traffic at whoever the INVITE claimed to be.
#[test]
fn an_invite_challenge_is_sent_once_to_a_source_that_never_acks() {
    let dir = temp_dir();
    let d = daemon(dir.path());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = sock.local_addr().unwrap();
    sock.send_to(invite(local, d.addr()).as_bytes(), d.addr())
        .unwrap();
    // Timer G would retransmit a stateful 407 after 0.5 s, then 1 s later: listen through
    // both instants (this waits for an absence, so it has to take the time).
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let until = Instant::now() + Duration::from_millis(2500);
    let mut challenges = 0;
    let mut buf = [0u8; 8192];
    while Instant::now() < until {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            if buf[..n].starts_with(b"SIP/2.0 407") {
                challenges += 1;
            }
        }
    }
    assert_eq!(challenges, 1, "the 407 was retransmitted");
}
