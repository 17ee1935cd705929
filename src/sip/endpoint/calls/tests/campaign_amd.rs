//! AMD and SIT on campaign calls, on a virtual clock: the test plays the relay (it feeds
//! the `MediaEvent` the detectors would send). An answered lead is held until the verdict;
//! a machine gets the campaign's machine action, a person the queue, a SIT fails the dial.

use super::campaign::{answer, campaign, dial_cfg, dialer_events};
use super::queue::{played, setup, AGENT};
use super::*;
use crate::config::{CampaignConfig, MachineAction};
use crate::dialer::amd::{AmdResult, BeepResult, Cause, Cue, SitCategory, Verdict};
use crate::sip::endpoint::calls::{DialerEventKind, MediaEvent, Side};

fn amd_campaign(action: MachineAction) -> CampaignConfig {
    let mut c = campaign();
    c.amd.enabled = true;
    c.machine_action = action;
    c.machine_message = Some("vm.wav".into());
    c
}

fn verdict(verdict: Verdict, cause: Cause) -> MediaEvent {
    MediaEvent::Amd(AmdResult {
        verdict,
        cause,
        decided_after_ms: 1800,
        words: 3,
        voice_ms: 1600,
    })
}

fn feed(h: &mut H, call: CallRef, ev: MediaEvent) {
    let now = h.now;
    h.ep.handle_media_event(now, call, ev);
    h.collect();
}

/// Dial and answer with AMD on: the relay is asked to analyse, nobody is queued yet.
fn answered(h: &mut H, action: MachineAction) -> CallRef {
    answered_invite(h, action).0
}

fn answered_invite(h: &mut H, action: MachineAction) -> (CallRef, Msg) {
    let (call, invite) = dial_cfg(h, amd_campaign(action));
    answer(h, &invite);
    let outs = h.take_outs();
    let analyze = outs.iter().find_map(|(_, o)| match o {
        Output::Media(MediaCommand::Analyze { call: c, amd, sit }) if *c == call => {
            Some((amd.clone(), *sit))
        }
        _ => None,
    });
    let (amd, sit) = analyze.expect("the relay is asked to analyse side A");
    assert_eq!(amd.map(|a| a.total_analysis_ms), Some(5000));
    assert!(sit, "a SIT after the answer is listened for too");
    assert!(
        !outs.iter().any(|(_, o)| matches!(
            o,
            Output::Dialer(e) if e.kind == DialerEventKind::Answered
        )),
        "not queued before the verdict"
    );
    assert!(h.take_sent_to(AGENT).is_empty(), "no agent rung yet");
    (call, invite)
}

#[test]
fn a_machine_is_hung_up_and_counted_machine_without_a_message() {
    let mut h = setup();
    let call = answered(&mut h, MachineAction::Hangup);
    h.advance(Duration::from_millis(1800));
    assert!(
        h.take_sent_to(TRUNK).is_empty(),
        "held in silence meanwhile"
    );
    feed(&mut h, call, verdict(Verdict::Machine, Cause::LongGreeting));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Machine {
            left_message: false
        }]
    );
    assert!(h.take_sent_to(AGENT).is_empty());
    // The guard timer does nothing once decided.
    h.advance(Duration::from_secs(10));
    assert!(h.take_sent_to(AGENT).is_empty());
    assert!(dialer_events(&mut h).is_empty());
}

/// The machine verdict with action `message`: the relay is asked to wait for the beep,
/// nothing plays and nothing is reported yet.
fn machine_awaiting_beep(h: &mut H) -> (CallRef, Msg) {
    let (call, invite) = answered_invite(h, MachineAction::Message);
    feed(h, call, verdict(Verdict::Machine, Cause::MaxWords));
    let outs = h.take_outs();
    let wait = outs.iter().find_map(|(_, o)| match o {
        Output::Media(MediaCommand::AwaitBeep { call: c, amd }) if *c == call => Some(amd),
        _ => None,
    });
    assert_eq!(
        wait.expect("the relay waits for the beep")
            .message_max_wait_secs,
        20
    );
    assert!(played(&outs).is_empty(), "no message before the beep");
    assert!(!outs.iter().any(|(_, o)| matches!(o, Output::Dialer(_))));
    assert!(h.take_sent_to(TRUNK).is_empty());
    (call, invite)
}

fn message_played(h: &mut H) -> u64 {
    let outs = h.take_outs();
    assert!(played(&outs).contains(&(vec!["vm.wav".to_string()], false)));
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Dialer(e) if e.kind == DialerEventKind::Machine { left_message: true }
    )));
    outs.iter()
        .find_map(|(_, o)| match o {
            Output::Media(MediaCommand::Play { id, .. }) => Some(*id),
            _ => None,
        })
        .expect("a play id")
}

#[test]
fn a_machine_hears_the_message_after_its_beep_then_goodbye() {
    let mut h = setup();
    let (call, _) = machine_awaiting_beep(&mut h);
    h.advance(Duration::from_secs(4));
    feed(
        &mut h,
        call,
        MediaEvent::MessageCue(BeepResult {
            cue: Cue::Beep,
            after_ms: 4000,
            beep_hz: Some(1000.0),
        }),
    );
    let id = message_played(&mut h);
    assert!(h.take_sent_to(TRUNK).is_empty(), "the message plays first");
    feed(&mut h, call, MediaEvent::PlayDone { side: Side::A, id });
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("campaign-machine"));
    // The guard timer does nothing once the message started.
    h.advance(Duration::from_secs(30));
    assert!(played(&h.take_outs()).is_empty());
}

#[test]
fn no_cue_from_the_relay_still_leaves_the_message_after_the_max_wait() {
    let mut h = setup();
    let _ = machine_awaiting_beep(&mut h);
    h.advance(Duration::from_secs(20));
    assert!(played(&h.take_outs()).is_empty());
    h.advance(Duration::from_secs(2));
    message_played(&mut h);
}

