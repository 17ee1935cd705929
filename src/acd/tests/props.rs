//! Property tests over random event sequences. Engine-internal assertions (test builds) also
//! check every offer: the agent is Ready and no same-priority caller of the queue who waited
//! longer is in a bucket the agent qualifies for (FIFO within a priority).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::acd::call::OfferFailure;
use crate::acd::config::{StepConfig, StrategyKind, Target};
use crate::acd::engine::CallStatus;
use crate::acd::AgentState;

fn config(strategy: StrategyKind) -> AcdConfig {
    let widen = vec![
        StepConfig {
            after_secs: 20,
            min_level: Some(5),
            any_with_skill: false,
            overflow: None,
        },
        StepConfig {
            after_secs: 40,
            min_level: None,
            any_with_skill: true,
            overflow: None,
        },
    ];
    let mut overflowing = widen.clone();
    overflowing.push(StepConfig {
        after_secs: 200,
        min_level: None,
        any_with_skill: false,
        overflow: Some(Target::Callback),
    });
    let qa = QueueConfig {
        skills: [("x".to_string(), 8)].into_iter().collect(),
        steps: widen,
        max_wait_secs: Some(150),
        wrap_up_secs: 3,
        strategy,
        ..QueueConfig::named("A")
    };
    let qb = QueueConfig {
        skills: [("y".to_string(), 6)].into_iter().collect(),
        steps: overflowing,
        strategy: StrategyKind::RingAll,
        ring_all_cap: 2,
        ring_timeout_secs: 10,
        ..QueueConfig::named("B")
    };
    let agents = vec![
        agent("a0", &[("x", 9), ("y", 2)], &[("A", 0), ("B", 0)]),
        agent("a1", &[("x", 6)], &[("A", 1)]),
        agent("a2", &[("x", 2), ("y", 9)], &[("A", 0), ("B", 0)]),
        agent("a3", &[("y", 7)], &[("B", 2)]),
        agent("a4", &[("x", 8), ("y", 6)], &[("A", 0), ("B", 1)]),
    ];
    AcdConfig {
        agents,
        queues: vec![qa, qb],
        reject_backoff_secs: 7,
        ..AcdConfig::default()
    }
}

/// What the test driver knows from outputs.
#[derive(Default)]
struct Driver {
    /// live offers: offer → (agent, call, rung at, ring timeout)
    offers: HashMap<OfferId, (AgentId, CallId, Instant, Duration)>,
    connected: Vec<CallId>,
    calls: Vec<CallId>,
}

impl Driver {
    fn flush(&mut self, h: &mut H) -> Result<(), TestCaseError> {
        while let Some(o) = h.e.poll_output() {
            match o {
                Output::Offer {
                    offer,
                    call,
                    agent,
                    ring_timeout,
                    ..
                } => {
                    prop_assert!(
                        !self.offers.values().any(|(a, ..)| *a == agent),
                        "agent {agent:?} offered two calls at once"
                    );
                    self.offers
                        .insert(offer, (agent, call, h.now, ring_timeout));
                }
                Output::CancelOffer { offer, .. } => {
                    self.offers.remove(&offer);
                }
                Output::Event(ev) => {
                    if let EventKind::OfferEnded { offer, .. } = ev.kind {
                        self.offers.remove(&offer);
                    }
                }
                Output::Overflow { .. } | Output::Exit { .. } => {}
            }
        }
        Ok(())
    }
}

fn agent_ids() -> Vec<AgentId> {
    (0..5).map(AgentId).collect()
}

fn check(h: &H, d: &Driver) -> Result<(), TestCaseError> {
    for a in agent_ids() {
        if let Some(AgentState::Offered { offer }) = h.e.agent_state(a) {
            let (_, _, at, limit) = d.offers.get(offer).copied().ok_or_else(|| {
                TestCaseError::fail(format!("{a:?} Offered for an offer the driver never saw"))
            })?;
            prop_assert!(
                h.now.duration_since(at) < limit,
                "{a:?} Offered past its ring timeout"
            );
        }
    }
    for &c in &d.calls {
        if let Some(CallStatus::Waiting { .. }) = h.e.call_status(c) {
            let idle = h.e.eligible_available_agents(h.now, c);
            prop_assert!(idle.is_empty(), "{c:?} waits while {idle:?} could take it");
        }
    }
    Ok(())
}

