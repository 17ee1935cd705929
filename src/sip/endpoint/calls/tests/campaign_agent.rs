//! Agent-first campaign dials (preview, personal callbacks) on a virtual clock: agent
//! 1002's phone rings first with the auto-answer hint and is kept from ACD offers; once it
//! answers the lead is dialed through the campaign's trunk with its caller ID and bridged;
//! the dialer hears the same steps as for a lead-first dial, `NotDialed` when the agent
//! does not take it, and `Ended` when the connected call is over. The ACD has the agent
//! OnCall from the connect, then in the campaign queue's wrap-up, then Ready.

use super::campaign::{campaign, dialer_events, order};
use super::queue::{agent_replies, setup, AGENT};
use super::*;
use crate::acd::{EventKind, StateKind};
use crate::sip::endpoint::calls::{CampaignDial, DialError, DialerEventKind};

fn agent_kind(h: &H) -> Option<StateKind> {
    h.ep.agent_state("1002").map(|s| s.kind())
}

fn agent_first() -> CampaignDial {
    CampaignDial {
        agent: Some("1002".into()),
        ..order()
    }
}

/// Place the agent-first dial; returns the call and the INVITE agent 1002's phone got.
fn ring_agent(h: &mut H) -> (CallRef, Msg) {
    h.ep.set_campaigns(&[campaign()]);
    let now = h.now;
    let call =
        h.ep.dial_campaign(now, agent_first())
            .expect("the agent is ready and registered");
    h.collect();
    assert!(
        h.take_sent_to(TRUNK).is_empty(),
        "the lead waits for the agent"
    );
    let mut to_agent = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_agent), ["INVITE"], "{to_agent:#?}");
    (call, to_agent.remove(0))
}

fn agent_answers(h: &mut H, ring: &Msg) -> Msg {
    agent_replies(h, ring, 180, None);
    agent_replies(h, ring, 200, Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")));
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    let mut to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["INVITE"], "{to_trunk:#?}");
    to_trunk.remove(0)
}

#[test]
fn the_agent_rings_first_then_the_lead_is_dialed_with_the_campaigns_caller_id_and_bridged() {
    let mut h = setup();
    let (call, ring) = ring_agent(&mut h);
    assert_eq!(
        ring.header("Call-Info"),
        Some("<sip:switchboard>;answer-after=0")
    );
    assert!(
        ring.header("From").unwrap().contains("sip:+15550100@"),
        "the agent sees the lead's number"
    );
    // Reserved: the ACD sees the agent's phone busy, and nothing is reported yet.
    let now = h.now;
    assert!(matches!(
        h.ep.dial_campaign(now, agent_first()),
        Err(DialError::AgentUnavailable { .. })
    ));
    assert!(dialer_events(&mut h).is_empty());

    let lead = agent_answers(&mut h, &ring);
    assert!(lead
        .text
        .starts_with("INVITE sip:+15550100@198.51.100.1:5060 SIP/2.0"));
    assert!(lead.header("From").unwrap().contains("sip:+15551230000@"));
    assert_eq!(dialer_events(&mut h), [DialerEventKind::Dialed]);
    // The lead's fields travel with the call (the agent's screen).
    let (_, vars) = h.ep.screen_pop(call).expect("a screen pop");
    assert_eq!(vars, [("account".to_string(), "A-42".to_string())]);

    h.trunk_replies(&lead, 180, "", None);
    h.trunk_replies(
        &lead,
        200,
        "",
        Some(&sdp("198.51.100.1", 30000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call
    )));
    let steps: Vec<_> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Dialer(e) => Some(e.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            DialerEventKind::Answered,
            DialerEventKind::Connected {
                agent: "1002".into()
            }
        ]
    );
    // Pacing hears `Connected` before the ACD's OnCall (it counts the talk from the dial).
    let connected_at = outs
        .iter()
        .position(|(_, o)| matches!(o, Output::Dialer(e) if matches!(e.kind, DialerEventKind::Connected { .. })));
    let on_call_at = outs.iter().position(|(_, o)| {
        matches!(o, Output::Acd(ev) if matches!(ev.kind, EventKind::AgentState { to: StateKind::OnCall, .. }))
    });
    assert!(
        matches!((connected_at, on_call_at), (Some(c), Some(t)) if c < t),
        "{outs:#?}"
    );
    assert_eq!(agent_kind(&h), Some(StateKind::OnCall));
    // Past the campaign's ring timeout nothing changes: they talk.
    h.advance(Duration::from_secs(30));
    assert!(dialer_events(&mut h).is_empty());

    let uuid = h.ep.acd_call_uuid(call).expect("the call");
    let now = h.now;
    h.ep.hangup(now, &uuid).unwrap();
    h.collect();
    let outs = h.take_outs();
    let ended: Vec<_> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Dialer(e) => Some(e.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ended,
        [DialerEventKind::Ended {
            agent: "1002".into()
        }]
    );
    // The campaign queue's (sales) 5 s wrap-up, then Ready, as after a queue call.
    assert_eq!(agent_kind(&h), Some(StateKind::WrapUp));
    h.advance(Duration::from_secs(4));
    assert_eq!(agent_kind(&h), Some(StateKind::WrapUp));
    h.advance(Duration::from_secs(1));
    assert_eq!(agent_kind(&h), Some(StateKind::Ready));
    let cdr = outs
        .into_iter()
        .find_map(|(_, o)| match o {
            Output::Cdr(CdrWrite::End(_, cdr)) => Some(*cdr),
            _ => None,
        })
        .expect("the CDR");
    assert_eq!(cdr.direction, "campaign");
    assert_eq!(
        (cdr.caller.as_str(), cdr.callee.as_str()),
        ("+15551230000", "+15550100")
    );
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert_eq!(cdr.trunk.as_deref(), Some("carrier"));
}

