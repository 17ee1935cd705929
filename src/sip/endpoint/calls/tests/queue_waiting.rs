//! What a waiting caller hears and can do, and the agents' feature codes, on a virtual
//! clock: periodic announcements with the caller's position (music resumes after), the
//! exit key, the maximum wait, a full queue refusing the caller, and *71/*74/*72.

use super::queue::{acd_with, agent_replies, played, queue_caller, setup_idle, AGENT};
use super::*;
use crate::acd::{AgentConfig, MembershipConfig, Target};
use crate::sip::endpoint::acd::AgentRecord;
use crate::sip::endpoint::calls::{MediaEvent, Side};

fn press(h: &mut H, call: CallRef, digit: char) {
    let now = h.now;
    h.ep.handle_media_event(
        now,
        call,
        MediaEvent::Dtmf {
            side: Side::A,
            digit,
            duration_ms: 100,
        },
    );
    h.collect();
}

/// The Play commands in `outs` with their ids.
fn plays(outs: &[(Instant, Output)]) -> Vec<(Vec<String>, bool, u64)> {
    outs.iter()
        .filter_map(|(_, o)| match o {
            Output::Media(MediaCommand::Play {
                prompts,
                looping,
                id,
                ..
            }) => Some((prompts.clone(), *looping, *id)),
            _ => None,
        })
        .collect()
}

fn ends(outs: Vec<(Instant, Output)>) -> Vec<Cdr> {
    outs.into_iter()
        .filter_map(|(_, o)| match o {
            Output::Cdr(CdrWrite::End(_, c)) => Some(*c),
            _ => None,
        })
        .collect()
}

#[test]
fn the_announcement_tells_the_position_then_the_music_resumes() {
    let mut h = setup_idle(acd_with(|q| {
        q.caller.announcement = Some("still-waiting.wav".into());
        q.caller.announce_position = true;
        q.caller.announce_every_secs = 20;
    }));
    let call = queue_caller(&mut h);
    let outs = h.take_outs();
    assert_eq!(
        played(&outs).last(),
        Some(&(vec!["moh.wav".to_string()], true)),
        "music first: {:?}",
        played(&outs)
    );
    h.advance(Duration::from_millis(19_999));
    assert!(played(&h.take_outs()).is_empty(), "no announcement yet");
    h.advance(Duration::from_millis(1));
    let p = plays(&h.take_outs());
    let [(prompts, looping, id)] = &p[..] else {
        panic!("one announcement at 20 s: {p:?}");
    };
    assert_eq!(
        prompts,
        &[
            "still-waiting.wav".to_string(),
            "prompts/position.wav".to_string(),
            "prompts/n1.wav".to_string()
        ]
    );
    assert!(!looping);
    // It played to the end: the music is back.
    let now = h.now;
    h.ep.handle_media_event(
        now,
        call,
        MediaEvent::PlayDone {
            side: Side::A,
            id: *id,
        },
    );
    h.collect();
    assert_eq!(
        played(&h.take_outs()),
        [(vec!["moh.wav".to_string()], true)]
    );
    // And again 20 s after the first.
    h.advance(Duration::from_secs(20));
    let p = played(&h.take_outs());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0[0], "still-waiting.wav");
    assert!(h.take_sent_to(CALLER).is_empty(), "the caller stays");
}

#[test]
fn the_exit_key_takes_the_caller_to_the_exit_extension() {
    let mut h = setup_idle(acd_with(|q| {
        q.caller.exit_key = Some("0".into());
        q.caller.exit_target = Some(Target::Extension {
            extension: "1002".into(),
        });
    }));
    let call = queue_caller(&mut h);
    h.clear();
    // Another key does nothing.
    press(&mut h, call, '5');
    assert!(h.take_sent_to(AGENT).is_empty());
    press(&mut h, call, '0');
    let to_ext = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_ext), ["INVITE"], "{to_ext:#?}");
    assert!(to_ext[0].header("To").unwrap().contains("sip:1002@"));
    let outs = h.take_outs();
    assert!(
        played(&outs).contains(&(
            vec![crate::sip::endpoint::calls::local::RINGBACK.to_string()],
            true
        )),
        "the caller hears ringback: {:?}",
        played(&outs)
    );
    assert!(
        outs.iter().any(|(_, o)| matches!(
            o,
            Output::Acd(ev) if matches!(ev.kind, crate::acd::EventKind::Abandoned { .. })
        )),
        "the engine counts the caller gone: {outs:?}"
    );
    // The extension answers: caller and extension are bridged, no agent on the CDR.
    agent_replies(
        &mut h,
        &to_ext[0],
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    assert!(h.take_outs().iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call
    )));
    h.caller_request("BYE", "", None);
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.callee, "1002");
    assert_eq!(cdr.agent, None);
}