fn pick<T: Copy>(v: &[T], r: u16) -> Option<T> {
    (!v.is_empty()).then(|| v[r as usize % v.len()])
}

/// Apply a random history of arrivals, answers, failures, logins and time steps.
fn random_phase(h: &mut H, d: &mut Driver, ops: Vec<(u8, u16, u16)>) -> Result<(), TestCaseError> {
    let mut next_call = 1u64;
    for (op, r1, r2) in ops {
        let live: Vec<OfferId> = {
            let mut v: Vec<_> = d.offers.keys().copied().collect();
            v.sort();
            v
        };
        let agent = AgentId(u32::from(r1 % 5));
        match op % 10 {
            0 | 1 => {
                let q = QueueId(u32::from(r1 % 2));
                let c = CallId(next_call);
                next_call += 1;
                if h.e.handle_call_arrived(h.now, c, q, (r2 % 3) as u8).is_ok() {
                    d.calls.push(c);
                }
            }
            2 => {
                if let Some(c) = pick(&d.calls, r1) {
                    let _ = h.e.handle_caller_abandoned(h.now, c);
                }
            }
            3 => {
                if let Some(o) = pick(&live, r1) {
                    let call = d.offers[&o].1;
                    h.e.handle_offer_answered(h.now, o)
                        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    d.offers.remove(&o);
                    d.connected.push(call);
                }
            }
            4 => {
                if let Some(o) = pick(&live, r1) {
                    let why = [
                        OfferFailure::NoAnswer,
                        OfferFailure::Rejected,
                        OfferFailure::Busy,
                    ][r2 as usize % 3];
                    h.e.handle_offer_failed(h.now, o, why)
                        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    d.offers.remove(&o);
                }
            }
            5 => {
                let dt = Duration::from_millis(u64::from(r1) * 20);
                let end = h.now + dt;
                while let Some(t) = h.e.poll_timeout().filter(|&t| t <= end) {
                    h.now = h.now.max(t);
                    h.e.handle_timeout(h.now);
                    d.flush(h)?;
                    check(h, d)?;
                }
                h.now = end;
            }
            6 => {
                let _ = match r2 % 4 {
                    0 => h.e.handle_agent_login(h.now, agent),
                    1 => h.e.handle_agent_logout(h.now, agent),
                    2 => h.e.handle_agent_ready(h.now, agent),
                    _ => h.e.handle_agent_not_ready(h.now, agent, "break"),
                };
            }
            7 => {
                if let Some(c) = pick(&d.connected, r1) {
                    if h.e
                        .handle_call_ended(h.now, c, crate::acd::Party::Agent)
                        .is_ok()
                    {
                        d.connected.retain(|&x| x != c);
                    }
                }
            }
            8 => {
                let _ = if r2 % 2 == 0 {
                    h.e.handle_agent_reachable(h.now, agent, r2 % 4 == 0)
                } else {
                    h.e.handle_agent_busy_elsewhere(h.now, agent, r2 % 4 == 1)
                };
            }
            _ => {
                if let Some(c) = pick(&d.calls, r1) {
                    let _ = h.e.handle_callback_requested(h.now, c);
                }
            }
        }
        d.flush(h)?;
        check(h, d)?;
    }
    Ok(())
}

