//! Routing steps: widening by level, any-with-skill, overflow, live re-evaluation, max wait.

use super::*;
use crate::acd::config::{StepConfig, Target};
use crate::acd::event::{ExitReason, Output};
use crate::acd::AgentState;

fn step(after: u64, min: Option<u8>, any: bool, overflow: Option<Target>) -> StepConfig {
    StepConfig {
        after_secs: after,
        min_level: min,
        any_with_skill: any,
        overflow,
    }
}

fn vm() -> Target {
    Target::Voicemail {
        mailbox: "900".into(),
    }
}

fn billing() -> H {
    let q = QueueConfig {
        skills: [("billing".to_string(), 8)].into_iter().collect(),
        steps: vec![
            step(30, Some(5), false, None),
            step(60, None, true, None),
            step(120, None, false, Some(vm())),
        ],
        ..QueueConfig::named("billing")
    };
    let agents = vec![
        agent("mid", &[("billing", 6)], &[("billing", 0)]),
        agent("low", &[("billing", 2)], &[("billing", 0)]),
        agent("none", &[("sales", 9)], &[("billing", 0)]),
    ];
    H::new(vec![q], agents)
}

#[test]
fn after_30s_level_5_is_enough() {
    let mut h = billing();
    h.login(&["mid", "low", "none"]);
    h.arrive(1, "billing", 0);
    h.advance(29.9);
    assert!(h.offers().is_empty(), "nobody has billing ≥ 8");
    h.advance(0.1);
    assert_eq!(h.one_offer().agent, h.a("mid"));
}

#[test]
fn after_60s_any_agent_with_the_skill() {
    let mut h = billing();
    h.login(&["low", "none"]);
    h.arrive(1, "billing", 0);
    h.advance(59.0);
    assert!(h.offers().is_empty());
    h.advance(1.0);
    assert_eq!(h.one_offer().agent, h.a("low"));
}

#[test]
fn after_120s_overflow_to_voicemail() {
    let mut h = billing();
    h.login(&["none"]);
    h.arrive(1, "billing", 0);
    h.advance(119.0);
    assert!(!h.out.iter().any(|o| matches!(o, Output::Overflow { .. })));
    h.advance(1.0);
    assert!(h.out.iter().any(|o| *o
        == Output::Overflow {
            call: CallId(1),
            target: vm()
        }));
    assert!(h.events().iter().any(|e| matches!(
        e,
        EventKind::Overflowed {
            wait_ms: 120_000,
            ..
        }
    )));
    assert_eq!(h.e.call_status(CallId(1)), None);
    // the agent who never qualified is untouched
    assert_eq!(h.state("none"), AgentState::Ready);
}

#[test]
fn steps_are_re_evaluated_live_when_agents_change() {
    let mut h = billing();
    h.arrive(1, "billing", 0);
    h.advance(45.0); // stage 1 (≥ 5) reached with nobody logged in
    assert!(h.offers().is_empty());
    h.login(&["low"]); // 2 < 5: still no
    assert!(h.offers().is_empty());
    h.login(&["mid"]); // qualifies at this stage: offered at once
    assert_eq!(h.one_offer().agent, h.a("mid"));
}

#[test]
fn a_ringing_call_reaching_a_step_is_matched_at_the_new_stage_if_the_offer_fails() {
    let mut h = billing();
    h.login(&["mid", "low"]);
    h.arrive(1, "billing", 0);
    h.advance(30.0);
    let o = h.one_offer();
    assert_eq!(o.agent, h.a("mid"));
    h.advance(30.0); // stage 2 while ringing (ring timeout 15 s → RONA at 45 s first)
                     // RONA at 45 s put mid NotReady; at 60 s low qualifies
    assert_eq!(
        h.state("mid"),
        AgentState::NotReady {
            reason: "no-answer".into()
        }
    );
    assert_eq!(h.one_offer().agent, h.a("low"));
}

#[test]
fn max_wait_exits_with_the_timeout_target() {
    let q = QueueConfig {
        max_wait_secs: Some(90),
        timeout_target: Some(vm()),
        ..QueueConfig::named("q")
    };
    let mut h = H::new(vec![q], vec![agent("a", &[], &[("q", 0)])]);
    h.arrive(1, "q", 0);
    h.advance(90.0);
    assert!(h.out.iter().any(|o| *o
        == Output::Exit {
            call: CallId(1),
            reason: ExitReason::Timeout,
            target: Some(vm())
        }));
    assert_eq!(h.e.queue_len(h.q("q")), Some(0));
}

#[test]
fn max_wait_while_ringing_cancels_the_offer() {
    let q = QueueConfig {
        max_wait_secs: Some(10),
        ..QueueConfig::named("q")
    };
    let mut h = H::new(vec![q], vec![agent("a", &[], &[("q", 0)])]);
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    let o = h.one_offer();
    h.advance(10.0);
    assert!(h
        .out
        .iter()
        .any(|x| matches!(x, Output::CancelOffer { offer, .. } if *offer == o.offer)));
    assert_eq!(h.state("a"), AgentState::Ready);
}
