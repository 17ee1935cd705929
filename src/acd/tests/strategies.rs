//! One test per strategy: which ready agent a new caller gets.

use super::*;
use crate::acd::config::StrategyKind;
use crate::acd::event::Output;

fn queue(strategy: StrategyKind) -> QueueConfig {
    QueueConfig {
        strategy,
        ..QueueConfig::named("q")
    }
}

fn three(strategy: StrategyKind) -> H {
    let agents = ["a", "b", "c"]
        .iter()
        .map(|id| agent(id, &[], &[("q", 0)]))
        .collect();
    H::new(vec![queue(strategy)], agents)
}

/// Log in a, b, c one second apart (so a has been idle longest).
fn staggered(h: &mut H) {
    for l in ["a", "b", "c"] {
        h.login(&[l]);
        h.advance(1.0);
    }
}

fn serve(h: &mut H, call: u64, talk: f64) -> AgentId {
    h.arrive(call, "q", 0);
    let o = h.one_offer();
    h.answer(o.offer);
    h.advance(talk);
    h.end(call);
    o.agent
}

#[test]
fn longest_idle_picks_the_agent_idle_longest() {
    let mut h = three(StrategyKind::LongestIdle);
    staggered(&mut h);
    assert_eq!(serve(&mut h, 1, 5.0), h.a("a"));
    // a is idle again but only just: b has waited longest now
    assert_eq!(serve(&mut h, 2, 5.0), h.a("b"));
    assert_eq!(serve(&mut h, 3, 5.0), h.a("c"));
    assert_eq!(serve(&mut h, 4, 5.0), h.a("a"));
}

#[test]
fn round_robin_continues_after_the_last_agent_offered() {
    let mut h = three(StrategyKind::RoundRobin);
    h.login(&["c", "b", "a"]); // login order must not matter: member order does
    assert_eq!(serve(&mut h, 1, 1.0), h.a("a"));
    assert_eq!(serve(&mut h, 2, 1.0), h.a("b"));
    // a is free and idle longer than c, but round-robin goes on to c, then wraps
    assert_eq!(serve(&mut h, 3, 1.0), h.a("c"));
    assert_eq!(serve(&mut h, 4, 1.0), h.a("a"));
    // memory survives an agent missing: b paused, so a → c
    let b = h.a("b");
    h.e.handle_agent_not_ready(h.now, b, "lunch").unwrap();
    assert_eq!(serve(&mut h, 5, 1.0), h.a("c"));
}

#[test]
fn fewest_calls_prefers_the_least_loaded() {
    let mut h = three(StrategyKind::FewestCalls);
    h.login(&["a"]);
    serve(&mut h, 1, 1.0);
    serve(&mut h, 2, 1.0);
    h.login(&["b", "c"]);
    h.advance(10.0);
    // a has been idle longest, but has 2 calls; b and c have 0 (tie → idle longest → b)
    assert_eq!(serve(&mut h, 3, 1.0), h.a("b"));
    assert_eq!(serve(&mut h, 4, 1.0), h.a("c"));
}

#[test]
fn least_talk_time_prefers_who_talked_least() {
    let mut h = three(StrategyKind::LeastTalkTime);
    h.login(&["a", "b"]);
    assert_eq!(serve(&mut h, 1, 100.0), h.a("a"));
    assert_eq!(serve(&mut h, 2, 10.0), h.a("b"));
    h.advance(1.0);
    // a idle longer but 100 s of talk vs b's 10 s
    assert_eq!(serve(&mut h, 3, 1.0), h.a("b"));
}

#[test]
fn best_fit_weighs_proficiency_idle_time_and_load() {
    let q = QueueConfig {
        skills: [("billing".to_string(), 1)].into_iter().collect(),
        ..queue(StrategyKind::BestFit)
    };
    let agents = vec![
        agent("novice", &[("billing", 3)], &[("q", 0)]),
        agent("expert", &[("billing", 9)], &[("q", 0)]),
    ];
    let mut h = H::new(vec![q], agents);
    h.login(&["novice"]);
    h.advance(500.0);
    h.login(&["expert"]);
    // Score = 100 × P + idle − 30 × L. Novice idle since 0, expert since each call end.
    // call 1 (t=500): expert 900 + 0 − 0 vs novice 300 + 500 → expert
    // call 2 (t=501): 900 − 30 vs 801 → expert; call 3 (t=502): 900 − 60 vs 802 → expert
    // call 4 (t=503): 900 − 90 = 810 vs 803 → expert; call 5 (t=504): 780 vs 804 → novice
    let picks: Vec<_> = (1..=5).map(|c| serve(&mut h, c, 1.0)).collect();
    let (n, e) = (h.a("novice"), h.a("expert"));
    assert_eq!(picks, vec![e, e, e, e, n]);
}

#[test]
fn ring_all_rings_up_to_the_cap_and_first_answer_wins() {
    let q = QueueConfig {
        ring_all_cap: 2,
        ..queue(StrategyKind::RingAll)
    };
    let agents = ["a", "b", "c"]
        .iter()
        .map(|id| agent(id, &[], &[("q", 0)]))
        .collect();
    let mut h = H::new(vec![q], agents);
    staggered(&mut h);
    h.arrive(1, "q", 0);
    let offers = h.offers();
    let ringing: Vec<_> = offers.iter().map(|o| o.agent).collect();
    assert_eq!(
        ringing,
        vec![h.a("a"), h.a("b")],
        "cap 2, longest idle first"
    );
    h.answer(offers[1].offer);
    assert!(h
        .out
        .iter()
        .any(|o| matches!(o, Output::CancelOffer { offer, .. } if *offer == offers[0].offer)));
    assert_eq!(h.state("a"), crate::acd::AgentState::Ready);
    assert_eq!(
        h.state("b"),
        crate::acd::AgentState::OnCall { call: CallId(1) }
    );
    // the loser is free at once and rings (with c) for the next caller
    h.arrive(2, "q", 0);
    let next: Vec<_> = h.offers().iter().map(|o| o.agent).collect();
    assert_eq!(next, vec![h.a("a"), h.a("c")]);
}

#[test]
fn ring_all_with_one_agent_free_at_a_time_uses_the_freed_agent() {
    let q = QueueConfig {
        ring_all_cap: 3,
        ..queue(StrategyKind::RingAll)
    };
    let mut h = H::new(vec![q], vec![agent("a", &[], &[("q", 0)])]);
    h.arrive(1, "q", 0);
    assert!(h.offers().is_empty());
    h.login(&["a"]);
    assert_eq!(h.one_offer().agent, h.a("a"));
}

#[test]
fn lower_penalty_is_offered_first() {
    let agents = vec![agent("a", &[], &[("q", 5)]), agent("b", &[], &[("q", 0)])];
    let mut h = H::new(vec![queue(StrategyKind::LongestIdle)], agents);
    h.login(&["a"]);
    h.advance(100.0);
    h.login(&["b"]);
    assert_eq!(serve(&mut h, 1, 1.0), h.a("b"));
}
