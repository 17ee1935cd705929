//! Virtual-clock tests: every timer is walked by handing `handle_timeout` the instants the
//! layer asks for, so 32 s of RFC 3261 time takes microseconds.

use std::time::{Duration, Instant};

use super::*;
use crate::sip::{message, rsip, Peer, TransportKind};

fn udp() -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.9:5060".parse().unwrap(),
        conn: Some(0),
    }
}

fn tcp() -> Peer {
    Peer {
        transport: TransportKind::Tcp,
        addr: "192.0.2.9:5060".parse().unwrap(),
        conn: Some(1 << 32),
    }
}

fn req(method: &str, branch: &str, extra: &str) -> rsip::Request {
    let text = format!(
        "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch={branch}\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>{extra}\r\nCall-ID: call-1\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    match message::parse(text.as_bytes()).unwrap().message {
        rsip::SipMessage::Request(r) => r,
        _ => unreachable!("request text"),
    }
}

fn resp(code: u16, method: &str, branch: &str) -> rsip::Response {
    let text = format!(
        "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch={branch}\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b2\r\nCall-ID: call-1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    match message::parse(text.as_bytes()).unwrap().message {
        rsip::SipMessage::Response(r) => r,
        _ => unreachable!("response text"),
    }
}

fn transmits(l: &mut TransactionLayer) -> Vec<String> {
    std::iter::from_fn(|| l.poll_transmit())
        .map(|t| String::from_utf8_lossy(&t.bytes).into_owned())
        .collect()
}

fn events(l: &mut TransactionLayer) -> Vec<TxEvent> {
    std::iter::from_fn(|| l.poll_event()).collect()
}

/// Advance to each requested timeout up to `until`, recording when transmits happen.
fn run_until(l: &mut TransactionLayer, t0: Instant, until: Duration) -> Vec<(Duration, String)> {
    let mut sent = Vec::new();
    while let Some(t) = l.poll_timeout() {
        if t > t0 + until {
            break;
        }
        l.handle_timeout(t);
        for s in transmits(l) {
            sent.push((t - t0, s));
        }
    }
    sent
}

#[test]
fn timer_b_walks_to_32_seconds_with_invite_retransmissions() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    let key = l
        .send_request(t0, req("INVITE", "z9hG4bKb1", ""), udp())
        .unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    let sent = run_until(&mut l, t0, Duration::from_millis(31_999));
    let at: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    assert_eq!(at, vec![500, 1500, 3500, 7500, 15500, 31500]);
    assert!(events(&mut l).is_empty(), "no timeout before 32 s");
    l.handle_timeout(t0 + Duration::from_secs(32));
    let ev = events(&mut l);
    assert!(matches!(&ev[0], TxEvent::Timeout { key: k } if *k == key));
    assert!(matches!(&ev[1], TxEvent::Terminated { .. }));
    assert!(l.is_empty());
    assert_eq!(l.stats().timed_out(TxKind::ClientInvite), 1);
    assert_eq!(l.stats().completed(TxKind::ClientInvite), 0);
}

#[test]
fn timer_e_caps_at_t2_and_jumps_to_t2_after_provisional() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.send_request(t0, req("OPTIONS", "z9hG4bKe1", ""), udp())
        .unwrap();
    transmits(&mut l);
    let sent = run_until(&mut l, t0, Duration::from_millis(16_000));
    let at: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    assert_eq!(at, vec![500, 1500, 3500, 7500, 11500, 15500]);

    let mut l = TransactionLayer::new(TimerConfig::default());
    l.send_request(t0, req("OPTIONS", "z9hG4bKe2", ""), udp())
        .unwrap();
    transmits(&mut l);
    l.handle_response(
        t0 + Duration::from_millis(100),
        resp(100, "OPTIONS", "z9hG4bKe2"),
        udp(),
    )
    .unwrap();
    let sent = run_until(&mut l, t0, Duration::from_millis(10_000));
    let at: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    // The pending E (0.5 s) fires, then T2 spacing in Proceeding.
    assert_eq!(at, vec![500, 4500, 8500]);
}

