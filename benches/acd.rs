//! ACD routing decisions at scale: 10,000 agents, 1,000 queues, 100,000 waiting callers.
//!
//! Queues 0..500 hold 200 waiting callers each, served by agents 0..5000 who are NotReady;
//! queues 500..1000 have no callers and agents 5000..10000 Ready. Each agent serves 5 queues of
//! its half, with 5 skills at random levels; each queue requires one skill at ≥ 5 and has two
//! widening steps. Strategies cycle over all six.
//!
//! - "agent ready": an agent of the busy half becomes Ready and takes the best head across its
//!   queues (or finds none it qualifies for). Undone (untimed) by RONA / a pause.
//! - "call arrives": a caller joins an idle-half queue and is offered to the strategy's pick.
//!   Undone (untimed) by an abandon.
//!
//! Besides criterion's means, a manual pass prints p50 / p99 / max per decision, and the memory
//! per waiting caller: the type-size estimate and the measured RSS growth.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{rngs::StdRng, Rng, SeedableRng};
use switchboard::acd::{
    AcdConfig, AgentConfig, AgentId, AgentState, CallId, Engine, Footprint, MembershipConfig,
    OfferFailure, Output, QueueConfig, QueueId, StepConfig, StrategyKind,
};

const AGENTS: u32 = 10_000;
const QUEUES: u32 = 1_000;
const WAITING: u64 = 100_000;
const SKILLS: u32 = 50;

fn config() -> AcdConfig {
    let mut rng = StdRng::seed_from_u64(7);
    let strategies = [
        StrategyKind::LongestIdle,
        StrategyKind::BestFit,
        StrategyKind::RoundRobin,
        StrategyKind::FewestCalls,
        StrategyKind::LeastTalkTime,
        StrategyKind::RingAll,
    ];
    let queues = (0..QUEUES)
        .map(|q| QueueConfig {
            skills: BTreeMap::from([(format!("s{}", q % SKILLS), 5)]),
            strategy: strategies[q as usize % strategies.len()],
            steps: vec![
                StepConfig {
                    after_secs: 30,
                    min_level: Some(3),
                    any_with_skill: false,
                    overflow: None,
                },
                StepConfig {
                    after_secs: 60,
                    min_level: None,
                    any_with_skill: true,
                    overflow: None,
                },
            ],
            max_wait_secs: Some(3600),
            ..QueueConfig::named(&format!("q{q}"))
        })
        .collect();
    let half = QUEUES / 2;
    let agents = (0..AGENTS)
        .map(|a| {
            let base = if a < AGENTS / 2 { 0 } else { half };
            let mut queues = Vec::new();
            while queues.len() < 5 {
                let q = base + rng.random_range(0..half);
                if !queues.contains(&q) {
                    queues.push(q);
                }
            }
            AgentConfig {
                id: format!("{a}"),
                name: format!("agent {a}"),
                skills: queues
                    .iter()
                    .map(|q| (format!("s{}", q % SKILLS), rng.random_range(1..=10)))
                    .collect(),
                queues: queues
                    .iter()
                    .map(|q| MembershipConfig {
                        queue: format!("q{q}"),
                        penalty: 0,
                    })
                    .collect(),
            }
        })
        .collect();
    AcdConfig {
        agents,
        queues,
        ..AcdConfig::default()
    }
}

fn rss_bytes() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

struct World {
    e: Engine,
    now: Instant,
    next_call: u64,
    /// Decisions that ended in an offer (the rest found no caller the agent qualifies for).
    offered: u64,
}

