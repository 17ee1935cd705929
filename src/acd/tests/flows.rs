//! RONA, back-off, wrap-up, callbacks, fairness across queues, join rules, presence, EWT.

use std::time::Duration;

use super::*;
use crate::acd::call::OfferFailure;
use crate::acd::event::{AcdError, ExitReason, Output, StateKind};
use crate::acd::AgentState;

fn one_queue(q: QueueConfig, logins: &[&str]) -> H {
    let name = q.name.clone();
    let agents = logins
        .iter()
        .map(|l| agent(l, &[], &[(&name, 0)]))
        .collect();
    H::new(vec![q], agents)
}

#[test]
fn rona_pauses_the_agent_and_the_caller_keeps_their_place() {
    let mut h = one_queue(QueueConfig::named("q"), &["a", "b"]);
    h.arrive(1, "q", 0);
    h.advance(1.0);
    h.arrive(2, "q", 0);
    h.login(&["a"]);
    let o = h.one_offer();
    assert_eq!(o.call, CallId(1));
    h.advance(14.9);
    assert!(matches!(h.state("a"), AgentState::Offered { .. }));
    h.advance(0.1);
    assert_eq!(
        h.state("a"),
        AgentState::NotReady {
            reason: "no-answer".into()
        }
    );
    assert_eq!(h.e.position(CallId(1)), Some(1), "same place");
    assert!(h.events().iter().any(|e| matches!(
        e,
        EventKind::OfferEnded {
            end: crate::acd::OfferEnd::NoAnswer,
            ring_ms: 15_000,
            ..
        }
    )));
    h.login(&["b"]);
    let o = h.one_offer();
    assert_eq!((o.call, o.agent), (CallId(1), h.a("b")));
    h.answer(o.offer);
    // the original enqueue time counts: 16 s waited
    assert!(h.events().iter().any(|e| matches!(
        e,
        EventKind::Connected {
            wait_ms: 16_000,
            ..
        }
    )));
}

#[test]
fn reject_backs_off_the_agent_but_keeps_them_ready() {
    let mut h = one_queue(QueueConfig::named("q"), &["a"]);
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    let o = h.one_offer();
    h.e.handle_offer_failed(h.now, o.offer, OfferFailure::Rejected)
        .unwrap();
    h.collect();
    assert_eq!(h.state("a"), AgentState::Ready);
    h.advance(9.9);
    assert!(h.offers().is_empty(), "backed off for 10 s");
    h.advance(0.1);
    assert_eq!(h.one_offer().call, CallId(1));
}

#[test]
fn busy_backs_off_and_another_agent_gets_the_call() {
    let mut h = one_queue(QueueConfig::named("q"), &["a", "b"]);
    h.login(&["a", "b"]);
    h.arrive(1, "q", 0);
    let o = h.one_offer();
    assert_eq!(o.agent, h.a("a"));
    h.e.handle_offer_failed(h.now, o.offer, OfferFailure::Busy)
        .unwrap();
    let o2 = h.one_offer();
    assert_eq!(o2.agent, h.a("b"));
    assert_eq!(
        h.e.handle_offer_failed(h.now, o.offer, OfferFailure::Busy),
        Err(AcdError::UnknownOffer)
    );
}

