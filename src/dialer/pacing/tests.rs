//! The pacing core on a virtual clock.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

struct Clock {
    t0: Instant,
    secs: f64,
}

impl Clock {
    fn new() -> Self {
        Clock {
            t0: Instant::now(),
            secs: 0.0,
        }
    }
    fn now(&self) -> Instant {
        self.t0 + Duration::from_secs_f64(self.secs)
    }
    fn advance(&mut self, s: f64) -> Instant {
        self.secs += s;
        self.now()
    }
}

fn drain(p: &mut Pacing) -> u32 {
    let mut n = 0;
    while let Some(r) = p.poll_dials() {
        n += r.count;
    }
    n
}

fn pacing(mode: Mode) -> (Pacing, CampaignId) {
    let mut p = Pacing::new();
    let c = p
        .add_campaign(PacingConfig {
            mode,
            ..PacingConfig::default()
        })
        .expect("default config is valid");
    (p, c)
}

fn login_ready(p: &mut Pacing, now: Instant, c: CampaignId, agents: std::ops::Range<u32>) {
    for a in agents {
        p.handle_agent_login(now, AgentId(a), c).expect("login");
        p.handle_agent_ready(now, AgentId(a)).expect("ready");
    }
}

/// Place whatever was asked for, with consecutive dial ids from `next`.
fn place(p: &mut Pacing, now: Instant, c: CampaignId, next: &mut u64) -> Vec<DialId> {
    let n = drain(p);
    (0..n)
        .map(|_| {
            let d = DialId(*next);
            *next += 1;
            p.handle_dial_placed(now, c, d).expect("placed");
            d
        })
        .collect()
}

/// History: every `live_every`-th of 200 dials answered by a person at 8 s (60 s talks,
/// 10 s wrap-ups), the rest no-answers resolved at once.
fn warm_up(p: &mut Pacing, clock: &mut Clock, c: CampaignId, live_every: u64) {
    let mut now = clock.now();
    super::history::feed(p, &mut now, c, 200, |i| {
        if i % live_every == 0 {
            (8.0, true)
        } else {
            (0.0, false)
        }
    });
    clock.secs = now.duration_since(clock.t0).as_secs_f64();
}

