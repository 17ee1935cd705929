//! Campaign dials on a virtual clock: the endpoint dials a lead through the trunk (the test
//! plays the carrier and agent 1002's phone); ring timeout, busy, failures after early
//! media, trunk auth, an answer reaching the agent, and an answer nobody takes in time.

use super::queue::{agent_replies, played, setup, setup_idle, AGENT};
use super::*;
use crate::config::{CampaignConfig, MachineAction};
use crate::sip::endpoint::calls::{CampaignDial, DialerEvent, DialerEventKind, MediaEvent, Side};

pub(super) fn campaign() -> CampaignConfig {
    CampaignConfig {
        name: "spring".into(),
        enabled: true,
        pacing: Default::default(),
        trunk: "carrier".into(),
        caller_id: "+15551230000".into(),
        queue: "sales".into(),
        ring_timeout: Duration::from_secs(26),
        reach: Duration::from_secs(2),
        abandon_message: Some("abandon.wav".into()),
        machine_action: MachineAction::Hangup,
        machine_message: None,
        amd: Default::default(),
        leads: Default::default(),
        numbers: Vec::new(),
    }
}

pub(super) fn order() -> CampaignDial {
    CampaignDial {
        campaign: "spring".into(),
        lead_id: 7,
        attempt_id: 70,
        number: "+15550100".into(),
        vars: vec![("account".into(), "A-42".into())],
        agent: None,
    }
}

/// Dial the lead; returns the call and the INVITE the carrier got.
fn dial(h: &mut H) -> (CallRef, Msg) {
    dial_cfg(h, campaign())
}

/// Dial the lead of campaign `cfg` (named "spring").
pub(super) fn dial_cfg(h: &mut H, cfg: CampaignConfig) -> (CallRef, Msg) {
    h.ep.set_campaigns(&[cfg]);
    let now = h.now;
    let call =
        h.ep.dial_campaign(now, order())
            .expect("the dial is placed");
    h.collect();
    let mut to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["INVITE"], "{to_trunk:#?}");
    let invite = to_trunk.remove(0);
    assert!(invite
        .text
        .starts_with("INVITE sip:+15550100@198.51.100.1:5060 SIP/2.0"));
    assert!(invite.header("From").unwrap().contains("sip:+15551230000@"));
    (call, invite)
}

pub(super) fn dialer_events(h: &mut H) -> Vec<DialerEventKind> {
    h.take_outs()
        .into_iter()
        .filter_map(|(_, o)| match o {
            Output::Dialer(DialerEvent {
                kind,
                campaign,
                attempt_id,
                ..
            }) => {
                assert_eq!((campaign.as_str(), attempt_id), ("spring", 70));
                Some(kind)
            }
            _ => None,
        })
        .collect()
}

pub(super) fn answer(h: &mut H, invite: &Msg) {
    h.trunk_replies(invite, 180, "", None);
    let answer = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(invite, 200, "", Some(&answer));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
}

#[test]
fn a_dial_that_rings_out_is_cancelled_and_counted_no_answer() {
    let mut h = setup();
    let (_, invite) = dial(&mut h);
    h.trunk_replies(&invite, 180, "", None);
    h.advance(Duration::from_secs(25));
    assert!(h.take_sent_to(TRUNK).is_empty(), "still ringing at 25 s");
    h.advance(Duration::from_secs(1));
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["CANCEL"], "{to_trunk:#?}");
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Dialed, DialerEventKind::NoAnswer]
    );
    // The carrier's 487 after our CANCEL changes nothing (and is ACKed by the transaction).
    h.trunk_replies(&invite, 487, "", None);
    assert!(dialer_events(&mut h).is_empty());
    assert_eq!(h.ep.active_calls(), 0);
}

/// Pacing's surplus hang-up: CANCEL now and a no-answer, as at the ring timeout; a dial
/// already answered is left alone.
#[test]
fn a_surplus_dial_is_cancelled_and_counted_no_answer() {
    let mut h = setup();
    let (call, invite) = dial(&mut h);
    h.trunk_replies(&invite, 180, "", None);
    h.advance(Duration::from_secs(15));
    assert!(h.take_sent_to(TRUNK).is_empty(), "still ringing at 15 s");
    let now = h.now;
    assert!(h.ep.hang_up_surplus_dial(now, call));
    h.collect();
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["CANCEL"], "{to_trunk:#?}");
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Dialed, DialerEventKind::NoAnswer]
    );
    h.trunk_replies(&to_trunk[0], 200, "", None);
    h.trunk_replies(&invite, 487, "", None);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"], "the 487 is ACKed");
    assert!(dialer_events(&mut h).is_empty());
    assert_eq!(h.ep.active_calls(), 0);
    // Nothing left to hang up, and no second CANCEL at the old ring timeout.
    assert!(!h.ep.hang_up_surplus_dial(now, call));
    h.advance(Duration::from_secs(11));
    let late = h.take_sent_to(TRUNK);
    assert!(late.is_empty(), "{late:#?}");

    let (call, invite) = dial(&mut h);
    answer(&mut h, &invite);
    let now = h.now;
    assert!(
        !h.ep.hang_up_surplus_dial(now, call),
        "an answered dial is no surplus"
    );
    h.collect();
    assert!(h.take_sent_to(TRUNK).is_empty());
}

