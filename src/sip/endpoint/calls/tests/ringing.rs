//! Before the answer: the ring timeout.

use std::time::Duration;

use super::*;

#[test]
fn ring_timeout_gives_the_caller_480_and_cancels_the_trunk() {
    let mut h = H::new(cfg());
    let start = h.now;
    let invite = h.place_call("");
    h.trunk_replies(&invite, 100, "", None);
    h.trunk_replies(&invite, 180, "", None);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["180"]);

    // Nothing at all until the ring timeout.
    h.step(start + Duration::from_secs(60) - Duration::from_millis(1));
    assert_eq!(kinds(&h.take_sent_to(CALLER)), Vec::<String>::new());
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), Vec::<String>::new());
    assert!(h.take_cdr_ends().is_empty());

    h.step(start + Duration::from_secs(60));
    let to_caller = h.take_sent_to(CALLER);
    assert_eq!(kinds(&to_caller), ["480"]);
    assert_eq!(to_caller[0].at, start + Duration::from_secs(60));
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["CANCEL"]);
    assert_eq!(to_trunk[0].header("Call-ID"), invite.header("Call-ID"));
    assert_eq!(
        to_trunk[0].header("CSeq"),
        invite
            .header("CSeq")
            .map(|c| c.replace("INVITE", "CANCEL"))
            .as_deref()
    );
    let cdrs = h.take_cdr_ends();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].end_cause.as_deref(), Some("no-answer"));
    assert_eq!(cdrs[0].hangup_side.as_deref(), Some("system"));
    assert_eq!(cdrs[0].a_sip_code, Some(480));
    assert_eq!(h.ep.active_calls(), 0);

    // The trunk confirms; its 487 is ACKed by the transaction layer and nothing else follows.
    h.trunk_replies(&to_trunk[0], 200, "", None);
    h.trunk_replies(&invite, 487, "", None);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), Vec::<String>::new());
}
