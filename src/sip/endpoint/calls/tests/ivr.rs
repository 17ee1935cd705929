//! Calls answered by us for the IVR: the answer, prompts, digits from RTP and SIP INFO,
//! silence, and the exits.

use std::collections::HashMap;

use super::*;
use crate::config::IvrConfig;
use crate::ivr::{Action, Collect, Menu, Menus};
use crate::sip::endpoint::calls::{MediaEvent, Side};

fn ivr_cfg() -> EndpointConfig {
    let mut options = HashMap::new();
    options.insert('9', Action::Hangup);
    options.insert('2', Action::Menu("account".into()));
    options.insert('0', Action::Extension("1002".into()));
    let main = Menu {
        name: "main".into(),
        prompt: "welcome.wav".into(),
        invalid_prompt: Some("invalid.wav".into()),
        timeout: Duration::from_secs(5),
        max_invalid: 1,
        on_failure: Action::Hangup,
        options,
        collect: None,
    };
    let account = Menu {
        name: "account".into(),
        prompt: "account.wav".into(),
        invalid_prompt: None,
        timeout: Duration::from_secs(3),
        max_invalid: 0,
        on_failure: Action::Hangup,
        options: HashMap::new(),
        collect: Some(Collect {
            variable: "account".into(),
            digits: 3,
            terminator: None,
            then: Action::Hangup,
        }),
    };
    let mut menus = HashMap::new();
    menus.insert("main".to_string(), main);
    menus.insert("account".to_string(), account);
    let mut extensions = HashMap::new();
    extensions.insert("500".to_string(), "main".to_string());
    EndpointConfig {
        ivr: IvrConfig {
            menus: Menus { menus },
            extensions,
        },
        ..cfg()
    }
}

/// Dial the IVR: the caller is answered by us at once.
fn enter(h: &mut H) -> CallRef {
    h.dialled = "500".into();
    let got = h.send_authed_invite("a1@caller", "");
    assert_eq!(kinds(&got), ["100", "200"], "answered by us: {got:#?}");
    let ok = &got[1];
    assert!(
        ok.body().contains("m=audio 20000 RTP/AVP 0"),
        "{}",
        ok.body()
    );
    h.a_tag = ok.to_tag();
    h.caller_acks();
    h.assert_quiet();
    h.call.expect("media opened")
}

fn plays(h: &mut H) -> Vec<(Vec<String>, u64)> {
    h.take_outs()
        .into_iter()
        .filter_map(|(_, o)| match o {
            Output::Media(MediaCommand::Play { prompts, id, .. }) => Some((prompts, id)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_ivr_answers_plays_and_hangs_up_on_request() {
    let mut h = H::new(ivr_cfg());
    let call = enter(&mut h);
    let outs = h.take_outs();
    assert!(
        outs.iter()
            .any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { on: false, .. }))),
        "the sides are kept apart: {outs:?}"
    );
    let played: Vec<_> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Media(MediaCommand::Play { prompts, .. }) => Some(prompts.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(played, vec![vec!["welcome.wav".to_string()]]);
    // No timeout while the prompt plays, however long.
    h.advance(Duration::from_secs(30));
    h.assert_quiet();
    assert!(plays(&mut h).is_empty());
    let now = h.now;
    h.ep.handle_media_event(
        now,
        call,
        MediaEvent::Dtmf {
            side: Side::A,
            digit: '9',
            duration_ms: 100,
        },
    );
    h.collect();
    let bye = h.take_sent_to(CALLER);
    assert_eq!(kinds(&bye), ["BYE"]);
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("ivr-hangup"));
    assert_eq!(cdr.callee, "ivr:main");
    assert!(cdr.answer_unix_ms.is_some(), "answered by us");
}

#[test]
fn silence_after_the_prompt_replays_then_fails() {
    let mut h = H::new(ivr_cfg());
    let call = enter(&mut h);
    let (_, id) = plays(&mut h).remove(0);
    let now = h.now;
    h.ep.handle_media_event(now, call, MediaEvent::PlayDone { side: Side::A, id });
    h.collect();
    h.advance(Duration::from_millis(4999));
    assert!(plays(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    let again = plays(&mut h);
    assert_eq!(
        again.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        vec![vec!["invalid.wav".to_string(), "welcome.wav".to_string()]]
    );
    // A PlayDone from the first prompt, arriving late, does not start the timeout.
    let now = h.now;
    h.ep.handle_media_event(now, call, MediaEvent::PlayDone { side: Side::A, id });
    h.collect();
    h.advance(Duration::from_secs(60));
    h.assert_quiet();
    let (_, id2) = again[0];
    let now = h.now;
    h.ep.handle_media_event(
        now,
        call,
        MediaEvent::PlayDone {
            side: Side::A,
            id: id2,
        },
    );
    h.collect();
    h.advance(Duration::from_secs(5));
    // max_invalid = 1 used up: on_failure hangs up.
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
}

#[test]
fn digits_by_sip_info_work_too_and_an_unregistered_extension_ends_the_call() {
    let mut h = H::new(ivr_cfg());
    let _call = enter(&mut h);
    h.clear();
    h.caller_request(
        "INFO",
        "",
        Some(("application/dtmf-relay", "Signal=0\r\nDuration=160\r\n")),
    );
    let got = h.take_sent_to(CALLER);
    assert_eq!(kinds(&got), ["200", "BYE"], "{got:#?}");
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("unavailable"));
}

#[test]
fn collected_digits_leave_through_the_menu_exit() {
    let mut h = H::new(ivr_cfg());
    let call = enter(&mut h);
    let now = h.now;
    for d in ['2', '4', '7', '1'] {
        h.ep.handle_media_event(
            now,
            call,
            MediaEvent::Dtmf {
                side: Side::A,
                digit: d,
                duration_ms: 80,
            },
        );
        h.collect();
    }
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
    // Digits from the callee's side (there is none yet) would not count: only A walks it.
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("ivr-hangup"));
}
