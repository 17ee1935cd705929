//! Hold, resume and blind transfer through the API, on the virtual clock: what the relay is
//! told (bridge gating, music), what goes on the wire (BYE to the old leg, INVITE to the new
//! destination), the events and the CDR.

use super::*;
use crate::media::player::Law;
use crate::media::tones::HOLD;
use crate::sip::endpoint::calls::{CallControlError, Side};

fn uuid(h: &H) -> String {
    let calls = h.ep.calls_view(h.now);
    assert_eq!(calls.len(), 1, "one call up");
    calls[0].id.clone()
}

fn media(outs: &[(Instant, Output)]) -> Vec<MediaCommand> {
    outs.iter()
        .filter_map(|(_, o)| match o {
            Output::Media(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn hold_plays_music_to_the_customer_unbridged_and_resume_bridges_again() {
    let mut h = H::new(cfg());
    h.call_up();
    let id = uuid(&h);
    let call = h.call.expect("media opened");

    assert_eq!(h.ep.hold(h.now, &id, None), Ok(Side::A));
    h.collect();
    let outs = h.take_outs();
    let m = media(&outs);
    assert!(
        m.contains(&MediaCommand::Bridge { call, on: false }),
        "{m:?}"
    );
    assert!(
        m.iter().any(|c| matches!(c, MediaCommand::Play { side: Side::A, prompts, looping: true, law: Law::Pcmu, .. } if prompts == &[HOLD.to_string()])),
        "the caller hears the hold music, looping: {m:?}"
    );
    assert!(
        !m.iter()
            .any(|c| matches!(c, MediaCommand::Play { side: Side::B, .. })),
        "the other side hears silence: {m:?}"
    );
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Event(CallEvent::Held {
            by: Side::A,
            api: true,
            ..
        })
    )));
    // No re-INVITE: media is anchored.
    h.assert_quiet();

    assert_eq!(
        h.ep.hold(h.now, &id, None),
        Err(CallControlError::AlreadyHeld(id.clone()))
    );

    assert_eq!(h.ep.resume(h.now, &id), Ok(Side::A));
    h.collect();
    let outs = h.take_outs();
    let m = media(&outs);
    let stop = m.iter().position(|c| {
        *c == MediaCommand::StopPlay {
            call,
            side: Side::A,
        }
    });
    let bridge = m
        .iter()
        .position(|c| *c == MediaCommand::Bridge { call, on: true });
    assert!(
        matches!((stop, bridge), (Some(s), Some(b)) if s < b),
        "{m:?}"
    );
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Event(CallEvent::Resumed {
            by: Side::A,
            api: true,
            ..
        })
    )));
    assert_eq!(
        h.ep.resume(h.now, &id),
        Err(CallControlError::NotHeld(id.clone()))
    );
    h.assert_quiet();
}

#[test]
fn hold_names_the_side_and_refuses_unknown_and_unanswered_calls() {
    let mut h = H::new(cfg());
    assert_eq!(
        h.ep.hold(h.now, "nope", None),
        Err(CallControlError::NoCall("nope".into()))
    );
    let invite = h.place_call("");
    h.trunk_replies(&invite, 180, "", None);
    let id = uuid(&h);
    assert_eq!(
        h.ep.hold(h.now, &id, None),
        Err(CallControlError::NotConnected(id.clone()))
    );
    assert!(matches!(
        h.ep.transfer(h.now, &id, "0999", None),
        Err(CallControlError::NotConnected(_))
    ));
    let answer = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(&invite, 200, "", Some(&answer));
    h.caller_acks();
    h.clear();
    // The callee side this time: the trunk hears the music.
    assert_eq!(h.ep.hold(h.now, &id, Some(Side::B)), Ok(Side::B));
    h.collect();
    let m = media(&h.take_outs());
    assert!(
        m.iter().any(|c| matches!(
            c,
            MediaCommand::Play {
                side: Side::B,
                looping: true,
                ..
            }
        )),
        "{m:?}"
    );
}