#[test]
fn a_caller_waiting_past_max_wait_goes_to_the_timeout_target() {
    let mut h = setup_idle(acd_with(|q| {
        q.max_wait_secs = Some(30);
        q.timeout_target = Some(Target::Extension {
            extension: "1002".into(),
        });
    }));
    let _call = queue_caller(&mut h);
    h.clear();
    h.advance(Duration::from_millis(29_999));
    assert!(h.take_sent_to(AGENT).is_empty(), "still waiting");
    assert!(h.take_sent_to(CALLER).is_empty());
    h.advance(Duration::from_millis(1));
    let to_ext = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_ext), ["INVITE"], "{to_ext:#?}");
    assert!(to_ext[0].header("To").unwrap().contains("sip:1002@"));
    assert!(
        h.take_sent_to(CALLER).is_empty(),
        "the caller is not hung up"
    );
}

#[test]
fn a_caller_waiting_past_max_wait_without_a_target_is_let_go() {
    let mut h = setup_idle(acd_with(|q| q.max_wait_secs = Some(30)));
    let _call = queue_caller(&mut h);
    h.clear();
    h.advance(Duration::from_millis(29_999));
    assert!(h.take_sent_to(CALLER).is_empty(), "still waiting");
    h.advance(Duration::from_millis(1));
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
    let cdr = ends(h.take_outs()).remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("queue-timeout"));
    assert_eq!(cdr.queue.as_deref(), Some("sales"));
}

#[test]
fn a_full_queue_refuses_the_next_caller() {
    let mut h = setup_idle(acd_with(|q| q.max_len = Some(1)));
    let first = queue_caller(&mut h);
    h.clear();
    // A second caller (another dialog) picks the queue in the IVR too.
    let got = h.send_authed_invite("a2@caller", "");
    assert_eq!(kinds(&got), ["100", "200"]);
    let second = h.call.expect("media opened");
    assert_ne!(second, first);
    h.clear();
    press(&mut h, second, '1');
    let bye = h.take_sent_to(CALLER);
    assert_eq!(kinds(&bye), ["BYE"], "{bye:#?}");
    assert_eq!(bye[0].header("Call-ID"), Some("a2@caller"));
    let cdr = ends(h.take_outs()).remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("queue-full"));
    assert_eq!(h.ep.active_calls(), 1, "the first caller still waits");
}

