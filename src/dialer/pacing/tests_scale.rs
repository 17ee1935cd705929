//! Large campaigns and agent waves, on a virtual clock. The first test fails on the planner
//! with a fixed count support of 256 (it asked for its whole trunk room, 10 dials per agent,
//! once more than 256 agents were ready); the others on a planner that counted agents who
//! were leaving as agents about to be free.

use std::time::{Duration, Instant};

use super::*;

fn drain(p: &mut Pacing) -> u32 {
    let mut n = 0;
    while let Some(r) = p.poll_dials() {
        n += r.count;
    }
    n
}

/// A predictive campaign whose windows hold 400 dials (a quarter answered by a person at
/// 8 s, the rest no-answer at 26 s) and 100 talks of 60 s. Returns the clock after it.
fn warm(p: &mut Pacing) -> (CampaignId, Instant) {
    let c = p
        .add_campaign(PacingConfig::default())
        .expect("default config is valid");
    let mut now = Instant::now();
    super::history::feed(p, &mut now, c, 400, |i| {
        if i % 4 == 0 {
            (8.0, true)
        } else {
            (26.0, false)
        }
    });
    (c, now)
}

/// Build a floor without a decision per event (each would plan over the whole floor):
/// inbound pressure 1 leaves the campaign no agents to plan for meanwhile.
fn quiet(p: &mut Pacing, c: CampaignId, now: Instant) {
    p.set_inbound_pressure(now, c, 1.0).expect("pressure");
}

/// Back to normal half a second later (past `min_decision_secs`): one decision over the
/// floor as it stands. Returns the dials it asks for.
fn decide(p: &mut Pacing, c: CampaignId, now: Instant) -> u32 {
    drain(p);
    p.set_inbound_pressure(now + Duration::from_millis(500), c, 0.0)
        .expect("pressure");
    drain(p)
}

fn p_live(p: &Pacing, c: CampaignId) -> f64 {
    p.estimates(c).expect("campaign exists").p_live
}

/// 500 ready agents and nobody else: the answers of the planned dials must fit them (the
/// planner's last dial is lost with at most the budget's chance), whatever the size.
#[test]
fn large_campaign_plans_within_its_agents() {
    for agents in [300u32, 500, 2000] {
        let mut p = Pacing::new();
        let (c, now) = warm(&mut p);
        quiet(&mut p, c, now);
        for a in 0..agents {
            p.handle_agent_login(now, AgentId(a), c).expect("login");
            p.handle_agent_ready(now, AgentId(a)).expect("ready");
        }
        let asked = decide(&mut p, c, now);
        let answers = f64::from(asked) * p_live(&p, c);
        let n = f64::from(agents);
        // Within the agents, less a margin of the order of the answers' spread.
        assert!(
            answers <= n,
            "{agents} agents: {asked} dials bring {answers:.0} answers"
        );
        // And not timid: most of the agents get a call.
        assert!(
            answers >= n - 4.0 * n.sqrt(),
            "{agents} agents: {asked} dials bring only {answers:.0} answers"
        );
    }
}

/// A 500-agent campaign in steady state: the expected abandons of the planned dials stay
/// under the budget — checked from outside the planner by the shortfall of a simple
/// bound: answers expected within the horizon minus agents that can take them.
#[test]
fn large_campaign_in_talk_does_not_flood() {
    let mut p = Pacing::new();
    let (c, now) = warm(&mut p);
    quiet(&mut p, c, now - Duration::from_secs(60));
    // 500 agents on calls that started 0..60 s ago (60 s talks: ~40 % free within 26 s
    // plus a 10 s wrap-up), none ready.
    for a in 0..500u32 {
        let at = now - Duration::from_secs(u64::from(a % 60));
        p.handle_agent_login(at, AgentId(a), c).expect("login");
        let d = DialId(10_000_000 + u64::from(a));
        // Answered after 8 s, like the history (the window learns these too).
        p.handle_dial_placed(at - Duration::from_secs(8), c, d)
            .expect("placed");
        p.handle_dial_outcome(at, d, DialOutcome::Human)
            .expect("outcome");
        p.handle_connected(at, d, AgentId(a)).expect("connected");
    }
    // One more agent frees.
    p.handle_talk_ended(now, AgentId(0)).expect("talk end");
    p.handle_wrap_ended(now, AgentId(0)).expect("wrap end");
    let asked = decide(&mut p, c, now);
    let answers = f64::from(asked) * p_live(&p, c);
    // Agents freeing within 26 s + 2 s reach: those whose talk ends by then (elapsed ≥ 42 s
    // of 60, wrap 10 s) — 18 of every 60, ~150 — plus the ready one.
    assert!(answers <= 160.0, "{asked} dials bring {answers:.0} answers");
    assert!(asked > 0, "agents about to free get no calls");
}

