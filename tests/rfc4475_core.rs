//! RFC 4475 torture messages through the sans-IO message boundary and UAS checks: the answer a
//! correct element gives, decided without any socket. The daemon-level test (tests/rfc4475.rs)
//! sends the same files over UDP.

use switchboard::sip::message::{self, ParseError};
use switchboard::sip::{rsip, uas};

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Handed to the method's handler.
    Process(String),
    /// Answered with this status before any handler.
    Status(u16),
    /// A response: dropped (we hold no transactions for these).
    Response,
    /// A response that failed to parse: dropped.
    BadResponse,
}

fn outcome(bytes: &[u8]) -> Outcome {
    match message::parse(bytes) {
        Ok(p) => match p.message {
            rsip::SipMessage::Response(_) => Outcome::Response,
            rsip::SipMessage::Request(req) => {
                match uas::check(&req).and(uas::check_max_forwards(&req)) {
                    Ok(()) => Outcome::Process(req.method.to_string()),
                    Err(r) => Outcome::Status(r.code),
                }
            }
        },
        Err(rej) => match rej.context {
            Some(_) => Outcome::Status(rej.error.status().0),
            None if bytes.starts_with(b"SIP/") => Outcome::BadResponse,
            None => panic!("request with no context: {:?}", rej.error),
        },
    }
}

