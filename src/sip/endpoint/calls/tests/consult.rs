//! Attended transfer on the virtual clock: the trunk plays the agent's leg (the call's B
//! side) and, under another Call-ID, the consulted target. Checked: who gets which
//! (re-)INVITE with which port, the relay commands, the final dialogs and the CDRs.

use super::*;
use crate::sip::endpoint::calls::{CallControlError, Side};

fn port_of(sdp_body: &str) -> u16 {
    sdp_body
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no m=audio in {sdp_body}"))
}

struct Up {
    h: H,
    id: String,
    call: CallRef,
    agent_call_id: String,
    consult: CallRef,
    consult_call_id: String,
    target_invite: Msg,
}

/// A call up, then StartConsult to 0999 (also at the trunk), answered by the target; the
/// agent's leg has accepted its move.
fn consulting() -> Up {
    let mut h = H::new(cfg());
    h.call_up();
    let id = h.ep.calls_view(h.now)[0].id.clone();
    let call = h.call.expect("media opened");
    let agent_call_id = h
        .b_invite
        .clone()
        .unwrap()
        .header("Call-ID")
        .unwrap()
        .to_string();
    let consult_id = h.ep.start_consult(h.now, &id, "0999").expect("consulting");
    h.collect();
    let outs = h.take_outs();
    let consult = outs
        .iter()
        .find_map(|(_, o)| match o {
            Output::Media(MediaCommand::Open { call: c, .. }) if *c != call => Some(*c),
            _ => None,
        })
        .expect("the consult call has its own relay");
    let music = outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Play { call: c, side: Side::A, looping: true, .. }) if *c == call));
    let ringback = outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Play { call: c, side: Side::B, prompts, .. }) if *c == call && prompts[0] == crate::sip::endpoint::calls::RINGBACK));
    assert!(
        music && ringback,
        "the customer hears music, the agent ringback"
    );
    let sent = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&sent), ["INVITE"]);
    let target_invite = sent[0].clone();
    let consult_call_id = target_invite.header("Call-ID").unwrap().to_string();
    assert_ne!(consult_call_id, agent_call_id);
    assert!(target_invite.text.starts_with("INVITE sip:0999@"));
    assert!(
        target_invite.body().contains("RTP/AVP 0 101"),
        "only the call's codec is offered: {}",
        target_invite.body()
    );
    assert_eq!(
        h.ep.complete_transfer(h.now, &id).unwrap_err(),
        CallControlError::ConsultNotReady {
            call: id.clone(),
            why: "the target has not answered yet, or a join is already in progress"
        }
    );

    // The target answers: the agent's leg is re-INVITEd onto the consult call's port.
    h.trunk_replies(
        &target_invite,
        200,
        "",
        Some(&sdp("198.51.100.1", 30004, 1, "sendrecv")),
    );
    let sent = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&sent), ["ACK", "INVITE"], "{sent:#?}");
    let move_agent = sent[1].clone();
    assert_eq!(move_agent.header("Call-ID"), Some(agent_call_id.as_str()));
    let consult_ports = port_of(move_agent.body());
    h.clear();
    h.trunk_replies(
        &move_agent,
        200,
        "",
        Some(&sdp("198.51.100.1", 30000, 2, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { call: c, on: true }) if *c == consult)), "agent and target talk");
    assert!(
        outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::HandOver { from, side: Side::B, to, to_side: Side::B }) if *from == call && *to == consult)),
        "the agent's stream state moves along: {outs:?}"
    );
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Remote { call: c, side: Side::B, rtp: Some(a), .. }) if *c == consult && a.port() == 30000)));
    assert!(
        !outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { call: c, on: true }) if *c == call)),
        "the customer stays held"
    );
    assert_ne!(consult_ports, 0);
    let _ = consult_id;
    Up {
        h,
        id,
        call,
        agent_call_id,
        consult,
        consult_call_id,
        target_invite,
    }
}