#[test]
fn wrap_up_then_ready_automatically() {
    let q = QueueConfig {
        wrap_up_secs: 30,
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a"]);
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    let o = h.one_offer();
    h.answer(o.offer);
    h.advance(60.0);
    h.end(1);
    assert!(matches!(h.state("a"), AgentState::WrapUp { .. }));
    h.arrive(2, "q", 0);
    h.advance(29.0);
    assert!(h.offers().is_empty());
    h.advance(1.0);
    assert_eq!(h.one_offer().call, CallId(2));
    let wrap = h.events().into_iter().find_map(|e| match e {
        EventKind::AgentState {
            from: StateKind::WrapUp,
            duration_ms,
            ..
        } => Some(duration_ms),
        _ => None,
    });
    assert_eq!(wrap, Some(30_000));
}

#[test]
fn pause_requested_during_a_call_applies_after_wrap_up() {
    let q = QueueConfig {
        wrap_up_secs: 5,
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a"]);
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    let o = h.one_offer();
    h.answer(o.offer);
    let a = h.a("a");
    h.e.handle_agent_not_ready(h.now, a, "break").unwrap();
    assert!(matches!(h.state("a"), AgentState::OnCall { .. }));
    h.end(1);
    h.advance(5.0);
    assert_eq!(
        h.state("a"),
        AgentState::NotReady {
            reason: "break".into()
        }
    );
}

#[test]
fn callbacks_keep_their_place_and_survive_a_restart() {
    let mut h = one_queue(QueueConfig::named("q"), &["a"]);
    for c in 1..=3 {
        h.arrive(c, "q", 0);
        h.advance(1.0);
    }
    let rec = h.e.handle_callback_requested(h.now, CallId(2)).unwrap();
    assert_eq!(rec.enqueued_at_ms, UNIX0 + 1000);
    assert_eq!(h.e.position(CallId(2)), Some(2));
    // persist and restore into a fresh engine: same place ahead of a newer caller
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Saved {
        callbacks: Vec<crate::acd::CallbackRecord>,
    }
    let text = toml::to_string(&Saved {
        callbacks: h.e.callbacks(),
    })
    .unwrap();
    let restored: Saved = toml::from_str(&text).unwrap();
    assert_eq!(restored.callbacks, vec![rec.clone()]);
    h.login(&["a"]);
    let o = h.one_offer();
    assert_eq!((o.call, o.callback), (CallId(1), false));
    h.answer(o.offer);
    h.end(1);
    let o = h.one_offer();
    assert_eq!((o.call, o.callback), (CallId(2), true));

    let mut h2 = one_queue(QueueConfig::named("q"), &["a"]);
    h2.advance(10.0);
    h2.arrive(9, "q", 0); // a new caller at t = 10 s
    h2.e.restore_callback(h2.now, &rec).unwrap();
    assert_eq!(
        h2.e.position(CallId(2)),
        Some(1),
        "restored ahead of the newer caller"
    );
    h2.login(&["a"]);
    let o = h2.one_offer();
    assert_eq!((o.call, o.callback), (CallId(2), true));
}

#[test]
fn callback_requested_while_ringing_cancels_and_reoffers_as_callback() {
    let mut h = one_queue(QueueConfig::named("q"), &["a"]);
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    let o = h.one_offer();
    h.e.handle_callback_requested(h.now, CallId(1)).unwrap();
    h.collect();
    assert!(h
        .out
        .iter()
        .any(|x| matches!(x, Output::CancelOffer { offer, .. } if *offer == o.offer)));
    let o2 = h.one_offer();
    assert_eq!((o2.call, o2.callback), (CallId(1), true));
}

#[test]
fn fairness_across_queues_priority_then_wait_then_weight() {
    let q1 = QueueConfig::named("q1");
    let q2 = QueueConfig {
        weight: 10,
        ..QueueConfig::named("q2")
    };
    let q3 = QueueConfig::named("q3");
    let agents = vec![agent("a", &[], &[("q1", 0), ("q2", 0), ("q3", 0)])];
    let mut h = H::new(vec![q1, q2, q3], agents);
    h.arrive(1, "q1", 0); // oldest, normal priority
    h.advance(5.0);
    h.arrive(2, "q2", 0);
    h.arrive(3, "q3", 0); // same instant as 2, lower-weight queue
    h.advance(1.0);
    h.arrive(4, "q2", 5); // newest but high priority
    h.login(&["a"]);
    let mut order = Vec::new();
    for _ in 0..4 {
        let o = h.one_offer();
        order.push(o.call.0);
        h.answer(o.offer);
        h.end(o.call.0);
    }
    assert_eq!(order, vec![4, 1, 2, 3]);
}

#[test]
fn max_length_refuses_joins() {
    let q = QueueConfig {
        max_len: Some(2),
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a"]);
    h.arrive(1, "q", 0);
    h.arrive(2, "q", 0);
    let q = h.q("q");
    assert_eq!(
        h.e.handle_call_arrived(h.now, CallId(3), q, 0),
        Err(AcdError::QueueFull)
    );
    h.collect();
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, EventKind::JoinRefused { full: true, .. })));
    assert_eq!(
        h.e.handle_call_arrived(h.now, CallId(1), q, 0),
        Err(AcdError::DuplicateCall)
    );
}