#[test]
fn timer_f_times_out_and_final_response_then_k() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    let key = l
        .send_request(t0, req("REGISTER", "z9hG4bKf1", ""), udp())
        .unwrap();
    run_until(&mut l, t0, Duration::from_millis(31_999));
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert!(matches!(events(&mut l)[0], TxEvent::Timeout { key: ref k } if *k == key));

    let key = l
        .send_request(t0, req("REGISTER", "z9hG4bKf2", ""), udp())
        .unwrap();
    l.handle_response(t0, resp(200, "REGISTER", "z9hG4bKf2"), udp())
        .unwrap();
    assert!(matches!(&events(&mut l)[..], [TxEvent::Response { key: k, .. }] if *k == key));
    // Retransmitted 200 in Completed is absorbed.
    l.handle_response(t0, resp(200, "REGISTER", "z9hG4bKf2"), udp())
        .unwrap();
    assert!(events(&mut l).is_empty());
    l.handle_timeout(t0 + Duration::from_millis(4999));
    assert_eq!(l.len(), 1);
    l.handle_timeout(t0 + Duration::from_secs(5));
    assert!(l.is_empty(), "Timer K = T4");
    // One timed out (F), one completed; nothing counted twice.
    let st = l.stats();
    assert_eq!(st.timed_out(TxKind::ClientNonInvite), 1);
    assert_eq!(st.completed(TxKind::ClientNonInvite), 1);
    assert_eq!(st.completed[..].iter().sum::<u64>(), 1);
    assert_eq!(st.timed_out[..].iter().sum::<u64>(), 1);
}

#[test]
fn server_non_invite_absorbs_retransmissions_in_every_state() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.handle_request(t0, req("OPTIONS", "z9hG4bKs1", ""), udp())
        .unwrap();
    let TxEvent::Request { key, .. } = events(&mut l).remove(0) else {
        panic!("request event")
    };
    // Trying: absorbed silently.
    l.handle_request(t0, req("OPTIONS", "z9hG4bKs1", ""), udp())
        .unwrap();
    assert!(events(&mut l).is_empty() && transmits(&mut l).is_empty());
    // Proceeding: last provisional re-sent.
    l.send_response(t0, &key, resp(100, "OPTIONS", "z9hG4bKs1"))
        .unwrap();
    transmits(&mut l);
    l.handle_request(t0, req("OPTIONS", "z9hG4bKs1", ""), udp())
        .unwrap();
    assert!(transmits(&mut l)[0].starts_with("SIP/2.0 100"));
    // Completed: final re-sent; Timer J = 32 s.
    l.send_response(t0, &key, resp(200, "OPTIONS", "z9hG4bKs1"))
        .unwrap();
    transmits(&mut l);
    l.handle_request(
        t0 + Duration::from_secs(10),
        req("OPTIONS", "z9hG4bKs1", ""),
        udp(),
    )
    .unwrap();
    assert!(transmits(&mut l)[0].starts_with("SIP/2.0 200"));
    assert!(events(&mut l).is_empty());
    assert_eq!(
        l.send_response(t0, &key, resp(200, "OPTIONS", "z9hG4bKs1")),
        Err(TxError::State)
    );
    l.handle_timeout(t0 + Duration::from_millis(31_999));
    assert_eq!(l.len(), 1);
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert!(l.is_empty());
}

#[test]
fn server_invite_non_2xx_retransmits_with_g_until_ack_then_i() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.handle_request(t0, req("INVITE", "z9hG4bKi1", ""), udp())
        .unwrap();
    let TxEvent::Request { key, .. } = events(&mut l).remove(0) else {
        panic!("request event")
    };
    l.send_response(t0, &key, resp(486, "INVITE", "z9hG4bKi1"))
        .unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    let sent = run_until(&mut l, t0, Duration::from_millis(8_000));
    let at: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    assert_eq!(at, vec![500, 1500, 3500, 7500]);
    // The ACK (same branch) is absorbed: Confirmed, no more retransmissions.
    l.handle_request(
        t0 + Duration::from_secs(8),
        req("ACK", "z9hG4bKi1", ";tag=b2"),
        udp(),
    )
    .unwrap();
    assert!(events(&mut l).is_empty());
    let sent = run_until(&mut l, t0, Duration::from_millis(12_999));
    assert!(sent.is_empty());
    assert_eq!(l.len(), 1);
    l.handle_timeout(t0 + Duration::from_secs(13));
    assert!(l.is_empty(), "Timer I = T4 after the ACK");
}