#[test]
fn blind_transfer_to_a_number_byes_the_old_leg_and_rings_the_new_one() {
    let mut h = H::new(cfg());
    h.call_up();
    let id = uuid(&h);
    let call = h.call.expect("media opened");
    let old_invite = h.b_invite.clone().expect("the call reached the trunk");
    h.ep.hold(h.now, &id, None).expect("held");
    h.clear();

    assert_eq!(
        h.ep.transfer(h.now, &id, "no-such-place", None),
        Err(CallControlError::NoTarget("no-such-place".into()))
    );
    assert_eq!(h.ep.transfer(h.now, &id, "0999", None), Ok("number"));
    h.collect();
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["BYE", "INVITE"], "{to_trunk:#?}");
    assert_eq!(to_trunk[0].header("Call-ID"), old_invite.header("Call-ID"));
    let new_invite = to_trunk[1].clone();
    assert_ne!(new_invite.header("Call-ID"), old_invite.header("Call-ID"));
    assert!(
        new_invite
            .text
            .starts_with("INVITE sip:0999@198.51.100.1:5060 "),
        "{}",
        new_invite.text
    );
    // The caller's dialog is untouched (no BYE, no re-INVITE).
    assert!(h.take_sent_to(CALLER).is_empty());
    let outs = h.take_outs();
    let m = media(&outs);
    assert!(
        m.contains(&MediaCommand::StopPlay {
            call,
            side: Side::A
        }),
        "hold music stops: {m:?}"
    );
    assert!(m.iter().any(|c| matches!(c, MediaCommand::Play { side: Side::A, prompts, .. } if prompts == &[crate::sip::endpoint::calls::RINGBACK.to_string()])), "ringback: {m:?}");
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Event(CallEvent::Transferred { target, destination: "number", kind: "blind", .. }) if target == "0999")));
    let journal = outs.iter().find_map(|(_, o)| match o {
        Output::Cdr(CdrWrite::Start(c)) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(journal.and_then(|c| c.transferred_to), Some("0999".into()));

    // The old leg's 200 to BYE changes nothing; the new destination answers.
    h.trunk_replies(&to_trunk[0], 200, "", None);
    h.trunk_replies(&new_invite, 180, "", None);
    let answer = sdp("198.51.100.1", 30002, 1, "sendrecv");
    h.trunk_replies(&new_invite, 200, "", Some(&answer));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    let m = media(&h.take_outs());
    assert!(
        m.contains(&MediaCommand::Bridge { call, on: true }),
        "{m:?}"
    );
    assert!(
        m.iter().any(|c| matches!(c, MediaCommand::Remote { side: Side::B, rtp: Some(a), .. } if a.port() == 30002)),
        "media follows the new leg: {m:?}"
    );

    // The caller hangs up: one CDR, naming the transfer and the last party.
    h.caller_request("BYE", "", None);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    let cdrs = h.take_cdr_ends();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].transferred_to.as_deref(), Some("0999"));
    assert_eq!(cdrs[0].callee, "0999");
    assert_eq!(h.ep.active_calls(), 0);
}

#[test]
fn a_transfer_whose_target_fails_hangs_up_the_caller_with_that_cause() {
    let mut h = H::new(cfg());
    h.call_up();
    let id = uuid(&h);
    h.ep.transfer(h.now, &id, "0999", None)
        .expect("transferred");
    h.collect();
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["BYE", "INVITE"]);
    h.trunk_replies(&to_trunk[1], 486, "", None);
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
    let cdrs = h.take_cdr_ends();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].end_cause.as_deref(), Some("busy"));
    assert_eq!(cdrs[0].transferred_to.as_deref(), Some("0999"));
}