#[test]
fn join_empty_off_refuses_when_nobody_is_logged_in() {
    let q = QueueConfig {
        join_empty: false,
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a"]);
    let q = h.q("q");
    assert_eq!(
        h.e.handle_call_arrived(h.now, CallId(1), q, 0),
        Err(AcdError::QueueEmpty)
    );
    // a paused agent still counts as logged in
    h.login(&["a"]);
    let a = h.a("a");
    h.e.handle_agent_not_ready(h.now, a, "break").unwrap();
    assert_eq!(h.e.handle_call_arrived(h.now, CallId(1), q, 0), Ok(1));
}

#[test]
fn leave_when_empty_sends_callers_out_when_the_last_agent_logs_out() {
    let q = QueueConfig {
        leave_when_empty: true,
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a"]);
    h.login(&["a"]);
    let a = h.a("a");
    h.e.handle_agent_not_ready(h.now, a, "x").unwrap();
    h.arrive(1, "q", 0);
    h.e.handle_agent_logout(h.now, a).unwrap();
    h.collect();
    assert!(h.out.iter().any(|o| matches!(
        o,
        Output::Exit {
            reason: ExitReason::Empty,
            ..
        }
    )));
}

#[test]
fn abandon_while_ringing_cancels_the_offer_and_frees_the_agent() {
    let mut h = one_queue(QueueConfig::named("q"), &["a"]);
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    h.arrive(2, "q", 0);
    let o = h.one_offer();
    h.advance(3.0);
    h.e.handle_caller_abandoned(h.now, CallId(1)).unwrap();
    h.collect();
    assert!(h
        .out
        .iter()
        .any(|x| matches!(x, Output::CancelOffer { offer, .. } if *offer == o.offer)));
    assert!(h.events().iter().any(|e| matches!(
        e,
        EventKind::Abandoned {
            wait_ms: 3000,
            position: 1,
            ..
        }
    )));
    assert_eq!(h.one_offer().call, CallId(2));
}

#[test]
fn unreachable_or_busy_elsewhere_agents_get_no_offers() {
    let mut h = one_queue(QueueConfig::named("q"), &["a"]);
    let a = h.a("a");
    h.e.handle_agent_reachable(h.now, a, false).unwrap();
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    assert!(h.offers().is_empty());
    h.e.handle_agent_busy_elsewhere(h.now, a, true).unwrap();
    h.e.handle_agent_reachable(h.now, a, true).unwrap();
    assert!(h.offers().is_empty());
    h.e.handle_agent_busy_elsewhere(h.now, a, false).unwrap();
    let o = h.one_offer();
    // going busy elsewhere while ringing withdraws the offer, the caller stays first
    h.e.handle_agent_busy_elsewhere(h.now, a, true).unwrap();
    h.collect();
    assert!(h
        .out
        .iter()
        .any(|x| matches!(x, Output::CancelOffer { offer, .. } if *offer == o.offer)));
    assert_eq!(h.e.position(CallId(1)), Some(1));
}

#[test]
fn estimated_wait_uses_exact_recent_handle_times_and_staffing() {
    let q = QueueConfig {
        wrap_up_secs: 10,
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a", "b"]);
    h.login(&["a"]);
    for (c, talk) in [(1, 50.0), (2, 110.0)] {
        h.arrive(c, "q", 0);
        let o = h.one_offer();
        h.answer(o.offer);
        h.advance(talk);
        h.end(c);
        h.advance(10.0);
    }
    // handle times 60 s and 120 s → mean 90 s
    h.login(&["b"]);
    let a = h.a("a");
    let b = h.a("b");
    h.e.handle_agent_busy_elsewhere(h.now, a, true).unwrap();
    h.e.handle_agent_busy_elsewhere(h.now, b, true).unwrap();
    for c in 3..=5 {
        h.arrive(c, "q", 0);
    }
    assert_eq!(h.e.position(CallId(5)), Some(3));
    // 3 × 90 s ÷ 2 staffed
    assert_eq!(
        h.e.estimated_wait(h.now, CallId(5)),
        Some(Duration::from_secs(135))
    );
}

#[test]
fn config_errors_are_typed() {
    let cfg = AcdConfig {
        agents: vec![agent("a", &[], &[("nope", 0)])],
        queues: vec![QueueConfig::named("q")],
        ..AcdConfig::default()
    };
    assert!(matches!(
        Engine::new(&cfg, Instant::now(), 0),
        Err(crate::acd::ConfigError::UnknownQueue { .. })
    ));
    let cfg = AcdConfig {
        queues: vec![QueueConfig {
            timeout_target: Some(crate::acd::Target::Queue {
                queue: "gone".into(),
            }),
            ..QueueConfig::named("q")
        }],
        ..AcdConfig::default()
    };
    assert!(matches!(
        Engine::new(&cfg, Instant::now(), 0),
        Err(crate::acd::ConfigError::UnknownTarget { .. })
    ));
    let cfg = AcdConfig {
        queues: vec![QueueConfig {
            skills: [("x".to_string(), 11)].into_iter().collect(),
            ..QueueConfig::named("q")
        }],
        ..AcdConfig::default()
    };
    assert!(matches!(
        Engine::new(&cfg, Instant::now(), 0),
        Err(crate::acd::ConfigError::BadLevel { level: 11, .. })
    ));
}

#[test]
fn logout_while_ringing_withdraws_the_offer_and_the_caller_stays_first() {
    let mut h = one_queue(QueueConfig::named("q"), &["a", "b"]);
    h.login(&["a"]);
    h.arrive(1, "q", 0);
    h.arrive(2, "q", 0);
    let o = h.one_offer();
    let a = h.a("a");
    h.e.handle_agent_logout(h.now, a).unwrap();
    h.collect();
    assert!(h
        .out
        .iter()
        .any(|x| matches!(x, Output::CancelOffer { offer, .. } if *offer == o.offer)));
    assert_eq!(h.state("a"), AgentState::LoggedOut);
    h.login(&["b"]);
    assert_eq!(h.one_offer().call, CallId(1));
}

#[test]
fn ring_all_keeps_ringing_the_others_when_one_rejects() {
    let q = QueueConfig {
        strategy: crate::acd::StrategyKind::RingAll,
        ring_all_cap: 2,
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a", "b"]);
    h.login(&["a", "b"]);
    h.arrive(1, "q", 0);
    let offers = h.offers();
    assert_eq!(offers.len(), 2);
    h.e.handle_offer_failed(h.now, offers[0].offer, OfferFailure::Rejected)
        .unwrap();
    h.collect();
    assert!(h.offers().is_empty(), "no new round while b still rings");
    assert_eq!(
        h.e.call_status(CallId(1)),
        Some(crate::acd::CallStatus::Ringing {
            queue: h.q("q"),
            offers: 1
        })
    );
    h.answer(offers[1].offer);
    assert_eq!(h.state("b"), AgentState::OnCall { call: CallId(1) });
}

#[test]
fn a_restored_callback_resumes_at_the_step_its_age_reached() {
    let q = || QueueConfig {
        skills: [("x".to_string(), 8)].into_iter().collect(),
        steps: vec![crate::acd::StepConfig {
            after_secs: 60,
            min_level: None,
            any_with_skill: true,
            overflow: None,
        }],
        ..QueueConfig::named("q")
    };
    let mut h = H::new(vec![q()], vec![agent("low", &[("x", 2)], &[("q", 0)])]);
    h.arrive(1, "q", 0);
    let rec = h.e.handle_callback_requested(h.now, CallId(1)).unwrap();
    // restart 5 minutes later
    let mut h2 = H::new(vec![q()], vec![agent("low", &[("x", 2)], &[("q", 0)])]);
    h2.advance(300.0);
    h2.e.restore_callback(h2.now, &rec).unwrap();
    h2.login(&["low"]);
    let o = h2.one_offer();
    assert_eq!((o.call, o.callback), (CallId(1), true));
}

#[test]
fn stale_deadlines_are_compacted() {
    let q = QueueConfig {
        max_wait_secs: Some(3600),
        ..QueueConfig::named("q")
    };
    let mut h = one_queue(q, &["a"]);
    h.login(&["a"]);
    for c in 0..3000 {
        h.arrive(c, "q", 0);
        let o = h.one_offer();
        h.answer(o.offer);
        h.end(c);
        h.out.clear();
    }
    // 3000 max-wait and 3000 ring deadlines went stale as the calls were answered; arrivals
    // compacted them whenever they passed the floor of 1024
    assert!(
        h.e.timer_count() <= 1026,
        "{} timers left",
        h.e.timer_count()
    );
}