fn torture(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    std::fs::read(dir.join(format!("{name}.dat"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

use Outcome::*;

fn p(m: &str) -> Outcome {
    Process(m.to_string())
}

#[test]
fn every_torture_message_gets_the_expected_treatment() {
    let cases: Vec<(&str, Vec<Outcome>)> = vec![
        ("wsinv", vec![p("INVITE")]),
        ("intmeth", vec![Status(501)]),
        ("esc01", vec![p("INVITE")]),
        ("escnull", vec![p("REGISTER")]),
        ("esc02", vec![Status(501)]),
        ("lwsdisp", vec![p("OPTIONS")]),
        ("longreq", vec![p("INVITE")]),
        ("dblreq", vec![p("REGISTER")]),
        ("semiuri", vec![p("OPTIONS")]),
        ("transports", vec![p("OPTIONS")]),
        ("mpart01", vec![p("MESSAGE"), Status(405)]),
        ("unreason", vec![Response]),
        ("noreason", vec![Response]),
        ("badinv01", vec![Status(400)]),
        ("clerr", vec![Status(400)]),
        ("ncl", vec![Status(400)]),
        ("scalar02", vec![Status(400)]),
        ("scalarlg", vec![Response, BadResponse]),
        ("quotbal", vec![Status(400)]),
        ("ltgtruri", vec![Status(400)]),
        ("lwsruri", vec![Status(400)]),
        ("lwsstart", vec![Status(400)]),
        ("trws", vec![Status(400)]),
        ("escruri", vec![Status(400), p("INVITE")]),
        ("baddate", vec![Status(400), p("INVITE")]),
        ("regbadct", vec![Status(400), p("REGISTER")]),
        ("badaspec", vec![Status(400), p("OPTIONS")]),
        ("baddn", vec![Status(400), p("OPTIONS")]),
        ("badvers", vec![Status(505)]),
        ("mismatch01", vec![Status(400)]),
        ("mismatch02", vec![Status(400)]),
        ("bigcode", vec![BadResponse]),
        ("badbranch", vec![p("OPTIONS")]),
        ("insuf", vec![Status(400)]),
        ("unkscm", vec![Status(416)]),
        ("novelsc", vec![Status(416)]),
        ("unksm2", vec![p("REGISTER")]),
        ("bext01", vec![Status(420)]),
        ("invut", vec![Status(415)]),
        ("regaut01", vec![p("REGISTER")]),
        ("multi01", vec![Status(400)]),
        ("mcl01", vec![Status(400)]),
        ("bcast", vec![Response, BadResponse]),
        ("zeromf", vec![p("OPTIONS")]),
        ("cparam01", vec![p("REGISTER")]),
        ("cparam02", vec![p("REGISTER")]),
        ("regescrt", vec![p("REGISTER")]),
        ("sdp01", vec![Status(406)]),
        ("inv2543", vec![p("INVITE")]),
    ];
    assert_eq!(cases.len(), 49);
    let mut failures = Vec::new();
    for (name, allowed) in &cases {
        let got = outcome(&torture(name));
        if !allowed.contains(&got) {
            failures.push(format!("{name}: got {got:?}, expected one of {allowed:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn dblreq_uses_only_the_first_message() {
    let bytes = torture("dblreq");
    let parsed = message::parse(&bytes).unwrap();
    assert!(parsed.consumed < bytes.len());
    let rsip::SipMessage::Request(req) = parsed.message else {
        panic!("request expected")
    };
    assert_eq!(req.method, rsip::Method::Register);
}

#[test]
fn escnull_keeps_bytes_after_escaped_nul() {
    let parsed = message::parse(&torture("escnull")).unwrap();
    let rsip::SipMessage::Request(req) = parsed.message else {
        panic!("request expected")
    };
    let to = message::header_value(&req.headers, "To").unwrap();
    assert!(to.contains("%00"), "{to}");
}

#[test]
fn compact_folded_and_ipv6_forms_parse() {
    let text = "OPTIONS sip:[2001:db8::10]:5070 SIP/2.0\r\n\
        v: SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK74bf9;rport\r\n\
        f: <sip:alice@[2001:db8::9]>;tag=1\r\n\
        t: <sip:bob@example.com>\r\n\
        i: compact-1\r\n\
        CSeq: 1\r\n OPTIONS\r\n\
        Subject : folded\r\n\tover lines\r\n\
        Max-Forwards: 70\r\n\
        l: 0\r\n\r\n";
    let parsed = message::parse(text.as_bytes()).unwrap();
    let rsip::SipMessage::Request(req) = parsed.message else {
        panic!("request expected")
    };
    assert_eq!(
        message::header_value(&req.headers, "Call-ID"),
        Some("compact-1")
    );
    assert_eq!(
        message::header_value(&req.headers, "CSeq"),
        Some("1 OPTIONS")
    );
    assert_eq!(
        message::header_value(&req.headers, "Subject"),
        Some("folded over lines")
    );
    use rsip::prelude::{HeadersExt, ToTypedHeader};
    let via = req.via_header().unwrap().typed().unwrap();
    assert!(
        via.uri.host_with_port.to_string().contains("2001:db8::9"),
        "{via:?}"
    );
    assert!(
        req.uri.to_string().contains("[2001:db8::10]"),
        "{}",
        req.uri
    );
}

#[test]
fn bad_version_is_505_and_garbage_is_rejected_without_context() {
    let err = message::parse(b"OPTIONS sip:a@b SIP/3.0\r\nVia: SIP/2.0/UDP h\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n").unwrap_err();
    assert_eq!(err.error, ParseError::Version("SIP/3.0".into()));
    assert!(err.context.is_some());
    let err = message::parse(b"\x00\x01garbage").unwrap_err();
    assert!(err.context.is_none());
}

/// Found by the sip_message fuzz target: a multi-byte character where the version is.
#[test]
fn non_ascii_version_is_a_400_not_a_panic() {
    let msg = "OPTIONS sip:a@b \u{fffd}\u{fffd}\u{fffd}\u{fffd}\r\nVia: SIP/2.0/UDP h\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
    let err = message::parse(msg.as_bytes()).unwrap_err();
    assert_eq!(err.error.status().0, 400);
    let resp = "SIP/2.0\u{fffd} 200 OK\r\n\r\n";
    assert!(message::parse(resp.as_bytes()).is_err());
}

#[test]
fn invite_with_max_forwards_zero_is_483_but_options_is_processed() {
    let text = |method: &str| {
        format!(
            "{method} sip:1002@switchboard.local SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:1002@switchboard.local>\r\nCall-ID: mf0\r\nCSeq: 1 {method}\r\nMax-Forwards: 0\r\nContent-Length: 0\r\n\r\n"
        )
    };
    assert_eq!(outcome(text("INVITE").as_bytes()), Status(483));
    assert_eq!(outcome(text("OPTIONS").as_bytes()), p("OPTIONS"));
    assert_eq!(outcome(text("SUBSCRIBE").as_bytes()), Status(405));
}