fn run(ops: Vec<(u8, u16, u16)>, strategy: StrategyKind) -> Result<(), TestCaseError> {
    let mut h = H::with(config(strategy));
    let mut d = Driver::default();
    random_phase(&mut h, &mut d, ops)?;
    // Agents stop failing: everyone reachable, free and Ready; the driver answers every offer
    // and ends every call; time runs past every deadline.
    for a in agent_ids() {
        let _ = h.e.handle_agent_reachable(h.now, a, true);
        let _ = h.e.handle_agent_busy_elsewhere(h.now, a, false);
        let _ = h.e.handle_agent_login(h.now, a);
        let _ = h.e.handle_agent_ready(h.now, a);
    }
    d.flush(&mut h)?;
    for _round in 0..500 {
        let live: Vec<OfferId> = d.offers.keys().copied().collect();
        for o in live {
            if d.offers.contains_key(&o) {
                let call = d.offers[&o].1;
                h.e.handle_offer_answered(h.now, o)
                    .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                d.offers.remove(&o);
                d.connected.push(call);
                d.flush(&mut h)?;
            }
        }
        for c in std::mem::take(&mut d.connected) {
            let _ = h.e.handle_call_ended(h.now, c, crate::acd::Party::Caller);
            d.flush(&mut h)?;
        }
        // pending pauses from the random phase: make everyone Ready again
        for a in agent_ids() {
            let _ = h.e.handle_agent_ready(h.now, a);
        }
        d.flush(&mut h)?;
        if let Some(t) = h.e.poll_timeout() {
            h.now = h.now.max(t);
            h.e.handle_timeout(h.now);
            d.flush(&mut h)?;
        }
        check(&h, &d)?;
        if h.e.call_count() == 0 {
            break;
        }
    }
    // Every caller ended answered, abandoned, overflowed, exited or was called back; a caller
    // still here would have to be waiting with no eligible agent, and this config has one for
    // every caller at the widest stage.
    prop_assert_eq!(
        h.e.call_count(),
        0,
        "calls stuck: {:?}",
        d.calls
            .iter()
            .filter_map(|&c| h.e.call_status(c).map(|s| (c, s)))
            .collect::<Vec<_>>()
    );
    Ok(())
}

struct Alone(H);

impl crate::testutil::Timed for Alone {
    fn next_timeout(&self) -> Option<Instant> {
        self.0.e.poll_timeout()
    }
    fn fire(&mut self, now: Instant) {
        self.0.now = self.0.now.max(now);
        self.0.e.handle_timeout(self.0.now);
        while self.0.e.poll_output().is_some() {}
    }
}

/// After any history, an engine nobody talks to any more (offers ring out, callers time out,
/// wrap-ups end) never hands its driver a deadline it already handled: it goes quiet.
fn left_alone(ops: Vec<(u8, u16, u16)>, strategy: StrategyKind) -> Result<(), TestCaseError> {
    let mut h = H::with(config(strategy));
    let mut d = Driver::default();
    random_phase(&mut h, &mut d, ops)?;
    let horizon = h.now + Duration::from_secs(86_400);
    crate::testutil::assert_goes_quiet(&mut Alone(h), horizon, 10_000);
    Ok(())
}

fn ops() -> impl Strategy<Value = Vec<(u8, u16, u16)>> {
    proptest::collection::vec((0u8..10, 0u16..1000, 0u16..1000), 1..150)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_sequences_longest_idle(ops in ops()) {
        run(ops, StrategyKind::LongestIdle)?;
    }

    #[test]
    fn random_sequences_round_robin(ops in ops()) {
        run(ops, StrategyKind::RoundRobin)?;
    }

    #[test]
    fn random_sequences_best_fit(ops in ops()) {
        run(ops, StrategyKind::BestFit)?;
    }

    #[test]
    fn random_sequences_fewest_calls(ops in ops()) {
        run(ops, StrategyKind::FewestCalls)?;
    }

    #[test]
    fn random_sequences_least_talk_time(ops in ops()) {
        run(ops, StrategyKind::LeastTalkTime)?;
    }

    #[test]
    fn random_sequences_ring_all(ops in ops()) {
        run(ops, StrategyKind::RingAll)?;
    }

    #[test]
    fn left_alone_it_goes_quiet(ops in ops(), ring_all in any::<bool>()) {
        let strategy = if ring_all { StrategyKind::RingAll } else { StrategyKind::LongestIdle };
        left_alone(ops, strategy)?;
    }
}