#[test]
fn server_invite_timer_h_without_ack() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.handle_request(t0, req("INVITE", "z9hG4bKh1", ""), udp())
        .unwrap();
    let TxEvent::Request { key, .. } = events(&mut l).remove(0) else {
        panic!("request event")
    };
    l.send_response(t0, &key, resp(404, "INVITE", "z9hG4bKh1"))
        .unwrap();
    run_until(&mut l, t0, Duration::from_millis(31_999));
    assert!(events(&mut l).is_empty());
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert!(matches!(events(&mut l)[0], TxEvent::Timeout { .. }));
    assert!(l.is_empty());
}

#[test]
fn server_invite_2xx_goes_accepted_with_timer_l() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.handle_request(t0, req("INVITE", "z9hG4bKa1", ""), udp())
        .unwrap();
    let TxEvent::Request { key, .. } = events(&mut l).remove(0) else {
        panic!("request event")
    };
    l.send_response(t0, &key, resp(180, "INVITE", "z9hG4bKa1"))
        .unwrap();
    l.handle_request(t0, req("INVITE", "z9hG4bKa1", ""), udp())
        .unwrap();
    let t = transmits(&mut l);
    assert!(
        t[1].starts_with("SIP/2.0 180"),
        "provisional re-sent on INVITE retransmission"
    );
    l.send_response(t0, &key, resp(200, "INVITE", "z9hG4bKa1"))
        .unwrap();
    transmits(&mut l);
    // Retransmitted INVITE in Accepted: absorbed, nothing sent (2xx retransmission is the TU's).
    l.handle_request(t0, req("INVITE", "z9hG4bKa1", ""), udp())
        .unwrap();
    assert!(transmits(&mut l).is_empty() && events(&mut l).is_empty());
    // The TU may retransmit its 2xx.
    l.send_response(
        t0 + Duration::from_millis(500),
        &key,
        resp(200, "INVITE", "z9hG4bKa1"),
    )
    .unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    // An ACK with the INVITE's branch reaches the TU in Accepted.
    l.handle_request(t0, req("ACK", "z9hG4bKa1", ";tag=b2"), udp())
        .unwrap();
    assert!(matches!(events(&mut l)[..], [TxEvent::Ack { .. }]));
    l.handle_timeout(t0 + Duration::from_millis(31_999));
    assert_eq!(l.len(), 1);
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert!(l.is_empty());
}

#[test]
fn client_invite_acks_non_2xx_and_passes_2xx_retransmissions() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    let mut invite = req("INVITE", "z9hG4bKc1", "");
    invite.headers.push(rsip::headers::make_header(
        "Route",
        "<sip:proxy.example.com;lr>".into(),
    ));
    l.send_request(t0, invite, udp()).unwrap();
    transmits(&mut l);
    l.handle_response(t0, resp(486, "INVITE", "z9hG4bKc1"), udp())
        .unwrap();
    let ack = transmits(&mut l).remove(0);
    assert!(
        ack.starts_with("ACK sip:bob@example.com SIP/2.0\r\n"),
        "{ack}"
    );
    assert!(ack.contains("branch=z9hG4bKc1"));
    assert!(ack.contains("CSeq: 1 ACK"));
    assert!(ack.contains("tag=b2"), "To from the response: {ack}");
    assert!(ack.contains("Route: <sip:proxy.example.com;lr>"));
    assert_eq!(events(&mut l).len(), 1);
    // A retransmitted final re-triggers the ACK and is not passed up.
    l.handle_response(t0, resp(486, "INVITE", "z9hG4bKc1"), udp())
        .unwrap();
    assert!(transmits(&mut l)[0].starts_with("ACK"));
    assert!(events(&mut l).is_empty());
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert!(l.is_empty(), "Timer D = 32 s");

    l.send_request(t0, req("INVITE", "z9hG4bKc2", ""), udp())
        .unwrap();
    l.handle_response(t0, resp(200, "INVITE", "z9hG4bKc2"), udp())
        .unwrap();
    l.handle_response(t0, resp(200, "INVITE", "z9hG4bKc2"), udp())
        .unwrap();
    let responses = events(&mut l)
        .into_iter()
        .filter(|e| matches!(e, TxEvent::Response { .. }))
        .count();
    assert_eq!(responses, 2, "2xx retransmissions reach the TU (RFC 6026)");
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert!(l.is_empty(), "Timer M");
}