#[test]
fn preview_places_nothing() {
    let mut clock = Clock::new();
    let (mut p, c) = pacing(Mode::Preview);
    login_ready(&mut p, clock.now(), c, 0..10);
    for _ in 0..100 {
        let now = clock.advance(1.0);
        p.handle_timeout(now);
    }
    assert_eq!(drain(&mut p), 0);
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn progressive_never_over_dials() {
    let mut clock = Clock::new();
    let (mut p, c) = pacing(Mode::Progressive);
    let mut next = 0;
    login_ready(&mut p, clock.now(), c, 0..5);
    let dials = place(&mut p, clock.now(), c, &mut next);
    assert_eq!(dials.len(), 5);
    // Ticks do not add more while the 5 are outstanding.
    for _ in 0..10 {
        let now = clock.advance(1.0);
        p.handle_timeout(now);
    }
    assert_eq!(drain(&mut p), 0);
    // One answers and is connected: still no new dial (4 ready, 4 outstanding).
    let now = clock.advance(1.0);
    p.handle_dial_outcome(now, dials[0], DialOutcome::Human)
        .expect("outcome");
    assert_eq!(drain(&mut p), 0);
    p.handle_connected(now, dials[0], AgentId(0))
        .expect("connect");
    assert_eq!(drain(&mut p), 0);
    // A busy frees its reserved agent: exactly one replacement.
    p.handle_dial_outcome(now, dials[1], DialOutcome::Busy)
        .expect("outcome");
    assert_eq!(place(&mut p, now, c, &mut next).len(), 1);
    let e = p.estimates(c).expect("campaign");
    assert_eq!(e.outstanding, 4);
}

#[test]
fn fixed_ratio_dials_ratio_per_ready_agent() {
    let clock = Clock::new();
    let (mut p, c) = pacing(Mode::FixedRatio { ratio: 2.5 });
    login_ready(&mut p, clock.now(), c, 0..4);
    // Asked one agent at a time: ceil(2.5 × ready) − outstanding each time → 10 in total.
    let mut next = 0;
    assert_eq!(place(&mut p, clock.now(), c, &mut next).len(), 10);
}

#[test]
fn predictive_over_dials_when_answer_rate_is_low() {
    let mut clock = Clock::new();
    let (mut p, c) = pacing(Mode::Predictive);
    let mut next = 0;
    warm_up(&mut p, &mut clock, c, 5); // p_live = 0.2
    login_ready(&mut p, clock.now(), c, 0..10);
    let dials = place(&mut p, clock.now(), c, &mut next);
    assert!(
        dials.len() > 10,
        "predictive asked for {} dials for 10 ready agents",
        dials.len()
    );
    assert!(dials.len() <= 100, "absurd: {}", dials.len());
}

#[test]
fn predictive_is_progressive_until_it_has_estimates() {
    let clock = Clock::new();
    let (mut p, c) = pacing(Mode::Predictive);
    login_ready(&mut p, clock.now(), c, 0..10);
    let mut next = 0;
    assert_eq!(place(&mut p, clock.now(), c, &mut next).len(), 10);
}

/// Abandons near the cap shrink the planner's budget, and with it the dials asked for.
#[test]
fn abandon_controller_slows_near_the_cap() {
    let ask = |abandons: u64| {
        let mut clock = Clock::new();
        let (mut p, c) = pacing(Mode::Predictive);
        let mut next = 0;
        warm_up(&mut p, &mut clock, c, 5);
        // 400 more answers, `abandons` of them abandoned.
        let helper = AgentId(20_000);
        p.handle_agent_login(clock.now(), helper, c).expect("login");
        for i in 0..400u64 {
            let d = DialId(2_000_000 + i);
            let now = clock.advance(0.5);
            p.handle_dial_placed(now, c, d).expect("placed");
            p.handle_dial_outcome(now, d, DialOutcome::Human)
                .expect("outcome");
            if i < abandons {
                p.handle_abandoned(now, d).expect("abandon");
            } else {
                p.handle_connected(now, d, helper).expect("connect");
                p.handle_agent_not_ready(now, helper).expect("not ready");
            }
        }
        p.handle_agent_logout(clock.now(), helper).expect("logout");
        let asked = drain(&mut p);
        p.handle_dials_not_placed(clock.now(), c, asked)
            .expect("not placed");
        let budget = p.estimates(c).expect("campaign").abandon_budget;
        login_ready(&mut p, clock.now(), c, 0..10);
        (place(&mut p, clock.now(), c, &mut next).len(), budget)
    };
    let (calm, calm_budget) = ask(0);
    let (near, near_budget) = ask(12); // 12 / 440 ≈ 2.7 %
    let (over, over_budget) = ask(40);
    assert!(near_budget < calm_budget, "{near_budget} vs {calm_budget}");
    assert_eq!(over_budget, 0.0);
    assert!(near < calm, "near cap {near} vs calm {calm}");
    assert_eq!(over, 10, "over the cap: progressive only");
}

#[test]
fn inbound_pressure_backs_off() {
    let clock = Clock::new();
    let (mut p, c) = pacing(Mode::Progressive);
    p.set_inbound_pressure(clock.now(), c, 1.0)
        .expect("valid pressure");
    login_ready(&mut p, clock.now(), c, 0..10);
    assert_eq!(drain(&mut p), 0);
    p.set_inbound_pressure(clock.now(), c, 0.5)
        .expect("valid pressure");
    assert_eq!(drain(&mut p), 5);
    assert!(p.set_inbound_pressure(clock.now(), c, 1.5).is_err());
}

#[test]
fn typed_errors() {
    let clock = Clock::new();
    let (mut p, c) = pacing(Mode::Progressive);
    assert_eq!(
        p.handle_agent_ready(clock.now(), AgentId(1)),
        Err(PacingError::UnknownAgent(AgentId(1)))
    );
    assert_eq!(
        p.handle_dial_outcome(clock.now(), DialId(9), DialOutcome::Busy),
        Err(PacingError::UnknownDial(DialId(9)))
    );
    assert!(p
        .handle_agent_login(clock.now(), AgentId(1), CampaignId(7))
        .is_err());
    assert!(p
        .add_campaign(PacingConfig {
            ring_timeout_secs: 10.0,
            ..PacingConfig::default()
        })
        .is_err());
    p.handle_agent_login(clock.now(), AgentId(1), c)
        .expect("login");
    assert_eq!(
        p.handle_agent_login(clock.now(), AgentId(1), c),
        Err(PacingError::AgentLoggedIn(AgentId(1)))
    );
}

#[derive(Debug, Clone)]
enum Op {
    Login(u32),
    Logout(u32),
    Ready(u32),
    NotReady(u32),
    Outcome(u8, u8),
    Connect(u32),
    Abandon,
    TalkEnd(u32),
    WrapEnd(u32),
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..8).prop_map(Op::Login),
        (0u32..8).prop_map(Op::Logout),
        (0u32..8).prop_map(Op::Ready),
        (0u32..8).prop_map(Op::NotReady),
        (0u8..5, 0u8..30).prop_map(|(o, s)| Op::Outcome(o, s)),
        (0u32..8).prop_map(Op::Connect),
        Just(Op::Abandon),
        (0u32..8).prop_map(Op::TalkEnd),
        (0u32..8).prop_map(Op::WrapEnd),
        (0u16..5000).prop_map(Op::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever happens, the pacer never asks for an absurd number of dials and never dials
    /// with nobody logged in.
    #[test]
    fn dials_are_sane(ops in proptest::collection::vec(op(), 1..400), mode in 0u8..4) {
        let mode = match mode {
            0 => Mode::Preview,
            1 => Mode::Progressive,
            2 => Mode::FixedRatio { ratio: 3.0 },
            _ => Mode::Predictive,
        };
        let mut clock = Clock::new();
        let mut p = Pacing::new();
        let c = p.add_campaign(PacingConfig {
            mode,
            min_dial_samples: 5,
            min_talk_samples: 1,
            ..PacingConfig::default()
        }).expect("valid");
        let mut logged: std::collections::BTreeSet<u32> = Default::default();
        let mut outstanding: Vec<DialId> = Vec::new();
        let mut waiting: Vec<DialId> = Vec::new();
        let mut next = 0u64;
        for op in ops {
            let now = clock.advance(0.1);
            // Errors (unknown agent, etc.) are fine: typed, never a panic.
            match op {
                Op::Login(a) => { if p.handle_agent_login(now, AgentId(a), c).is_ok() { logged.insert(a); } }
                Op::Logout(a) => { if p.handle_agent_logout(now, AgentId(a)).is_ok() { logged.remove(&a); } }
                Op::Ready(a) => { let _ = p.handle_agent_ready(now, AgentId(a)); }
                Op::NotReady(a) => { let _ = p.handle_agent_not_ready(now, AgentId(a)); }
                Op::Outcome(o, s) => {
                    if let Some(d) = outstanding.pop() {
                        let now = clock.advance(f64::from(s));
                        let oc = [DialOutcome::Human, DialOutcome::Machine, DialOutcome::Busy,
                                  DialOutcome::NoAnswer, DialOutcome::Failed][o as usize];
                        prop_assert!(p.handle_dial_outcome(now, d, oc).is_ok());
                        if oc == DialOutcome::Human { waiting.push(d); }
                    }
                }
                Op::Connect(a) => {
                    if let Some(d) = waiting.pop() {
                        if p.handle_connected(now, d, AgentId(a)).is_err() { waiting.push(d); }
                    }
                }
                Op::Abandon => { if let Some(d) = waiting.pop() { prop_assert!(p.handle_abandoned(now, d).is_ok()); } }
                Op::TalkEnd(a) => { let _ = p.handle_talk_ended(now, AgentId(a)); }
                Op::WrapEnd(a) => { let _ = p.handle_wrap_ended(now, AgentId(a)); }
                Op::Tick(ms) => { let now = clock.advance(f64::from(ms) / 1000.0); p.handle_timeout(now); }
            }
            while let Some(r) = p.poll_dials() {
                prop_assert!(!logged.is_empty(), "dials asked with nobody logged in");
                let limit = (10 * logged.len()) as u32;
                prop_assert!(r.count <= limit, "{} dials for {} agents", r.count, logged.len());
                prop_assert!(mode != Mode::Preview);
                for _ in 0..r.count {
                    let d = DialId(next);
                    next += 1;
                    prop_assert!(p.handle_dial_placed(now, c, d).is_ok());
                    outstanding.push(d);
                }
            }
            let e = p.estimates(c).expect("campaign");
            prop_assert!(e.outstanding as usize <= 10 * logged.len().max(1) + outstanding.len());
        }
    }
}

/// After a restart the lead book's 30-day figures seed the controller: a campaign that ran
/// at the cap starts with its campaign rate there and a budget of zero, a clean one does not.
#[test]
fn seeded_abandons_count_in_the_campaign_rate_and_budget() {
    let estimates = |live: u64, abandoned: u64| {
        let (mut p, c) = pacing(Mode::Predictive);
        p.seed_abandons(c, live, abandoned).expect("campaign");
        p.estimates(c).expect("campaign")
    };
    let clean = estimates(2000, 0);
    let at_cap = estimates(2000, 60);
    assert_eq!(clean.campaign_abandon_rate, 0.0);
    assert!((at_cap.campaign_abandon_rate - 0.03).abs() < 1e-9);
    assert!(clean.abandon_budget > 0.0);
    assert!(
        at_cap.abandon_budget < clean.abandon_budget * 0.1,
        "{} vs {}",
        at_cap.abandon_budget,
        clean.abandon_budget
    );
}

/// After a restart the lead book's last hour seeds the rolling window too: a campaign whose
/// last hour ran at 10 % abandons (a clean month overall) dials no more than progressive,
/// where the same campaign without those seeds over-dials.
#[test]
fn seeded_recent_abandons_make_the_planner_dial_less() {
    let ask = |recent: bool| {
        let mut clock = Clock::new();
        let (mut p, c) = pacing(Mode::Predictive);
        let mut next = 0;
        warm_up(&mut p, &mut clock, c, 5); // p_live = 0.2, ~52 min of history
                                           // 30 days: 2000 answers, 1.5 % abandoned (the last hour's 30 included).
        p.seed_abandons(c, 2000, 30).expect("campaign");
        if recent {
            let events: Vec<(Duration, bool)> = (0..300u64)
                .map(|i| (Duration::from_secs(3000 - i * 10), i % 10 == 0))
                .collect();
            p.seed_abandon_events(clock.now(), c, &events)
                .expect("campaign");
        }
        login_ready(&mut p, clock.now(), c, 0..10);
        let e = p.estimates(c).expect("campaign");
        (place(&mut p, clock.now(), c, &mut next).len(), e)
    };
    let (without, e0) = ask(false);
    let (with, e1) = ask(true);
    assert!(
        e1.rolling_abandon_rate > 0.08,
        "{}",
        e1.rolling_abandon_rate
    );
    assert_eq!(e0.campaign_abandon_rate, e1.campaign_abandon_rate);
    assert!(without > 10, "without seeds: {without} dials for 10 agents");
    assert_eq!(with, 10, "a bad last hour: progressive only");
}

#[test]
fn update_config_takes_effect_at_once() {
    let clock = Clock::new();
    let now = clock.now();
    let (mut p, c) = pacing(Mode::Progressive);
    login_ready(&mut p, now, c, 0..2);
    assert_eq!(drain(&mut p), 2, "progressive: one per ready agent");
    let mut cfg = p.config(c).expect("campaign exists").clone();
    cfg.mode = Mode::FixedRatio { ratio: 3.0 };
    cfg.max_outstanding = 5;
    p.update_config(now, c, cfg.clone()).expect("valid");
    assert_eq!(
        drain(&mut p),
        3,
        "3 per ready agent, capped at 5 lines, 2 out already"
    );
    assert_eq!(p.config(c).map(|k| k.mode), Some(cfg.mode));
    cfg.ring_timeout_secs = 10.0;
    assert!(
        p.update_config(now, c, cfg).is_err(),
        "rings under 15 s are refused"
    );
    assert_eq!(p.config(c).map(|k| k.ring_timeout_secs), Some(26.0));
}

/// History in which a dial still ringing after 15 s may yet bring a person.
fn late_answer_history(p: &mut Pacing, clock: &mut Clock, c: CampaignId) {
    let mut now = clock.now();
    super::history::feed(p, &mut now, c, 200, super::history::late_answers);
    clock.secs = now.duration_since(clock.t0).as_secs_f64();
}

/// Every agent just started a talk of about a minute: a live answer from any dial in
/// flight would find nobody. Dials that have rung 15 s are hung up as surplus, never younger ones; a
/// hung-up dial no longer counts as in flight once its outcome is in.
#[test]
fn surplus_dials_are_hung_up_only_after_the_regulated_ring() {
    let mut clock = Clock::new();
    let (mut p, c) = pacing(Mode::Predictive);
    late_answer_history(&mut p, &mut clock, c);
    let t0 = clock.now();
    login_ready(&mut p, t0, c, 0..4);
    let mut next = 0;
    let dials = place(&mut p, t0, c, &mut next);
    assert!(dials.len() > 4, "predictive over-dials: {}", dials.len());
    // Other dials answer at once and take every agent for a long talk.
    for a in 0..4 {
        let taker = DialId(9_000 + u64::from(a));
        p.handle_dial_placed(t0, c, taker).expect("placed");
        p.handle_dial_outcome(t0, taker, DialOutcome::Human)
            .expect("outcome");
        p.handle_connected(t0, taker, AgentId(a)).expect("connect");
    }
    let _ = drain(&mut p);
    let mut cancelled = Vec::new();
    loop {
        let now = clock.advance(0.5);
        p.handle_timeout(now);
        let _ = drain(&mut p);
        while let Some(d) = p.poll_cancels() {
            let rung = now.duration_since(t0).as_secs_f64();
            assert!(rung >= 15.0, "{d:?} hung up after {rung} s");
            cancelled.push(d);
        }
        if now.duration_since(t0).as_secs_f64() >= 20.0 {
            break;
        }
    }
    let mut sorted = cancelled.clone();
    sorted.sort_by_key(|d| d.0);
    sorted.dedup();
    assert_eq!(sorted.len(), cancelled.len(), "a dial was hung up twice");
    assert_eq!(
        sorted, dials,
        "every dial in flight is surplus with every agent busy for a minute"
    );
    let before = p.estimates(c).expect("campaign").outstanding;
    assert_eq!(before, 0, "dials being hung up are not in flight");
    let now = clock.now();
    for d in &cancelled {
        p.handle_dial_outcome(now, *d, DialOutcome::NoAnswer)
            .expect("a hung-up dial resolves as usual");
    }
    assert_eq!(p.estimates(c).expect("campaign").outstanding, 0);
}

/// With agents to spare, no dial is surplus: nothing is hung up, however long it rings;
/// nor when the campaign disables it.
#[test]
fn dials_with_agents_to_spare_ring_on() {
    for hang_up in [Some(15.0), None] {
        let mut clock = Clock::new();
        let mut p = Pacing::new();
        let c = p
            .add_campaign(PacingConfig {
                cancel_surplus_after_secs: hang_up,
                ..PacingConfig::default()
            })
            .expect("valid");
        late_answer_history(&mut p, &mut clock, c);
        login_ready(&mut p, clock.now(), c, 0..20);
        let mut next = 0;
        let _ = place(&mut p, clock.now(), c, &mut next);
        for _ in 0..50 {
            let now = clock.advance(0.5);
            p.handle_timeout(now);
            let _ = place(&mut p, now, c, &mut next);
            assert_eq!(p.poll_cancels(), None, "hang-up {hang_up:?}");
        }
    }
    let bad = PacingConfig {
        cancel_surplus_after_secs: Some(10.0),
        ..PacingConfig::default()
    };
    assert!(bad.validate().is_err(), "hanging up before 15 s of ringing");
}