/// The agents' states the endpoint asked to store.
fn stored(outs: &[(Instant, Output)]) -> Vec<AgentRecord> {
    outs.iter()
        .filter_map(|(_, o)| match o {
            Output::AgentState(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// User 1001 dials `code`; returns what was stored and the prompts played.
fn dial_feature(h: &mut H, call_id: &str, code: &str) -> (Vec<AgentRecord>, Vec<Vec<String>>) {
    h.dialled = code.into();
    let got = h.send_authed_invite(call_id, "");
    assert_eq!(kinds(&got), ["100", "200"], "{code}: {got:#?}");
    let outs = h.take_outs();
    let prompts = played(&outs).into_iter().map(|(p, _)| p).collect();
    (stored(&outs), prompts)
}

#[test]
fn feature_codes_log_in_pause_and_log_out_the_agent_at_their_phone() {
    let mut acd = acd_with(|_| {});
    acd.agents.push(AgentConfig {
        id: "1001".into(),
        name: "Alice".into(),
        skills: Default::default(),
        queues: vec![MembershipConfig {
            queue: "sales".into(),
            penalty: 0,
        }],
    });
    let mut h = setup_idle(acd);
    let rec = |state: &str, reason: Option<&str>, phone: Option<&str>| AgentRecord {
        agent: "1001".into(),
        state: state.into(),
        reason: reason.map(Into::into),
        phone: phone.map(Into::into),
    };
    let (s, p) = dial_feature(&mut h, "f1@caller", "*71");
    assert_eq!(s.last(), Some(&rec("ready", None, Some("1001"))), "{s:?}");
    assert_eq!(p, [vec!["prompts/agent-logged-in.wav".to_string()]]);
    // The confirmation ends: we hang up the feature call.
    let call = h.call.expect("media opened");
    let now = h.now;
    h.ep.handle_media_event(
        now,
        call,
        MediaEvent::PlayDone {
            side: Side::A,
            id: 1,
        },
    );
    h.collect();
    let bye = h.take_sent_to(CALLER);
    assert!(kinds(&bye).contains(&"BYE".to_string()), "{bye:#?}");
    h.clear();
    let (s, p) = dial_feature(&mut h, "f2@caller", "*74lunch");
    assert_eq!(
        s.last(),
        Some(&rec("not-ready", Some("lunch"), Some("1001"))),
        "{s:?}"
    );
    assert_eq!(p, [vec!["prompts/agent-not-ready.wav".to_string()]]);
    let (s, _) = dial_feature(&mut h, "f3@caller", "*74");
    assert_eq!(
        s.last(),
        Some(&rec("not-ready", Some("break"), Some("1001"))),
        "plain *74 is a break: {s:?}"
    );
    let (s, p) = dial_feature(&mut h, "f4@caller", "*72");
    assert_eq!(s.last(), Some(&rec("logged-out", None, None)), "{s:?}");
    assert_eq!(p, [vec!["prompts/agent-logged-out.wav".to_string()]]);
    // Logged out, *73 is refused: nothing stored, the refusal prompt plays.
    let (s, p) = dial_feature(&mut h, "f5@caller", "*73");
    assert!(s.is_empty(), "{s:?}");
    assert_eq!(p, [vec!["prompts/agent-refused.wav".to_string()]]);
}

const DESK: &str = "192.0.2.60:5070";

#[test]
fn the_exit_key_works_while_an_agent_rings_for_the_caller() {
    let acd = acd_with(|q| {
        q.caller.exit_key = Some("0".into());
        q.caller.exit_target = Some(Target::Extension {
            extension: "1004".into(),
        });
    });
    let mut h = with_desk(acd);
    let call = queue_caller(&mut h);
    let invite = h.take_sent_to(AGENT);
    assert_eq!(kinds(&invite), ["INVITE"], "the agent rings");
    agent_replies(&mut h, &invite[0], 180, None);
    h.clear();
    press(&mut h, call, '0');
    assert_eq!(
        kinds(&h.take_sent_to(AGENT)),
        ["CANCEL"],
        "the agent's phone stops ringing"
    );
    let to_desk = h.take_sent_to(DESK);
    assert_eq!(kinds(&to_desk), ["INVITE"], "the exit extension rings");
    // The agent's phone confirms the cancel: that does not end the caller's new leg.
    agent_replies(&mut h, &invite[0], 487, None);
    assert!(h.take_sent_to(CALLER).is_empty(), "the caller stays");
    respond_from(&mut h, DESK, &to_desk[0], 200);
    assert_eq!(kinds(&h.take_sent_to(DESK)), ["ACK"]);
    assert!(h.take_outs().iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call
    )));
    h.caller_request("BYE", "", None);
    assert_eq!(kinds(&h.take_sent_to(DESK)), ["BYE"]);
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.callee, "1004");
    assert_eq!(cdr.agent, None);
}

fn respond_from(h: &mut H, from: &str, req: &Msg, code: u16) {
    let resp = respond(
        req,
        code,
        "dk",
        &format!("Contact: <sip:1004@{from}>\r\n"),
        Some(&sdp("192.0.2.60", 42000, 1, "sendrecv")),
    );
    let now = h.now;
    h.ep.handle_message(now, resp.as_bytes(), Peer::udp(addr(from)));
    h.collect();
}

/// `acd`'s endpoint with a desk phone 1004 registered at DESK, and agent 1002 ready at
/// their phone.
fn with_desk(acd: crate::acd::AcdConfig) -> H {
    let mut h = super::queue::setup_idle_with(acd, |c| {
        c.users.insert(
            "1004".into(),
            crate::sip::auth::UserCredentials {
                password: Some("pw4".into()),
                ..Default::default()
            },
        );
    });
    super::queue::register(&mut h, "1004", "pw4", DESK);
    let now = h.now;
    h.ep.restore_agent(
        now,
        &AgentRecord {
            agent: "1002".into(),
            state: "ready".into(),
            reason: None,
            phone: Some("1002".into()),
        },
    );
    h.collect();
    h.clear();
    h
}

#[test]
fn max_wait_during_an_offer_stops_the_agent_phone_and_rings_the_timeout_target() {
    let mut h = with_desk(acd_with(|q| {
        q.ring_timeout_secs = 60;
        q.max_wait_secs = Some(30);
        q.timeout_target = Some(Target::Extension {
            extension: "1004".into(),
        });
    }));
    let call = queue_caller(&mut h);
    let invite = h.take_sent_to(AGENT);
    assert_eq!(kinds(&invite), ["INVITE"], "the agent rings");
    agent_replies(&mut h, &invite[0], 180, None);
    h.clear();
    h.advance(Duration::from_secs(30));
    assert_eq!(
        kinds(&h.take_sent_to(AGENT)),
        ["CANCEL"],
        "the agent's phone stops ringing at the max wait"
    );
    let to_desk = h.take_sent_to(DESK);
    assert_eq!(kinds(&to_desk), ["INVITE"], "the timeout target rings");
    // The desk rings (no CANCEL for it), the agent's phone confirms its cancel.
    let ringing = respond(
        &to_desk[0],
        180,
        "dk",
        &format!("Contact: <sip:1004@{DESK}>\r\n"),
        None,
    );
    let now = h.now;
    h.ep.handle_message(now, ringing.as_bytes(), Peer::udp(addr(DESK)));
    h.collect();
    assert!(h.take_sent_to(DESK).is_empty(), "the desk is not cancelled");
    agent_replies(&mut h, &invite[0], 487, None);
    assert!(h.take_sent_to(CALLER).is_empty(), "the caller stays");
    respond_from(&mut h, DESK, &to_desk[0], 200);
    assert_eq!(kinds(&h.take_sent_to(DESK)), ["ACK"]);
    assert!(h.take_outs().iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call
    )));
}