#[test]
fn an_agent_who_rejects_ends_the_dial_as_not_dialed_and_the_lead_is_never_called() {
    let mut h = setup();
    let (_, ring) = ring_agent(&mut h);
    agent_replies(&mut h, &ring, 603, None);
    assert!(h.take_sent_to(TRUNK).is_empty());
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::NotDialed {
            reason: "agent-rejected".into()
        }]
    );
    // Free again.
    let now = h.now;
    assert!(h.ep.dial_campaign(now, agent_first()).is_ok());
}

#[test]
fn an_agent_who_does_not_answer_is_cancelled_at_the_ring_timeout() {
    let mut h = setup();
    let (_, ring) = ring_agent(&mut h);
    agent_replies(&mut h, &ring, 180, None);
    h.advance(Duration::from_secs(26));
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["CANCEL"]);
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::NotDialed {
            reason: "agent-unanswered".into()
        }]
    );
    assert!(h.take_sent_to(TRUNK).is_empty());
}

#[test]
fn a_busy_lead_is_busy_and_one_that_rings_out_no_answer() {
    let mut h = setup();
    let (_, ring) = ring_agent(&mut h);
    let lead = agent_answers(&mut h, &ring);
    h.trunk_replies(&lead, 486, "", None);
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Dialed, DialerEventKind::Busy]
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["BYE"]);

    let mut h = setup();
    let (_, ring) = ring_agent(&mut h);
    let lead = agent_answers(&mut h, &ring);
    h.trunk_replies(&lead, 180, "", None);
    h.advance(Duration::from_secs(26));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["CANCEL"]);
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Dialed, DialerEventKind::NoAnswer]
    );
}

#[test]
fn an_agent_not_logged_in_is_refused_up_front() {
    let mut h = setup();
    h.ep.set_campaigns(&[campaign()]);
    let now = h.now;
    let order = CampaignDial {
        agent: Some("nobody".into()),
        ..order()
    };
    assert!(matches!(
        h.ep.dial_campaign(now, order),
        Err(DialError::AgentUnavailable {
            why: "not an agent",
            ..
        })
    ));
}