/// A queue caller connected with agent 1002 (the caller's call).
fn agent_call(h: &mut H) -> (CallRef, String) {
    use super::queue::{agent_replies, queue_caller, AGENT};
    let call = queue_caller(h);
    let invite = h.take_sent_to(AGENT).remove(0);
    agent_replies(
        h,
        &invite,
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    h.clear();
    (call, uuid(h))
}

fn acd_kinds(outs: &[(Instant, Output)]) -> Vec<String> {
    outs.iter()
        .filter_map(|(_, o)| match o {
            Output::Acd(ev) => Some(
                format!("{:?}", ev.kind)
                    .split([' ', '{'])
                    .next()?
                    .to_string(),
            ),
            _ => None,
        })
        .collect()
}

#[test]
fn holding_an_agent_call_plays_the_queue_music_and_counts_as_acd_hold() {
    let mut h = super::queue::setup();
    let (call, id) = agent_call(&mut h);
    h.ep.hold(h.now, &id, None).expect("held");
    h.collect();
    let outs = h.take_outs();
    assert!(
        media(&outs).iter().any(|c| matches!(c, MediaCommand::Play { call: c2, side: Side::A, prompts, .. } if *c2 == call && prompts == &["moh.wav".to_string()])),
        "the queue's own music: {:?}",
        media(&outs)
    );
    assert!(
        acd_kinds(&outs).contains(&"Hold".to_string()),
        "{:?}",
        acd_kinds(&outs)
    );
}

#[test]
fn transferring_an_agent_call_back_to_the_queue_ends_the_agent_part_and_requeues() {
    use super::queue::{agent_replies, AGENT};
    let mut h = super::queue::setup();
    let (call, id) = agent_call(&mut h);
    assert_eq!(h.ep.transfer(h.now, &id, "queue:sales", None), Ok("queue"));
    h.collect();
    let bye = h.take_sent_to(AGENT);
    assert_eq!(kinds(&bye), ["BYE"], "the agent's leg is hung up");
    let outs = h.take_outs();
    agent_replies(&mut h, &bye[0], 200, None);
    let acd = acd_kinds(&outs);
    let ended = acd.iter().position(|k| k == "Ended");
    let queued = acd.iter().rposition(|k| k == "Queued");
    assert!(
        matches!((ended, queued), (Some(e), Some(q)) if e < q),
        "the agent's call ends, then the caller queues anew: {acd:?}"
    );
    assert!(
        media(&outs).iter().any(|c| matches!(c, MediaCommand::Play { side: Side::A, prompts, looping: true, .. } if prompts == &["moh.wav".to_string()])),
        "the caller hears the queue's music again"
    );
    // After the agent's wrap-up (5 s), the same caller is offered to them again.
    h.advance(Duration::from_secs(6));
    let to_agent = h.take_sent_to(AGENT);
    let invites: Vec<_> = to_agent
        .iter()
        .filter(|m| m.method() == Some("INVITE"))
        .collect();
    assert!(!invites.is_empty(), "{to_agent:#?}");
    assert!(
        invites
            .iter()
            .all(|m| m.header("Call-ID") == invites[0].header("Call-ID")),
        "one offer (its INVITE retransmitted at most): {to_agent:#?}"
    );
    agent_replies(
        &mut h,
        invites[0],
        200,
        Some(&sdp("192.0.2.50", 41002, 1, "sendrecv")),
    );
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call)));
    h.caller_request("BYE", "", None);
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.transferred_to.as_deref(), Some("queue:sales"));
    assert_eq!(cdr.queue.as_deref(), Some("sales"));
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"));
}

#[test]
fn a_callback_customer_cannot_be_kept_and_a_queue_must_exist() {
    let mut h = super::queue::setup();
    let (_, id) = agent_call(&mut h);
    assert!(matches!(
        h.ep.transfer(h.now, &id, "1001", Some(Side::B)),
        Err(CallControlError::Unsupported { .. })
    ));
    assert_eq!(
        h.ep.transfer(h.now, &id, "queue:nope", None),
        Err(CallControlError::NoTarget("queue:nope".into()))
    );
    // Refusals leave the call as it was.
    assert!(h.take_sent_to(super::queue::AGENT).is_empty());
    assert_eq!(h.ep.active_calls(), 1);
}

#[test]
fn the_old_legs_session_timer_does_not_outlive_it() {
    let mut h = H::new(cfg());
    // The trunk refreshes its leg every 120 s: we would give up on it at 88 s without one.
    h.call_up_with(
        "",
        "Session-Expires: 120;refresher=uas\r\nRequire: timer\r\n",
    );
    let id = uuid(&h);
    h.ep.transfer(h.now, &id, "0999", None)
        .expect("transferred");
    h.collect();
    let to_trunk = h.take_sent_to(TRUNK);
    h.trunk_replies(&to_trunk[0], 200, "", None);
    let answer = sdp("198.51.100.1", 30002, 1, "sendrecv");
    h.trunk_replies(&to_trunk[1], 200, "", Some(&answer));
    h.clear();
    h.advance(Duration::from_secs(200));
    assert_eq!(
        h.ep.active_calls(),
        1,
        "the new leg has no session timer: the call stays"
    );
    assert!(h
        .take_sent_to(CALLER)
        .iter()
        .all(|m| m.method() != Some("BYE")));
}

#[test]
fn no_transfer_while_a_reinvite_is_relayed() {
    let mut h = H::new(cfg());
    h.call_up();
    let id = uuid(&h);
    let hold = sdp("192.0.2.7", 40000, 2, "sendonly");
    h.caller_request("INVITE", "", Some(("application/sdp", &hold)));
    let relayed = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&relayed), ["INVITE"]);
    assert!(matches!(
        h.ep.transfer(h.now, &id, "0999", None),
        Err(CallControlError::Unsupported { .. })
    ));
    // The offer/answer completes as usual, and then the transfer goes through.
    let answer = sdp("198.51.100.1", 30000, 2, "recvonly");
    h.trunk_replies(&relayed[0], 200, "", Some(&answer));
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["200"]);
    assert_eq!(h.ep.transfer(h.now, &id, "0999", None), Ok("number"));
}
