//! RFC 4028 session timers on the caller's side (the caller is the refresher).

use std::time::Duration;

use super::*;

const TIMER_120: &str = "Supported: timer\r\nSession-Expires: 120\r\n";
/// RFC 4028 §10: the side not refreshing sends BYE at the expiry minus
/// min(32 s, interval/3): 120 − 32.
const GIVE_UP_120: Duration = Duration::from_secs(88);

#[test]
fn no_refresh_from_the_caller_ends_the_call_at_the_session_expiry() {
    let mut h = H::new(cfg());
    let ok = h.answered_with(TIMER_120, "");
    assert_eq!(ok.header("Session-Expires"), Some("120;refresher=uac"));
    assert_eq!(ok.header("Require"), Some("timer"));
    h.caller_acks();
    h.clear();

    h.step(ok.at + GIVE_UP_120 - Duration::from_millis(1));
    h.assert_quiet();
    h.step(ok.at + GIVE_UP_120);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    let cdrs = h.take_cdr_ends();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].end_cause.as_deref(), Some("session-timeout"));
    assert_eq!(cdrs[0].hangup_side.as_deref(), Some("system"));
    assert_eq!(h.ep.active_calls(), 0);
}

#[test]
fn a_refresh_reinvite_from_the_caller_restarts_the_session_timer() {
    let mut h = H::new(cfg());
    let ok = h.answered_with(TIMER_120, "");
    h.caller_acks();
    h.clear();

    h.step(ok.at + Duration::from_secs(60));
    let same = sdp("192.0.2.7", 40000, 1, "sendrecv");
    h.caller_request("INVITE", TIMER_120, Some(("application/sdp", &same)));
    let got = h.take_sent_to(CALLER);
    assert_eq!(kinds(&got), ["200"]);
    assert_eq!(got[0].header("Session-Expires"), Some("120;refresher=uac"));
    assert_eq!(
        got[0].body(),
        ok.body(),
        "a refresh gets the SDP it already has"
    );
    assert!(
        h.take_sent_to(TRUNK).is_empty(),
        "a refresh is not relayed to the trunk"
    );
    h.caller_acks();

    // The first deadline passes harmlessly; the new one is counted from the refresh.
    let refreshed = ok.at + Duration::from_secs(60);
    h.step(refreshed + GIVE_UP_120 - Duration::from_millis(1));
    h.assert_quiet();
    assert_eq!(h.ep.active_calls(), 1);
    h.step(refreshed + GIVE_UP_120);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    assert_eq!(
        h.take_cdr_ends()[0].end_cause.as_deref(),
        Some("session-timeout")
    );
}

#[test]
fn session_expires_below_min_se_gets_422() {
    let mut h = H::new(cfg());
    let got = h.send_authed_invite("a1@caller", "Supported: timer\r\nSession-Expires: 60\r\n");
    assert_eq!(kinds(&got), ["100", "422"]);
    assert_eq!(got[1].header("Min-SE"), Some("90"));
    assert!(h.take_sent_to(TRUNK).is_empty());
    assert_eq!(h.ep.active_calls(), 0);
}

#[test]
fn we_refresh_the_trunk_at_half_its_interval() {
    let mut h = H::new(cfg());
    let ok = h.answered_with(
        "",
        "Session-Expires: 1800;refresher=uac\r\nRequire: timer\r\n",
    );
    h.caller_acks();
    h.clear();
    h.step(ok.at + Duration::from_secs(900) - Duration::from_millis(1));
    assert!(h.take_sent_to(TRUNK).is_empty());
    h.step(ok.at + Duration::from_secs(900));
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["INVITE"]);
    assert_eq!(
        to_trunk[0].header("Session-Expires"),
        Some("1800;refresher=uac")
    );
    assert!(to_trunk[0].body().contains("a=sendrecv"));
    assert!(
        h.take_sent_to(CALLER).is_empty(),
        "the caller's side is not refreshed"
    );
    let answer = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(
        &to_trunk[0],
        200,
        "Session-Expires: 1800;refresher=uac\r\n",
        Some(&answer),
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    // And again half an interval after that refresh.
    h.step(ok.at + Duration::from_secs(1800));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["INVITE"]);
    assert_eq!(h.ep.active_calls(), 1);
}

/// After the caller answered a re-INVITE from the trunk, its refresh repeats that answer's
/// o= version: a refresh, answered here, not a new offer for the trunk.
#[test]
fn a_refresh_repeating_the_callers_last_answer_is_not_relayed() {
    let mut h = H::new(cfg());
    let ok = h.answered_with(TIMER_120, "");
    h.caller_acks();
    h.clear();
    let hold = sdp("198.51.100.1", 30000, 2, "sendonly");
    h.trunk_request("INVITE", "", Some(("application/sdp", &hold)));
    let relayed = h.take_sent_to(CALLER);
    assert_eq!(kinds(&relayed), ["INVITE"]);
    let answer = sdp("192.0.2.7", 40000, 2, "recvonly");
    h.caller_sends(&respond(&relayed[0], 200, "ca", "", Some(&answer)));
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["ACK"]);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["200"]);

    h.step(ok.at + Duration::from_secs(60));
    h.caller_request("INVITE", TIMER_120, Some(("application/sdp", &answer)));
    let got = h.take_sent_to(CALLER);
    assert_eq!(kinds(&got), ["200"]);
    assert_eq!(got[0].header("Session-Expires"), Some("120;refresher=uac"));
    h.assert_quiet();
}

/// The same from the trunk's side: its refresh repeats the answer it gave our re-INVITE.
#[test]
fn a_refresh_repeating_the_trunks_last_answer_is_not_relayed() {
    let mut h = H::new(cfg());
    h.call_up();
    let hold = sdp("192.0.2.7", 40000, 2, "sendonly");
    h.caller_request("INVITE", "", Some(("application/sdp", &hold)));
    let relayed = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&relayed), ["INVITE"]);
    let answer = sdp("198.51.100.1", 30000, 2, "recvonly");
    h.trunk_replies(&relayed[0], 200, "", Some(&answer));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["200"]);

    h.trunk_request("INVITE", "", Some(("application/sdp", &answer)));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["200"]);
    h.assert_quiet();
}