#[test]
fn an_answer_crossing_our_cancel_is_acked_and_hung_up() {
    let mut h = setup();
    let (_, invite) = dial(&mut h);
    h.trunk_replies(&invite, 180, "", None);
    h.advance(Duration::from_secs(26));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["CANCEL"]);
    let answer = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(&invite, 200, "", Some(&answer));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK", "BYE"]);
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Dialed, DialerEventKind::NoAnswer],
        "still a no-answer: nobody was connected"
    );
}

#[test]
fn busy_is_busy_and_the_cdr_says_so() {
    let mut h = setup();
    let (_, invite) = dial(&mut h);
    h.trunk_replies(&invite, 486, "", None);
    let outs = h.take_outs();
    let kinds_: Vec<_> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Dialer(e) => Some(e.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds_, [DialerEventKind::Dialed, DialerEventKind::Busy]);
    let cdr = outs
        .into_iter()
        .find_map(|(_, o)| match o {
            Output::Cdr(CdrWrite::End(_, c)) => Some(c),
            _ => None,
        })
        .expect("a final CDR");
    assert_eq!(cdr.direction, "campaign");
    assert_eq!(cdr.callee, "+15550100");
    assert_eq!(cdr.end_cause.as_deref(), Some("busy"));
}

#[test]
fn early_media_then_an_error_is_a_failure_with_its_cause() {
    let mut h = setup();
    let (_, invite) = dial(&mut h);
    let early = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(&invite, 183, "", Some(&early));
    h.trunk_replies(&invite, 503, "", None);
    assert_eq!(
        dialer_events(&mut h),
        [
            DialerEventKind::Dialed,
            DialerEventKind::Failed {
                cause: "early-media-503".into()
            }
        ]
    );
}

#[test]
fn the_carriers_challenge_is_answered_with_the_trunks_credentials() {
    let mut h = setup();
    h.ep.reconfigure({
        let mut c = super::queue::queue_cfg();
        c.trunks[0].register = Some(crate::config::TrunkRegister {
            username: "acme".into(),
            password: "secret".into(),
            domain: "carrier".into(),
            expires_secs: 600,
        });
        c
    });
    let (_, invite) = dial(&mut h);
    h.trunk_replies(
        &invite,
        407,
        "Proxy-Authenticate: Digest realm=\"carrier\", nonce=\"n1\", algorithm=MD5\r\n",
        None,
    );
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["ACK", "INVITE"], "{to_trunk:#?}");
    let auth = to_trunk[1]
        .header("Proxy-Authorization")
        .expect("the retry carries our answer");
    assert!(auth.contains("username=\"acme\"") && auth.contains("nonce=\"n1\""));
    // A second challenge is not answered again: the dial fails.
    h.trunk_replies(
        &to_trunk[1],
        407,
        "Proxy-Authenticate: Digest realm=\"carrier\", nonce=\"n2\", algorithm=MD5\r\n",
        None,
    );
    assert_eq!(
        dialer_events(&mut h),
        [
            DialerEventKind::Dialed,
            DialerEventKind::Failed {
                cause: "sip-407".into()
            }
        ]
    );
}