/// Two identical floors (100 ready, 300 in wrap-up 5 s in): when 250 of the wrapping agents
/// are leaving after their wrap-up (a shift change), the next decision asks for fewer dials
/// at once, by about what those agents would have taken.
#[test]
fn a_wave_of_departures_lowers_planned_dials_at_once() {
    let plan = |leaving: u32| -> f64 {
        let mut p = Pacing::new();
        let (c, now) = warm(&mut p);
        let start = now - Duration::from_secs(5);
        quiet(&mut p, c, start);
        for a in 0..400u32 {
            p.handle_agent_login(start, AgentId(a), c).expect("login");
            if a < 100 {
                p.handle_agent_ready(start, AgentId(a)).expect("ready");
            } else {
                let d = DialId(20_000_000 + u64::from(a));
                p.handle_dial_placed(start - Duration::from_secs(8), c, d)
                    .expect("placed");
                p.handle_dial_outcome(start, d, DialOutcome::Human)
                    .expect("outcome");
                p.handle_connected(start, d, AgentId(a)).expect("connect");
                p.handle_talk_ended(start, AgentId(a)).expect("talk end");
            }
        }
        for a in 100..100 + leaving {
            p.handle_agent_leaving(now, AgentId(a), true)
                .expect("leaving");
        }
        // Answers the planned dials bring.
        f64::from(decide(&mut p, c, now)) * p_live(&p, c)
    };
    let stay = plan(0);
    let wave = plan(250);
    // The 250 would be free within 5 s, before the new dials' answers (8 s).
    assert!(
        stay - wave >= 200.0,
        "a wave of 250 departures: {wave:.0} answers planned vs {stay:.0} without"
    );
    assert!(wave <= 150.0, "{wave:.0} answers for 150 agents");
}

/// Agents who log out during their wrap-up are gone at once: the next decision no longer
/// counts them, and a campaign whose agents all left asks for nothing.
#[test]
fn logouts_in_wrap_up_stop_the_dials() {
    let mut p = Pacing::new();
    let (c, now) = warm(&mut p);
    quiet(&mut p, c, now);
    for a in 0..300u32 {
        p.handle_agent_login(now, AgentId(a), c).expect("login");
        let d = DialId(30_000_000 + u64::from(a));
        p.handle_dial_placed(now, c, d).expect("placed");
        p.handle_dial_outcome(now, d, DialOutcome::Human)
            .expect("outcome");
        p.handle_connected(now, d, AgentId(a)).expect("connect");
        p.handle_talk_ended(now, AgentId(a)).expect("talk end");
    }
    let t = now + Duration::from_secs(1);
    for a in 0..299u32 {
        p.handle_agent_logout(t, AgentId(a)).expect("logout");
    }
    let asked = decide(&mut p, c, t);
    // One agent in wrap-up: a handful of dials at most.
    assert!(
        f64::from(asked) * p_live(&p, c) <= 2.0,
        "{asked} dials for one agent"
    );
}

/// The start of a 2,000-agent campaign: ten talks and forty dials finish within seconds,
/// and they are the shortest ones. While most talks in progress have lasted longer than
/// any finished one, the campaign paces like progressive (one dial per ready agent).
#[test]
fn censored_windows_pace_like_progressive() {
    let mut p = Pacing::new();
    let c = p
        .add_campaign(PacingConfig::default())
        .expect("default config is valid");
    let mut now = Instant::now();
    // 40 dials resolved within 3 s (10 people), talks of 5 s.
    super::history::feed(&mut p, &mut now, c, 0, |_| (0.0, false));
    quiet(&mut p, c, now);
    for a in 0..200u32 {
        p.handle_agent_login(now, AgentId(a), c).expect("login");
        let d = DialId(40_000_000 + u64::from(a));
        p.handle_dial_placed(now, c, d).expect("placed");
        p.handle_dial_outcome(now + Duration::from_secs(3), d, DialOutcome::Human)
            .expect("outcome");
        p.handle_connected(now + Duration::from_secs(3), d, AgentId(a))
            .expect("connect");
    }
    let t = now + Duration::from_secs(30);
    for a in 0..12u32 {
        p.handle_talk_ended(now + Duration::from_secs(8), AgentId(a))
            .expect("talk end");
        p.handle_wrap_ended(now + Duration::from_secs(9), AgentId(a))
            .expect("wrap end");
    }
    for i in 0..40u64 {
        let d = DialId(41_000_000 + i);
        p.handle_dial_placed(now, c, d).expect("placed");
        p.handle_dial_outcome(now + Duration::from_secs(2), d, DialOutcome::NoAnswer)
            .expect("outcome");
    }
    // 188 agents 27 s into talks no finished talk (5 s) came near: progressive, 12 dials.
    assert_eq!(decide(&mut p, c, t), 12);
}
