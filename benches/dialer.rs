//! Time per pacing decision: a predictive campaign with warm estimation windows, N agents
//! (a third ready, the rest in talk or wrap at various elapsed times) and ~2N outstanding
//! dials; each iteration is one urgent decision (an agent's wrap-up ends, then it goes back
//! to not-ready so the state stays the same), plus progressive for comparison.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::dialer::pacing::{
    AgentId, CampaignId, DialId, DialOutcome, Mode, Pacing, PacingConfig,
};

fn setup(mode: Mode, agents: u32) -> (Pacing, CampaignId, Instant) {
    let t0 = Instant::now();
    let at = |s: f64| t0 + Duration::from_secs_f64(s);
    let mut p = Pacing::new();
    let c = p
        .add_campaign(PacingConfig {
            mode,
            min_decision_secs: 0.0,
            ..PacingConfig::default()
        })
        .expect("valid config");
    // History: 2000 dials (25 % answered at 4–16 s) and 500 talks of 20–400 s.
    let helper = AgentId(u32::MAX);
    p.handle_agent_login(at(0.0), helper, c).expect("login");
    let mut t = 0.0;
    for i in 0..2000u64 {
        let d = DialId(i);
        p.handle_dial_placed(at(t), c, d).expect("placed");
        let live = i % 4 == 0;
        let dt = if live { 4.0 + (i % 13) as f64 } else { 26.0 };
        let oc = if live {
            DialOutcome::Human
        } else {
            DialOutcome::NoAnswer
        };
        p.handle_dial_outcome(at(t + dt), d, oc).expect("outcome");
        if live {
            p.handle_connected(at(t + dt), d, helper).expect("connect");
            p.handle_talk_ended(at(t + dt + 20.0 + (i % 380) as f64), helper)
                .expect("talk end");
            p.handle_wrap_ended(at(t + dt + 30.0 + (i % 380) as f64), helper)
                .expect("wrap end");
        }
        t += 0.5;
        while let Some(r) = p.poll_dials() {
            p.handle_dials_not_placed(at(t), c, r.count).expect("c");
        }
    }
    p.handle_agent_logout(at(t), helper).expect("logout");
    let now = t + 1500.0;
    for a in 0..agents {
        p.handle_agent_login(at(now - 600.0), AgentId(a), c)
            .expect("login");
        match a % 3 {
            0 => p.handle_agent_ready(at(now), AgentId(a)).expect("ready"),
            1 => {
                let d = DialId(1_000_000 + u64::from(a));
                p.handle_dial_placed(at(now - 500.0), c, d).expect("placed");
                p.handle_dial_outcome(at(now - 400.0), d, DialOutcome::Human)
                    .expect("outcome");
                p.handle_connected(at(now - f64::from(a % 300)), d, AgentId(a))
                    .expect("connect");
            }
            _ => p
                .handle_talk_ended(at(now - f64::from(a % 10)), AgentId(a))
                .expect("talk end"),
        }
    }
    for i in 0..2 * u64::from(agents) {
        let _ = p.handle_dial_placed(at(now - (i % 25) as f64), c, DialId(2_000_000 + i));
    }
    while let Some(r) = p.poll_dials() {
        p.handle_dials_not_placed(at(now), c, r.count).expect("c");
    }
    (p, c, at(now))
}

fn bench(c: &mut Criterion) {
    for (name, mode) in [
        ("predictive", Mode::Predictive),
        ("progressive", Mode::Progressive),
    ] {
        for agents in [20u32, 200, 1000, 2000] {
            let (mut p, camp, now) = setup(mode, agents);
            let a = AgentId(2);
            c.bench_function(&format!("pacing decision {name} {agents} agents"), |b| {
                b.iter(|| {
                    p.handle_wrap_ended(now, a).expect("wrap end");
                    let mut n = 0;
                    while let Some(r) = p.poll_dials() {
                        n += r.count;
                        p.handle_dials_not_placed(now, camp, r.count).expect("c");
                    }
                    p.handle_agent_not_ready(now, a).expect("not ready");
                    while let Some(r) = p.poll_dials() {
                        p.handle_dials_not_placed(now, camp, r.count).expect("c");
                    }
                    black_box(n)
                })
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