#[test]
fn a_machine_hanging_up_before_its_beep_got_no_message() {
    let mut h = setup();
    let (call, invite) = machine_awaiting_beep(&mut h);
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {TRUNK};branch=z9hG4bKbye3\r\n\
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
        [DialerEventKind::Machine {
            left_message: false
        }]
    );
    // A late cue is ignored.
    feed(
        &mut h,
        call,
        MediaEvent::MessageCue(BeepResult {
            cue: Cue::Silence,
            after_ms: 3000,
            beep_hz: None,
        }),
    );
    assert!(played(&h.take_outs()).is_empty());
}

#[test]
fn a_person_joins_the_queue_with_the_reach_time_from_the_verdict() {
    let mut h = setup();
    let call = answered(&mut h, MachineAction::Hangup);
    h.advance(Duration::from_millis(900));
    feed(&mut h, call, verdict(Verdict::Human, Cause::Human));
    assert_eq!(dialer_events(&mut h), [DialerEventKind::Answered]);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["INVITE"]);
    // The lead's verdict rides with its variables (the agent's screen pop).
    let (_, vars) = h.ep.screen_pop(call).expect("a screen pop");
    assert!(vars.contains(&("AMDSTATUS".to_string(), "HUMAN".to_string())));
}

#[test]
fn not_sure_and_a_machine_with_action_agent_both_reach_the_queue() {
    let mut h = setup();
    let call = answered(&mut h, MachineAction::Agent);
    feed(
        &mut h,
        call,
        verdict(Verdict::Machine, Cause::MaxWordLength),
    );
    assert_eq!(dialer_events(&mut h), [DialerEventKind::Answered]);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["INVITE"]);

    let mut h = setup();
    let call = answered(&mut h, MachineAction::Hangup);
    feed(&mut h, call, verdict(Verdict::NotSure, Cause::TooLong));
    assert_eq!(dialer_events(&mut h), [DialerEventKind::Answered]);
    assert!(h.take_sent_to(TRUNK).is_empty());
}

#[test]
fn no_verdict_in_time_queues_the_lead_as_not_sure() {
    let mut h = setup();
    let _ = answered(&mut h, MachineAction::Hangup);
    h.advance(Duration::from_millis(5999));
    assert!(dialer_events(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(dialer_events(&mut h), [DialerEventKind::Answered]);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["INVITE"]);
}

#[test]
fn a_sit_after_the_answer_fails_the_dial_with_its_category() {
    let mut h = setup();
    let call = answered(&mut h, MachineAction::Message);
    feed(
        &mut h,
        call,
        MediaEvent::SitDetected {
            category: SitCategory::VacantCode,
        },
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    let outs = h.take_outs();
    assert!(played(&outs).is_empty(), "no machine message to a SIT");
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Dialer(e) if e.kind == DialerEventKind::Failed { cause: "sit-vc".into() }
    )));
    // A late verdict changes nothing.
    feed(&mut h, call, verdict(Verdict::Machine, Cause::LongGreeting));
    assert!(dialer_events(&mut h).is_empty());
}

#[test]
fn early_media_is_analysed_for_a_sit_which_cancels_the_dial() {
    let mut h = setup();
    let (call, invite) = dial_cfg(&mut h, amd_campaign(MachineAction::Hangup));
    let early = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(&invite, 183, "", Some(&early));
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Remote { call: c, side: Side::A, rtp: Some(a), .. })
            if *c == call && a.port() == 30000
    )));
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Analyze { call: c, amd: None, sit: true }) if *c == call
    )));
    feed(
        &mut h,
        call,
        MediaEvent::SitDetected {
            category: SitCategory::NoCircuit,
        },
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["CANCEL"]);
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Failed {
            cause: "sit-nc".into()
        }]
    );
}

#[test]
fn without_amd_an_answer_is_queued_at_once_and_early_media_not_analysed() {
    let mut h = setup();
    let (_, invite) = dial_cfg(&mut h, campaign());
    let early = sdp("198.51.100.1", 30000, 1, "sendrecv");
    h.trunk_replies(&invite, 183, "", Some(&early));
    answer(&mut h, &invite);
    let outs = h.take_outs();
    assert!(!outs
        .iter()
        .any(|(_, o)| matches!(o, Output::Media(MediaCommand::Analyze { .. }))));
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Dialer(e) if e.kind == DialerEventKind::Answered
    )));
}

#[test]
fn a_lead_whose_campaign_was_removed_during_analysis_is_hung_up_not_left_in_silence() {
    let mut h = setup();
    let call = answered(&mut h, MachineAction::Hangup);
    h.ep.set_campaigns(&[]);
    feed(&mut h, call, verdict(Verdict::Human, Cause::Human));
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["BYE"]);
    assert_eq!(
        dialer_events(&mut h),
        [DialerEventKind::Failed {
            cause: "campaign-removed".into()
        }]
    );
    assert!(h.take_sent_to(AGENT).is_empty());
}

#[test]
fn a_lead_hanging_up_during_analysis_is_a_failure_not_an_abandon() {
    let mut h = setup();
    let (call, invite) = answered_invite(&mut h, MachineAction::Hangup);
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {TRUNK};branch=z9hG4bKbye2\r\n\
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
        [DialerEventKind::Failed {
            cause: "hangup-during-amd".into()
        }]
    );
    // The verdict arriving after the call ended is ignored.
    feed(&mut h, call, verdict(Verdict::Human, Cause::Human));
    assert!(dialer_events(&mut h).is_empty());
    assert!(h.take_sent_to(AGENT).is_empty());
}
