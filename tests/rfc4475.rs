//! The 49 RFC 4475 torture messages sent over UDP to the running daemon: each gets the answer
//! EXPECTED.md asks for (or silence), and the daemon keeps serving after every one.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::*;

/// What the daemon must do with a message: answer with one of these codes, or stay silent.
fn expected(name: &str) -> Option<&'static [u16]> {
    Some(match name {
        // Parsed and processed: OPTIONS answered, a new INVITE without credentials challenged
        // (407) before anything else is looked at, an INVITE carrying a To tag refers to a
        // dialog we do not have (481), REGISTER challenged (401), MESSAGE not allowed.
        "esc01" | "longreq" | "inv2543" => &[407],
        "wsinv" => &[481],
        "lwsdisp" | "semiuri" | "transports" | "badbranch" | "zeromf" => &[200],
        "escnull" | "dblreq" | "unksm2" | "regaut01" | "cparam01" | "cparam02" | "regescrt" => {
            &[401]
        }
        "mpart01" => &[405],
        "intmeth" | "esc02" => &[501],
        "badinv01" | "clerr" | "ncl" | "scalar02" | "quotbal" | "ltgtruri" | "lwsruri"
        | "lwsstart" | "trws" | "mismatch01" | "mismatch02" | "insuf" | "multi01" | "mcl01" => {
            &[400]
        }
        // Lenient handling is allowed for these.
        "escruri" => &[400, 404, 407, 480],
        "baddate" => &[400, 407],
        "regbadct" => &[400, 401],
        "badaspec" | "baddn" => &[400, 200],
        "badvers" => &[505],
        "unkscm" | "novelsc" => &[416],
        "bext01" => &[420],
        "invut" => &[415],
        "sdp01" => &[406],
        // Responses matching no transaction: dropped.
        "unreason" | "noreason" | "scalarlg" | "bigcode" | "bcast" => return None,
        other => panic!("no expectation for {other}"),
    })
}

fn status_of(bytes: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

#[test]
fn torture_messages_over_udp() {
    let dir = temp_dir();
    let port = free_port();
    let daemon = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, ""),
    );
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".dat")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 49);
    let mut failures = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let bytes = std::fs::read(data.join(format!("{name}.dat"))).unwrap();
        sock.send_to(&bytes, daemon.addr()).unwrap();
        // Then a probe: the daemon handles datagrams in order, so once the probe's 200 is
        // back, any answer to the torture message has been sent too.
        let probe_id = format!("probe-{i}");
        let probe = options_request(&probe_id, sock.local_addr().unwrap());
        sock.send_to(probe.as_bytes(), daemon.addr()).unwrap();
        let mut answers = Vec::new();
        let mut probe_ok = false;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !probe_ok && Instant::now() < deadline {
            let mut buf = [0u8; 65536];
            let Ok((n, _)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let msg = &buf[..n];
            if String::from_utf8_lossy(msg).contains(&format!("Call-ID: {probe_id}\r\n")) {
                probe_ok = status_of(msg) == Some(200);
            } else if let Some(code) = status_of(msg) {
                if code >= 200 {
                    answers.push(code);
                }
            }
        }
        if !probe_ok {
            failures.push(format!("{name}: daemon stopped answering OPTIONS"));
            continue;
        }
        match expected(name) {
            None if !answers.is_empty() => {
                failures.push(format!("{name}: expected silence, got {answers:?}"))
            }
            Some(codes) if answers.len() != 1 || !codes.contains(&answers[0]) => failures.push(
                format!("{name}: expected one of {codes:?}, got {answers:?}"),
            ),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n--- log tail:\n{}",
        failures.join("\n"),
        tail(&daemon.log_text())
    );
}

fn tail(s: &str) -> String {
    s.lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}