#[test]
fn an_answer_is_queued_and_the_agents_phone_rung_with_auto_answer_then_connected() {
    let mut h = setup();
    let (call, invite) = dial(&mut h);
    answer(&mut h, &invite);
    let mut to_agent = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_agent), ["INVITE"], "{to_agent:#?}");
    let ring = to_agent.remove(0);
    assert_eq!(
        ring.header("Call-Info"),
        Some("<sip:switchboard>;answer-after=0")
    );
    assert_eq!(
        ring.header("Alert-Info"),
        Some("<http://localhost>;info=alert-autoanswer")
    );
    assert!(
        ring.header("From").unwrap().contains("sip:+15550100@"),
        "the agent sees the lead's number"
    );
    // The lead's fields travel to the agent's screen pop.
    let (number, vars) = h.ep.screen_pop(call).expect("a screen pop");
    assert_eq!(number, "+15550100");
    assert_eq!(vars, [("account".to_string(), "A-42".to_string())]);
    h.advance(Duration::from_millis(300));
    agent_replies(
        &mut h,
        &ring,
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call
    )));
    let kinds_: Vec<_> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Dialer(e) => Some(e.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds_,
        [
            DialerEventKind::Dialed,
            DialerEventKind::Answered,
            DialerEventKind::Connected {
                agent: "1002".into()
            }
        ]
    );
    // Past the reach time nothing else happens: the call is with the agent.
    h.advance(Duration::from_secs(5));
    assert!(dialer_events(&mut h).is_empty());
    assert!(h.take_sent_to(TRUNK).is_empty());
}

#[test]
fn we_refresh_the_carriers_session_timer_of_a_long_campaign_call() {
    let mut h = setup();
    let (_, invite) = dial(&mut h);
    let answer = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(
        &invite,
        200,
        "Session-Expires: 120;refresher=uac\r\nRequire: timer\r\n",
        Some(&answer),
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    h.advance(Duration::from_secs(59));
    assert!(h.take_sent_to(TRUNK).is_empty());
    h.advance(Duration::from_secs(1));
    let to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(
        kinds(&to_trunk),
        ["INVITE"],
        "a refresh at half the interval"
    );
    assert!(to_trunk[0]
        .header("Session-Expires")
        .is_some_and(|v| v.starts_with("120")));
}

#[test]
fn an_answer_nobody_takes_within_reach_hears_the_message_and_is_an_abandon() {
    // Nobody is logged in (the queue accepts callers anyway).
    let mut h = setup_idle(super::queue::acd());
    let (call, invite) = dial(&mut h);
    answer(&mut h, &invite);
    h.advance(Duration::from_millis(1999));
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Dialed, DialerEventKind::Answered]
    );
    h.advance(Duration::from_millis(1));
    let outs = h.take_outs();
    assert!(
        played(&outs).contains(&(vec!["abandon.wav".to_string()], false)),
        "{:?}",
        played(&outs)
    );
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Dialer(DialerEvent {
            kind: DialerEventKind::Abandoned,
            ..
        })
    )));
    assert!(h.take_sent_to(TRUNK).is_empty(), "the message plays first");
    let id = outs
        .iter()
        .rev()
        .find_map(|(_, o)| match o {
            Output::Media(MediaCommand::Play { id, .. }) => Some(*id),
            _ => None,
        })
        .expect("a play id");
    let now = h.now;
    h.ep.handle_media_event(now, call, MediaEvent::PlayDone { side: Side::A, id });
    h.collect();
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("campaign-abandoned"));
}

#[test]
fn a_lead_hanging_up_while_waiting_is_an_abandon_and_unknown_campaigns_are_refused() {
    let mut h = setup_idle(super::queue::acd());
    let (_, invite) = dial(&mut h);
    answer(&mut h, &invite);
    // The carrier hangs up (BYE in the dialog the 200 made).
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {TRUNK};branch=z9hG4bKbye1\r\n\
         Max-Forwards: 70\r\nFrom: {};tag=tk\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 5 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        invite.header("To").unwrap(),
        invite.header("From").unwrap(),
        invite.header("Call-ID").unwrap()
    );
    h.trunk_sends(&bye);
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["200"]);
    assert_eq!(
        dialer_events(&mut h),
        [
            DialerEventKind::Dialed,
            DialerEventKind::Answered,
            DialerEventKind::Abandoned
        ]
    );
    let now = h.now;
    let mut bad = order();
    bad.campaign = "nope".into();
    assert_eq!(
        h.ep.dial_campaign(now, bad),
        Err(crate::sip::endpoint::calls::DialError::UnknownCampaign(
            "nope".into()
        ))
    );
}

#[test]
fn a_lead_leaving_the_queue_for_an_extension_rings_it_as_an_extension() {
    let mut h = setup_idle(super::queue::acd_with(|q| {
        q.max_wait_secs = Some(1);
        q.timeout_target = Some(crate::acd::Target::Extension {
            extension: "1002".into(),
        });
    }));
    let (_call, invite) = dial(&mut h);
    answer(&mut h, &invite);
    h.clear();
    h.advance(Duration::from_secs(1));
    let to_ext = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_ext), ["INVITE"], "{to_ext:#?}");
    // An extension's To names it in our domain, not the contact (as a trunk target would).
    let to = to_ext[0].header("To").unwrap();
    assert!(to.contains("<sip:1002@d>"), "{to}");
}