#[test]
fn complete_moves_the_target_onto_the_customers_call_and_byes_the_agent() {
    let Up {
        mut h,
        id,
        call,
        agent_call_id,
        consult,
        consult_call_id,
        ..
    } = consulting();
    h.ep.complete_transfer(h.now, &id).expect("completing");
    h.collect();
    let sent = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&sent), ["INVITE"], "{sent:#?}");
    assert_eq!(sent[0].header("Call-ID"), Some(consult_call_id.as_str()));
    let customer_b_port = port_of(sent[0].body());
    h.trunk_replies(
        &sent[0],
        200,
        "",
        Some(&sdp("198.51.100.1", 30004, 2, "sendrecv")),
    );
    let sent = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&sent), ["ACK", "BYE"], "{sent:#?}");
    assert_eq!(
        sent[1].header("Call-ID"),
        Some(agent_call_id.as_str()),
        "the agent's leg"
    );
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { call: c, on: true }) if *c == call)));
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Remote { call: c, side: Side::B, rtp: Some(a), .. }) if *c == call && a.port() == 30004)));
    assert!(outs.iter().any(
        |(_, o)| matches!(o, Output::Media(MediaCommand::Close { call: c }) if *c == consult)
    ));
    let handover = outs.iter().position(|(_, o)| matches!(o, Output::Media(MediaCommand::HandOver { from, side: Side::A, to, to_side: Side::B }) if *from == consult && *to == call));
    let close = outs.iter().position(
        |(_, o)| matches!(o, Output::Media(MediaCommand::Close { call: c }) if *c == consult),
    );
    assert!(
        matches!((handover, close), (Some(h), Some(c)) if h < c),
        "the target's stream state moves before its relay closes"
    );
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Event(CallEvent::Transferred {
            kind: "attended",
            ..
        })
    )));
    let ended: Vec<_> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Cdr(CdrWrite::End(_, c)) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ended.len(), 1, "only the consult call's CDR ends");
    assert_eq!(ended[0].end_cause.as_deref(), Some("transferred"));
    assert_ne!(customer_b_port, 0);
    assert_eq!(h.ep.active_calls(), 1);

    // The customer hangs up: the BYE goes to the target in the moved dialog, and the
    // customer's CDR names the transfer.
    h.trunk_replies(&sent[1], 200, "", None);
    h.clear();
    h.caller_request("BYE", "", None);
    let sent = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&sent), ["BYE"]);
    assert_eq!(sent[0].header("Call-ID"), Some(consult_call_id.as_str()));
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.transferred_to.as_deref(), Some("0999"));
    assert_eq!(cdr.callee, "0999");
    assert_eq!(cdr.b_call_id.as_deref(), Some(consult_call_id.as_str()));
    assert_eq!(h.ep.active_calls(), 0);
    let _ = id;
}

#[test]
fn cancel_hangs_up_the_target_and_moves_the_agent_back() {
    let Up {
        mut h,
        id,
        call,
        agent_call_id,
        consult_call_id,
        ..
    } = consulting();
    h.ep.cancel_consult(h.now, &id).expect("cancelled");
    h.collect();
    let sent = h.take_sent_to(TRUNK);
    let byes: Vec<_> = sent.iter().filter(|m| m.method() == Some("BYE")).collect();
    let invites: Vec<_> = sent
        .iter()
        .filter(|m| m.method() == Some("INVITE"))
        .collect();
    assert_eq!(byes.len(), 1, "{sent:#?}");
    assert_eq!(byes[0].header("Call-ID"), Some(consult_call_id.as_str()));
    assert_eq!(invites.len(), 1, "{sent:#?}");
    assert_eq!(invites[0].header("Call-ID"), Some(agent_call_id.as_str()));
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { call: c, on: true }) if *c == call)), "customer and agent again");
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::HandOver { to, side: Side::B, to_side: Side::B, .. }) if *to == call)), "the agent's stream comes back");
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::StopPlay { call: c, side: Side::A }) if *c == call)));
    let back = invites[0].clone();
    h.trunk_replies(
        &back,
        200,
        "",
        Some(&sdp("198.51.100.1", 30000, 3, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    assert_eq!(h.ep.active_calls(), 1);
    assert_eq!(
        h.ep.cancel_consult(h.now, &id),
        Err(CallControlError::NoConsult(id.clone()))
    );
    // The call goes on: a transfer is possible again.
    assert_eq!(h.ep.transfer(h.now, &id, "0888", None), Ok("number"));
}

#[test]
fn a_target_that_does_not_answer_gives_the_customer_back() {
    let mut h = H::new(cfg());
    h.call_up();
    let id = h.ep.calls_view(h.now)[0].id.clone();
    let call = h.call.expect("media opened");
    h.ep.start_consult(h.now, &id, "0999").expect("consulting");
    h.collect();
    let sent = h.take_sent_to(TRUNK);
    h.clear();
    h.trunk_replies(&sent[0], 486, "", None);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { call: c, on: true }) if *c == call)));
    assert_eq!(h.ep.active_calls(), 1);
    assert_eq!(
        h.ep.complete_transfer(h.now, &id),
        Err(CallControlError::NoConsult(id.clone()))
    );
    // CancelConsult while ringing sends CANCEL.
    h.ep.start_consult(h.now, &id, "0999")
        .expect("consulting again");
    h.collect();
    let invite = h.take_sent_to(TRUNK).remove(0);
    h.trunk_replies(&invite, 180, "", None);
    h.ep.cancel_consult(h.now, &id).expect("cancel");
    h.collect();
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["CANCEL"]);
    h.trunk_replies(&invite, 487, "", None);
    assert_eq!(
        h.ep.active_calls(),
        1,
        "the consult call is gone, the customer's stays"
    );
}

#[test]
fn a_target_hanging_up_mid_consultation_gives_the_agent_back() {
    let Up {
        mut h,
        id,
        call,
        agent_call_id,
        target_invite,
        ..
    } = consulting();
    h.b_invite = Some(target_invite);
    h.trunk_request("BYE", "", None);
    let sent = h.take_sent_to(TRUNK);
    let back: Vec<_> = sent
        .iter()
        .filter(|m| m.method() == Some("INVITE"))
        .collect();
    assert_eq!(back.len(), 1, "the agent is moved back: {sent:#?}");
    assert_eq!(back[0].header("Call-ID"), Some(agent_call_id.as_str()));
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { call: c, on: true }) if *c == call)));
    assert_eq!(h.ep.active_calls(), 1);
    assert_eq!(
        h.ep.complete_transfer(h.now, &id),
        Err(CallControlError::NoConsult(id.clone()))
    );
}
