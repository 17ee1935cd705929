//! The answer: 2xx retransmission to the caller until the ACK (RFC 3261 §13.3.1.4).

use std::time::Duration;

use super::*;

#[test]
fn unacknowledged_200_is_resent_at_t1_doubling_to_t2_then_the_call_is_hung_up() {
    let mut h = H::new(cfg());
    let ok = h.answered_with("", "");
    let t = ok.at;
    h.step(t + T1 * 64 - Duration::from_millis(1));
    let resent = h.take_sent_to(CALLER);
    assert!(
        resent.iter().all(|m| m.text == ok.text),
        "the same 200 each time"
    );
    let offsets: Vec<Duration> = resent.iter().map(|m| m.at - t).collect();
    // T1, then doubling (1, 2 s) up to T2 = 4 s between sends.
    let mut expected = Vec::new();
    let (mut at, mut gap) = (Duration::ZERO, T1);
    while at + gap < T1 * 64 {
        at += gap;
        expected.push(at);
        gap = (gap * 2).min(T2);
    }
    assert_eq!(offsets, expected);
    assert_eq!(
        expected[..5],
        [500, 1500, 3500, 7500, 11500].map(Duration::from_millis)
    );
    assert!(h.take_sent_to(TRUNK).is_empty());
    assert!(h.take_cdr_ends().is_empty());

    // 64·T1 without an ACK: the dialog is dead; BYE both ways.
    h.step(t + T1 * 64);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
    let cdrs = h.take_cdr_ends();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].end_cause.as_deref(), Some("no-ack"));
    assert_eq!(cdrs[0].hangup_side.as_deref(), Some("system"));
    assert_eq!(h.ep.active_calls(), 0);
}

#[test]
fn ack_after_one_retransmission_stops_them() {
    let mut h = H::new(cfg());
    let ok = h.answered_with("", "");
    h.step(ok.at + T1);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["200"]);
    h.advance(Duration::from_millis(200));
    h.caller_acks();
    h.advance(Duration::from_secs(120));
    h.assert_quiet();
    assert!(h.take_cdr_ends().is_empty());
    assert_eq!(h.ep.active_calls(), 1);
}
