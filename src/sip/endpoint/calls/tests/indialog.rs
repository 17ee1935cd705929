//! Requests inside an established call: re-INVITE glare, OPTIONS, INFO.

use super::*;
use crate::sip::endpoint::calls::Side;

fn hold_offer(ip: &str, port: u16, version: u64) -> String {
    sdp(ip, port, version, "sendonly")
}

#[test]
fn reinvite_glare_gets_491_on_both_sides() {
    let mut h = H::new(cfg());
    h.call_up();
    // The caller puts the call on hold: relayed to the trunk, pending there.
    let hold = hold_offer("192.0.2.7", 40000, 2);
    h.caller_request("INVITE", "", Some(("application/sdp", &hold)));
    let ours = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&ours), ["INVITE"]);
    assert!(ours[0].body().contains("a=sendonly"));
    assert_eq!(kinds(&h.take_sent_to(CALLER)), Vec::<String>::new());

    // Meanwhile the trunk sends its own re-INVITE: one offer/answer at a time, 491.
    let theirs = hold_offer("198.51.100.1", 30000, 2);
    h.trunk_request("INVITE", "", Some(("application/sdp", &theirs)));
    let got = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&got), ["491"]);
    assert_eq!(got[0].cseq_method(), "INVITE");
    assert_eq!(got[0].header("Retry-After"), Some("1"));
    h.assert_quiet();

    // The trunk saw the glare too and refuses ours: the caller hears 491.
    h.trunk_replies(&ours[0], 491, "", None);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["491"]);
    assert_eq!(h.ep.active_calls(), 1);
    // The refused hold never took effect.
    let events = h.take_events();
    assert!(
        !events.iter().any(|e| matches!(e, CallEvent::Held { .. })),
        "{events:?}"
    );
}

#[test]
fn in_dialog_options_and_dtmf_info_are_answered_200() {
    let mut h = H::new(cfg());
    h.call_up();
    h.caller_request("OPTIONS", "", None);
    let got = h.take_sent_to(CALLER);
    assert_eq!(kinds(&got), ["200"]);
    assert_eq!(got[0].cseq_method(), "OPTIONS");
    h.assert_quiet();

    let relay = "Signal=5\r\nDuration=160\r\n";
    h.caller_request("INFO", "", Some(("application/dtmf-relay", relay)));
    let got = h.take_sent_to(CALLER);
    assert_eq!(kinds(&got), ["200"]);
    assert_eq!(got[0].cseq_method(), "INFO");
    // Passed on to the trunk as it came.
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["INFO"]);
    assert_eq!(
        to_trunk[0].header("Content-Type"),
        Some("application/dtmf-relay")
    );
    assert_eq!(to_trunk[0].body(), relay);
    let digits: Vec<(Side, char)> = h
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::Dtmf { side, digit, .. } => Some((side, digit)),
            _ => None,
        })
        .collect();
    assert_eq!(digits, [(Side::A, '5')]);
    h.trunk_replies(&to_trunk[0], 200, "", None);
    h.assert_quiet();
    assert_eq!(h.ep.active_calls(), 1);
}

#[test]
fn an_offer_retried_after_491_is_relayed_again() {
    let mut h = H::new(cfg());
    h.call_up();
    let hold = hold_offer("192.0.2.7", 40000, 2);
    h.caller_request("INVITE", "", Some(("application/sdp", &hold)));
    let first = h.take_sent_to(TRUNK);
    h.trunk_replies(&first[0], 491, "", None);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["491"]);
    h.clear();

    // RFC 3261 §14.1: after a failed re-INVITE the session is as before, so the caller
    // retries the same offer (the same o= version: its previous one never took effect).
    h.caller_request("INVITE", "", Some(("application/sdp", &hold)));
    assert_eq!(
        kinds(&h.take_sent_to(CALLER)),
        Vec::<String>::new(),
        "not answered as a mere refresh"
    );
    let again = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&again), ["INVITE"]);
    assert!(again[0].body().contains("a=sendonly"));
    let answer = sdp("198.51.100.1", 30000, 2, "recvonly");
    h.trunk_replies(&again[0], 200, "", Some(&answer));
    let got = h.take_sent_to(CALLER);
    assert_eq!(kinds(&got), ["200"]);
    assert!(got[0].body().contains("a=recvonly"), "{}", got[0].body());
    let held: Vec<Side> = h
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::Held { by, .. } => Some(by),
            _ => None,
        })
        .collect();
    assert_eq!(held, [Side::A]);
    // The API's view shows it held.
    let now = h.now;
    assert!(h.ep.calls_view(now)[0].held);
}

/// A re-INVITE may not move media to a group address either: refused, the call unchanged.
#[test]
fn a_reinvite_aiming_media_at_multicast_is_refused_with_488() {
    let mut h = H::new(cfg());
    h.call_up();
    let offer = sdp("224.0.0.1", 40000, 2, "sendrecv");
    h.caller_request("INVITE", "", Some(("application/sdp", &offer)));
    let got = h.take_sent_to(CALLER);
    assert_eq!(kinds(&got), ["488"]);
    assert!(got[0]
        .header("Warning")
        .is_some_and(|w| w.starts_with("301")));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), Vec::<String>::new());
    assert_eq!(h.ep.active_calls(), 1);
}
