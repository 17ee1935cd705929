//! Limits and the media driver's reports: max_calls, RTP inactivity.

use super::*;
use crate::sip::endpoint::calls::MediaEvent;

#[test]
fn a_call_beyond_max_calls_gets_503() {
    let mut h = H::new(EndpointConfig {
        max_calls: 1,
        ..cfg()
    });
    h.call_up();
    let got = h.send_authed_invite("a2@caller", "");
    assert_eq!(kinds(&got), ["100", "503"]);
    assert_eq!(got[1].header("Call-ID"), Some("a2@caller"));
    assert_eq!(got[1].header("Retry-After"), Some("5"));
    h.assert_quiet();
    assert_eq!(h.ep.active_calls(), 1);
}

#[test]
fn rtp_timeout_hangs_up_both_sides() {
    let mut h = H::new(cfg());
    h.call_up();
    let call = h.call.expect("media was opened for the call");
    h.advance(std::time::Duration::from_secs(30));
    let now = h.now;
    h.ep.handle_media_event(now, call, MediaEvent::Timeout);
    h.collect();
    let bye_a = h.take_sent_to(CALLER);
    let bye_b = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&bye_a), ["BYE"]);
    assert_eq!(kinds(&bye_b), ["BYE"]);
    let outs = h.take_outs();
    assert!(
        outs.iter().any(
            |(_, o)| matches!(o, Output::Media(MediaCommand::Close { call: c }) if *c == call)
        ),
        "{outs:?}"
    );
    let cdr = outs
        .into_iter()
        .find_map(|(_, o)| match o {
            Output::Cdr(CdrWrite::End(c, cdr)) if c == call => Some(cdr),
            _ => None,
        })
        .expect("the call's CDR is closed");
    assert_eq!(cdr.end_cause.as_deref(), Some("rtp-timeout"));
    assert_eq!(cdr.hangup_side.as_deref(), Some("system"));
    assert_eq!(h.ep.active_calls(), 0);
    // Both BYEs answered: nothing is retransmitted afterwards.
    h.caller_replies(&bye_a[0], 200);
    h.trunk_replies(&bye_b[0], 200, "", None);
    h.advance(std::time::Duration::from_secs(64));
    h.assert_quiet();
}