fn world() -> World {
    let now = Instant::now();
    let mut e = Engine::new(&config(), now, 1_700_000_000_000).expect("bench config");
    for a in 0..AGENTS {
        let a = AgentId(a);
        e.handle_agent_login(now, a).expect("login");
        if a.0 < AGENTS / 2 {
            e.handle_agent_not_ready(now, a, "bench").expect("pause");
        }
    }
    let before = rss_bytes();
    for c in 0..WAITING {
        let q = QueueId((c % u64::from(QUEUES / 2)) as u32);
        e.handle_call_arrived(now, CallId(c), q, (c % 3) as u8)
            .expect("join");
    }
    while e.poll_output().is_some() {}
    if let (Some(b), Some(a)) = (before, rss_bytes()) {
        println!(
            "RSS growth for {WAITING} waiting calls: {} bytes/call (includes event buffer churn)",
            (a.saturating_sub(b)) / WAITING as usize
        );
    }
    let f = Footprint::per_waiting_call();
    println!(
        "estimated per waiting call: {} bytes (Call {} B in a hash slot of {} B, 2 B-tree entries {} B, 2 timers {} B)",
        f.total(),
        f.call_struct,
        f.hash_slot,
        f.btree_entries,
        f.timers
    );
    World {
        e,
        now,
        next_call: WAITING,
        offered: 0,
    }
}

impl World {
    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.e.poll_output()).collect()
    }

    /// Timed: a busy-half agent becomes Ready. Untimed: undo it.
    fn agent_ready(&mut self, a: AgentId) -> Duration {
        let t = Instant::now();
        self.e.handle_agent_ready(self.now, a).expect("ready");
        let out = self.drain();
        let d = t.elapsed();
        black_box(&out);
        match self.e.agent_state(a) {
            Some(AgentState::Offered { offer }) => {
                let offer = *offer;
                self.offered += 1;
                self.e
                    .handle_offer_failed(self.now, offer, OfferFailure::NoAnswer)
                    .expect("rona");
            }
            _ => self
                .e
                .handle_agent_not_ready(self.now, a, "bench")
                .expect("pause"),
        }
        self.drain();
        d
    }

    /// Timed: a caller joins an idle-half queue. Untimed: the caller abandons.
    fn call_arrives(&mut self, q: QueueId) -> Duration {
        let c = CallId(self.next_call);
        self.next_call += 1;
        let t = Instant::now();
        self.e.handle_call_arrived(self.now, c, q, 0).expect("join");
        let out = self.drain();
        let d = t.elapsed();
        black_box(&out);
        self.e
            .handle_caller_abandoned(self.now, c)
            .expect("abandon");
        self.drain();
        d
    }
}

fn percentiles(name: &str, mut v: Vec<Duration>) {
    v.sort_unstable();
    let p = |x: f64| v[((v.len() as f64 - 1.0) * x) as usize];
    println!(
        "{name}: n={} p50={:?} p99={:?} max={:?}",
        v.len(),
        p(0.5),
        p(0.99),
        v[v.len() - 1]
    );
}

fn bench(c: &mut Criterion) {
    let mut w = world();
    let mut rng = StdRng::seed_from_u64(11);
    let busy: Vec<AgentId> = (0..AGENTS / 2).map(AgentId).collect();
    let idle_queues: Vec<QueueId> = (QUEUES / 2..QUEUES).map(QueueId).collect();

    let samples: Vec<_> = (0..20_000)
        .map(|_| w.agent_ready(busy[rng.random_range(0..busy.len())]))
        .collect();
    percentiles("agent ready (100k waiting)", samples);
    println!("  of which ended in an offer: {}", w.offered);
    let samples: Vec<_> = (0..20_000)
        .map(|_| w.call_arrives(idle_queues[rng.random_range(0..idle_queues.len())]))
        .collect();
    percentiles("call arrives (5k ready agents)", samples);

    let mut g = c.benchmark_group("acd");
    g.bench_function("agent_ready_100k_waiting", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| w.agent_ready(busy[rng.random_range(0..busy.len())]))
                .sum()
        })
    });
    g.bench_function("call_arrives_5k_ready", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| w.call_arrives(idle_queues[rng.random_range(0..idle_queues.len())]))
                .sum()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