#[test]
fn reliable_transport_has_no_retransmissions_and_zero_waits() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.send_request(t0, req("INVITE", "z9hG4bKr1", ""), tcp())
        .unwrap();
    transmits(&mut l);
    assert_eq!(
        l.poll_timeout(),
        Some(t0 + Duration::from_secs(32)),
        "only Timer B"
    );
    l.handle_response(t0, resp(404, "INVITE", "z9hG4bKr1"), tcp())
        .unwrap();
    l.handle_timeout(t0);
    assert!(l.is_empty(), "Timer D = 0 on TCP");
    l.handle_request(t0, req("OPTIONS", "z9hG4bKr2", ""), tcp())
        .unwrap();
    let TxEvent::Request { key, .. } = events(&mut l)
        .into_iter()
        .find(|e| matches!(e, TxEvent::Request { .. }))
        .unwrap()
    else {
        unreachable!()
    };
    l.send_response(t0, &key, resp(200, "OPTIONS", "z9hG4bKr2"))
        .unwrap();
    l.handle_timeout(t0);
    assert!(l.is_empty(), "Timer J = 0 on TCP");
}

#[test]
fn rfc2543_fallback_matches_retransmissions_and_ack() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.handle_request(t0, req("INVITE", "oldstyle1", ""), udp())
        .unwrap();
    let TxEvent::Request { key, .. } = events(&mut l).remove(0) else {
        panic!("request event")
    };
    l.send_response(t0, &key, resp(480, "INVITE", "oldstyle1"))
        .unwrap();
    transmits(&mut l);
    l.handle_request(t0, req("INVITE", "oldstyle1", ""), udp())
        .unwrap();
    assert!(
        transmits(&mut l)[0].starts_with("SIP/2.0 480"),
        "retransmission matched without cookie"
    );
    l.handle_request(t0, req("ACK", "oldstyle1", ";tag=b2"), udp())
        .unwrap();
    assert!(
        events(&mut l).is_empty(),
        "ACK matched the INVITE transaction"
    );
    let sent = run_until(&mut l, t0, Duration::from_secs(4));
    assert!(sent.is_empty(), "confirmed: no more 480s");
}

#[test]
fn stateless_answer_leaves_no_state() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.handle_request(t0, req("REGISTER", "z9hG4bKsl", ""), udp())
        .unwrap();
    let TxEvent::Request { key, .. } = events(&mut l).remove(0) else {
        panic!("request event")
    };
    l.respond_statelessly(&key, resp(401, "REGISTER", "z9hG4bKsl"))
        .unwrap();
    assert!(transmits(&mut l)[0].starts_with("SIP/2.0 401"));
    assert!(l.is_empty());
    // The retransmission is a new request for the TU (which challenges again).
    l.handle_request(t0, req("REGISTER", "z9hG4bKsl", ""), udp())
        .unwrap();
    assert!(matches!(events(&mut l)[..], [TxEvent::Request { .. }]));
    // An INVITE may be refused (a challenge) statelessly: no retransmissions of the 407
    // towards a source that never ACKs. Never a 2xx, never a provisional.
    let mut invite = |branch: &str| {
        l.handle_request(t0, req("INVITE", branch, ""), udp())
            .unwrap();
        events(&mut l)
            .into_iter()
            .find_map(|e| match e {
                TxEvent::Request { key, .. } => Some(key),
                _ => None,
            })
            .unwrap()
    };
    let key = invite("z9hG4bKsi");
    let key2 = invite("z9hG4bKs2");
    assert_eq!(
        l.respond_statelessly(&key2, resp(200, "INVITE", "z9hG4bKs2")),
        Err(TxError::State)
    );
    assert_eq!(
        l.respond_statelessly(&key2, resp(180, "INVITE", "z9hG4bKs2")),
        Err(TxError::State)
    );
    l.respond_statelessly(&key, resp(407, "INVITE", "z9hG4bKsi"))
        .unwrap();
    assert!(transmits(&mut l)
        .iter()
        .any(|t| t.starts_with("SIP/2.0 407")));
    // Left: the REGISTER retransmission's and the other INVITE's transactions, not this
    // one: nothing will retransmit the 407.
    assert_eq!(l.len(), 2);
}

#[test]
fn cancel_finds_its_invite() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    l.handle_request(t0, req("INVITE", "z9hG4bKx1", ""), udp())
        .unwrap();
    assert!(l
        .find_invite_for_cancel(&req("CANCEL", "z9hG4bKx1", ""))
        .is_some());
    assert!(l
        .find_invite_for_cancel(&req("CANCEL", "z9hG4bKother", ""))
        .is_none());
    l.handle_request(t0, req("CANCEL", "z9hG4bKx1", ""), udp())
        .unwrap();
    assert_eq!(l.len(), 2, "CANCEL has its own transaction");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default());
    let mut r = req("OPTIONS", "z9hG4bKq", "");
    r.headers.retain(|h| !matches!(h, rsip::Header::Via(_)));
    assert_eq!(
        l.handle_request(t0, r.clone(), udp()),
        Err(TxError::Key(KeyError::NoVia))
    );
    assert!(l.send_request(t0, r, udp()).is_err());
    let ack = req("ACK", "z9hG4bKq", "");
    assert_eq!(l.send_request(t0, ack, udp()), Err(TxError::Ack));
    // A stray response is dropped quietly.
    assert_eq!(
        l.handle_response(t0, resp(200, "OPTIONS", "z9hG4bKnone"), udp()),
        Ok(())
    );
}

proptest::proptest! {
    /// Random interleavings of requests, responses, TU answers and time never panic, and with
    /// no new input every transaction is gone once the longest timer (C) has run.
    #[test]
    fn random_sequences_drain(ops in proptest::collection::vec((0u8..6, 0u8..4, 0u16..7, 0u64..3000), 1..60)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut l = TransactionLayer::new(TimerConfig::default());
        let methods = ["INVITE", "OPTIONS", "REGISTER", "ACK"];
        let codes = [100u16, 180, 200, 302, 404, 486, 503];
        let mut keys = Vec::new();
        for (op, m, c, dt) in ops {
            now += Duration::from_millis(dt);
            let method = methods[m as usize];
            let branch = format!("z9hG4bK{}", m);
            let code = codes[c as usize];
            match op {
                0 => { let _ = l.handle_request(now, req(method, &branch, ""), udp()); }
                1 => { if method != "ACK" { let _ = l.send_request(now, req(method, &format!("{branch}c"), ""), udp()); } }
                2 => { if method != "ACK" { let _ = l.handle_response(now, resp(code, method, &format!("{branch}c")), udp()); } }
                3 => { if let Some(k) = keys.first() { let _ = l.send_response(now, k, resp(code, "INVITE", &branch)); } }
                4 => l.handle_timeout(now),
                _ => { let _ = l.handle_request(now, req(method, &branch, ""), tcp()); }
            }
            while let Some(e) = l.poll_event() {
                if let TxEvent::Request { key, .. } = e { keys.push(key); }
            }
            while l.poll_transmit().is_some() {}
        }
        // Answer whatever the TU still holds, then let time run out.
        for k in &keys { let _ = l.send_response(now, k, resp(500, "INVITE", "z")); }
        // Timer C (181 s) bounds a client INVITE stuck in Proceeding.
        let end = now + Duration::from_secs(182);
        while let Some(t) = l.poll_timeout() {
            if t > end { break; }
            l.handle_timeout(t);
        }
        l.handle_timeout(end);
        // Server INVITE transactions the TU never answered wait for the TU (none left after
        // the answers above); everything else has terminated.
        proptest::prop_assert!(l.is_empty(), "{} transactions left", l.len());
    }
}
