//! One simulated shift of one policy under one seed: a discrete-event loop on a virtual clock
//! that feeds the pacing core exactly as the daemon will.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use rand::{rngs::SmallRng, Rng, SeedableRng};

use super::dist::{stream_seed, uniform, LogNormal};
use super::scenario::Scenario;
use super::stats::SeedStats;
use crate::dialer::pacing::{AgentId, CampaignId, DialId, DialOutcome, Pacing, PacingConfig};

const STREAM_DIAL: u64 = 1;
const STREAM_TALK: u64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Schedule(u32),
    DialResolves(u64),
    ReachDeadline(u64),
    TalkEnds(u32),
    WrapEnds(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum AgentSt {
    Off,
    /// `after_call`: idle since a wrap-up ended (not since logging in), so the gap to the next
    /// connect is an idle gap *between calls*.
    Idle {
        since: f64,
        after_call: bool,
    },
    Busy,
}

#[derive(Debug, Clone, Copy)]
struct SimAgent {
    st: AgentSt,
    leaving: bool,
    login_at: f64,
}

/// What a dial will do, drawn when it is placed (common random numbers: dial k draws the same
/// numbers under every policy).
#[derive(Debug, Clone, Copy)]
struct Fate {
    at: f64,
    kind: FateKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FateKind {
    Person { amd_drops: bool },
    Machine { to_agent: bool },
    Busy,
    NoAnswer,
}

struct Waiting {
    dial: u64,
    person: bool,
    deadline: f64,
}

struct Sim<'a> {
    sc: &'a Scenario,
    seed: u64,
    base: Instant,
    now: f64,
    end: f64,
    heap: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
    pacing: Pacing,
    camp: CampaignId,
    agents: Vec<SimAgent>,
    idle: VecDeque<u32>,
    waiting: VecDeque<Waiting>,
    fates: Vec<Option<Fate>>,
    next_dial: u64,
    connects_drawn: u64,
    target_agents: u32,
    trunks: u32,
    talk_dist: LogNormal,
    human_dist: LogNormal,
    machine_dist: LogNormal,
    st: SeedStats,
    pacing_nanos: u128,
}

fn micros(t: f64) -> u64 {
    (t * 1e6).round().max(0.0) as u64
}

/// Simulate one shift.
pub fn run(sc: &Scenario, cfg: PacingConfig, seed: u64) -> SeedStats {
    let mut pacing = Pacing::new();
    // The scenario validated this config (Scenario::validate runs pacing_config).
    let camp = pacing
        .add_campaign(cfg)
        .expect("invariant: scenario validated the pacing config");
    let max_agents = sc
        .schedule
        .iter()
        .map(|s| s.agents)
        .fold(sc.agents, u32::max);
    let end = sc.shift_hours * 3600.0;
    let mut sim = Sim {
        sc,
        seed,
        base: Instant::now(),
        now: 0.0,
        end,
        heap: BinaryHeap::new(),
        seq: 0,
        pacing,
        camp,
        agents: vec![
            SimAgent {
                st: AgentSt::Off,
                leaving: false,
                login_at: 0.0
            };
            max_agents as usize
        ],
        idle: VecDeque::new(),
        waiting: VecDeque::new(),
        fates: Vec::new(),
        next_dial: 0,
        connects_drawn: 0,
        target_agents: 0,
        trunks: 0,
        talk_dist: LogNormal::from_mean_cv(sc.talk.mean, sc.talk.cv),
        human_dist: LogNormal::from_mean_sd(sc.human_answer.mean, sc.human_answer.sd),
        machine_dist: LogNormal::from_mean_sd(sc.machine_answer.mean, sc.machine_answer.sd),
        st: SeedStats::new(end),
        pacing_nanos: 0,
    };
    sim.set_target(sc.agents);
    for (i, s) in sc.schedule.iter().enumerate() {
        sim.push(s.at_min * 60.0, Ev::Schedule(i as u32));
    }
    sim.flush_dials();
    sim.main_loop();
    sim.finish()
}

impl Sim<'_> {
    fn at(&self, t: f64) -> Instant {
        self.base + Duration::from_secs_f64(t)
    }

    fn push(&mut self, t: f64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((micros(t), self.seq, ev)));
    }

    /// Call into the pacing core, timing it.
    fn pace<T>(&mut self, f: impl FnOnce(&mut Pacing, Instant) -> T) -> T {
        let now = self.at(self.now);
        let t0 = Instant::now();
        let r = f(&mut self.pacing, now);
        self.pacing_nanos += t0.elapsed().as_nanos();
        r
    }

    fn main_loop(&mut self) {
        loop {
            let next_ev = self.heap.peek().map(|Reverse((t, _, _))| *t as f64 / 1e6);
            let next_to = self
                .pacing
                .poll_timeout()
                .map(|i| i.duration_since(self.base).as_secs_f64());
            let t = match (next_ev, next_to) {
                (Some(e), Some(o)) => e.min(o),
                (Some(e), None) => e,
                (None, Some(o)) => o,
                (None, None) => break,
            };
            if t >= self.end {
                break;
            }
            self.now = t.max(self.now);
            if next_to.is_some_and(|o| o <= t) && next_ev.is_none_or(|e| e > t) {
                self.pace(|p, now| p.handle_timeout(now));
            } else if let Some(Reverse((_, _, ev))) = self.heap.pop() {
                self.handle(ev);
            }
            self.flush_dials();
        }
        self.now = self.end;
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Schedule(i) => {
                let n = self.sc.schedule[i as usize].agents;
                self.set_target(n);
            }
            Ev::DialResolves(k) => self.resolve(k),
            Ev::ReachDeadline(k) => self.deadline(k),
            Ev::TalkEnds(a) => {
                self.trunks -= 1;
                let r = self.pace(|p, now| p.handle_talk_ended(now, AgentId(a)));
                debug_assert!(r.is_ok(), "{r:?}");
                let wrap = self.sc.wrap_secs;
                self.st.add_wrap(self.now, wrap);
                self.push(self.now + wrap, Ev::WrapEnds(a));
            }
            Ev::WrapEnds(a) => {
                if self.agents[a as usize].leaving {
                    self.logout(a);
                } else {
                    let r = self.pace(|p, now| p.handle_wrap_ended(now, AgentId(a)));
                    debug_assert!(r.is_ok(), "{r:?}");
                    self.make_idle(a, true);
                }
            }
        }
    }

    fn logged_in(&self) -> u32 {
        self.agents
            .iter()
            .filter(|a| a.st != AgentSt::Off && !a.leaving)
            .count() as u32
    }

    fn set_target(&mut self, n: u32) {
        self.target_agents = n;
        let mut have = self.logged_in();
        // Log in: agents marked leaving stay first, then new ones.
        for a in 0..self.agents.len() as u32 {
            if have >= n {
                break;
            }
            let ag = &mut self.agents[a as usize];
            if ag.st != AgentSt::Off && ag.leaving {
                ag.leaving = false;
                have += 1;
            }
        }
        for a in 0..self.agents.len() as u32 {
            if have >= n {
                break;
            }
            if self.agents[a as usize].st == AgentSt::Off {
                self.agents[a as usize].login_at = self.now;
                let camp = self.camp;
                let _ = self.pace(|p, now| p.handle_agent_login(now, AgentId(a), camp));
                let r = self.pace(|p, now| p.handle_agent_ready(now, AgentId(a)));
                debug_assert!(r.is_ok(), "{r:?}");
                self.make_idle(a, false);
                have += 1;
            }
        }
        // Log out: idle agents now (longest idle first), busy ones after their wrap-up.
        while have > n {
            if let Some(a) = self.idle.pop_front() {
                self.logout(a);
            } else if let Some(a) = (0..self.agents.len())
                .find(|&a| self.agents[a].st == AgentSt::Busy && !self.agents[a].leaving)
            {
                self.agents[a].leaving = true;
            } else {
                break;
            }
            have -= 1;
        }
    }

    fn logout(&mut self, a: u32) {
        self.idle.retain(|&x| x != a);
        let ag = &mut self.agents[a as usize];
        ag.st = AgentSt::Off;
        ag.leaving = false;
        self.st.logged_in_secs += self.now - ag.login_at;
        let r = self.pace(|p, now| p.handle_agent_logout(now, AgentId(a)));
        debug_assert!(r.is_ok(), "{r:?}");
    }

    fn make_idle(&mut self, a: u32, after_call: bool) {
        self.agents[a as usize].st = AgentSt::Idle {
            since: self.now,
            after_call,
        };
        self.idle.push_back(a);
        self.serve_waiting();
    }

    /// Connect waiting answers (oldest first) to idle agents (longest idle first).
    fn serve_waiting(&mut self) {
        while !self.waiting.is_empty() && !self.idle.is_empty() {
            let (Some(w), Some(a)) = (self.waiting.pop_front(), self.idle.pop_front()) else {
                break;
            };
            self.connect(w, a);
        }
    }

    fn connect(&mut self, w: Waiting, a: u32) {
        match self.agents[a as usize].st {
            AgentSt::Idle {
                since,
                after_call: true,
            } => self.st.idle_gaps.push(self.now - since),
            AgentSt::Idle {
                since,
                after_call: false,
            } => self.st.login_gaps.push(self.now - since),
            _ => {}
        }
        self.agents[a as usize].st = AgentSt::Busy;
        let r = self.pace(|p, now| p.handle_connected(now, DialId(w.dial), AgentId(a)));
        debug_assert!(r.is_ok(), "{r:?}");
        let dur = if w.person {
            let mut rng =
                SmallRng::seed_from_u64(stream_seed(self.seed, STREAM_TALK, self.connects_drawn));
            self.connects_drawn += 1;
            let d = self.talk_dist.sample(&mut rng);
            self.st.connects += 1;
            self.st.live_answer(self.now, false);
            self.st.add_talk(self.now, d);
            d
        } else {
            let d = self.sc.amd.map(|x| x.machine_agent_secs).unwrap_or(0.0);
            self.st.machine_connects += 1;
            self.st.add_machine(self.now, d);
            d
        };
        self.push(self.now + dur, Ev::TalkEnds(a));
    }

    fn flush_dials(&mut self) {
        loop {
            if let Some(req) = self.pacing.poll_dials() {
                for _ in 0..req.count {
                    self.place();
                }
            } else if let Some(d) = self.pacing.poll_cancels() {
                // Its outcome may lead to another decision: loop until both are drained.
                self.cancel(d.0);
            } else {
                return;
            }
        }
    }

    /// Hang up a surplus dial: it ends unanswered now (its drawn fate never happens).
    fn cancel(&mut self, k: u64) {
        if self
            .fates
            .get_mut(k as usize)
            .and_then(Option::take)
            .is_none()
        {
            return;
        }
        self.st.cancelled += 1;
        self.trunks -= 1;
        let r = self.pace(|p, now| p.handle_dial_outcome(now, DialId(k), DialOutcome::NoAnswer));
        debug_assert!(r.is_ok(), "{r:?}");
    }

    fn draw_fate(&self, k: u64) -> Fate {
        let sc = self.sc;
        let mut rng = SmallRng::seed_from_u64(stream_seed(self.seed, STREAM_DIAL, k));
        let u: f64 = rng.random();
        let human_t = self.human_dist.sample(&mut rng);
        let machine_t = self.machine_dist.sample(&mut rng);
        let busy_t = uniform(&mut rng, sc.busy_min_secs, sc.busy_max_secs);
        let u_amd: f64 = rng.random();
        let ph = sc.p_human_at(self.now);
        let timeout = Fate {
            at: sc.ring_timeout_secs,
            kind: FateKind::NoAnswer,
        };
        let (fp, pass) = sc
            .amd
            .map(|a| (a.false_positive, a.machine_to_agent))
            .unwrap_or((0.0, 0.0));
        if u < ph {
            if human_t >= sc.ring_timeout_secs {
                return timeout;
            }
            Fate {
                at: human_t,
                kind: FateKind::Person {
                    amd_drops: u_amd < fp,
                },
            }
        } else if u < ph + sc.p_machine {
            if machine_t >= sc.ring_timeout_secs {
                return timeout;
            }
            Fate {
                at: machine_t,
                kind: FateKind::Machine {
                    to_agent: u_amd < pass,
                },
            }
        } else if u < ph + sc.p_machine + sc.p_busy {
            Fate {
                at: busy_t,
                kind: FateKind::Busy,
            }
        } else {
            timeout
        }
    }

    fn place(&mut self) {
        let k = self.next_dial;
        self.next_dial += 1;
        let fate = self.draw_fate(k);
        self.fates.push(Some(fate));
        self.st.dials += 1;
        self.trunks += 1;
        self.st.peak_trunks = self.st.peak_trunks.max(self.trunks);
        let camp = self.camp;
        let r = self.pace(|p, now| p.handle_dial_placed(now, camp, DialId(k)));
        debug_assert!(r.is_ok(), "{r:?}");
        self.push(self.now + fate.at, Ev::DialResolves(k));
    }

    fn resolve(&mut self, k: u64) {
        let Some(fate) = self.fates.get_mut(k as usize).and_then(Option::take) else {
            return;
        };
        let (seen, wait) = match fate.kind {
            FateKind::Person { amd_drops: true } => {
                self.st.live_answer(self.now, true);
                (DialOutcome::Machine, None)
            }
            FateKind::Person { amd_drops: false } => (DialOutcome::Human, Some(true)),
            FateKind::Machine { to_agent: true } => (DialOutcome::Human, Some(false)),
            FateKind::Machine { to_agent: false } => (DialOutcome::Machine, None),
            FateKind::Busy => (DialOutcome::Busy, None),
            FateKind::NoAnswer => (DialOutcome::NoAnswer, None),
        };
        let r = self.pace(|p, now| p.handle_dial_outcome(now, DialId(k), seen));
        debug_assert!(r.is_ok(), "{r:?}");
        match wait {
            None => self.trunks -= 1,
            Some(person) => {
                let deadline = self.now + self.sc.agent_reach_secs;
                self.waiting.push_back(Waiting {
                    dial: k,
                    person,
                    deadline,
                });
                self.push(deadline, Ev::ReachDeadline(k));
                self.serve_waiting();
            }
        }
    }

    fn deadline(&mut self, k: u64) {
        let Some(pos) = self.waiting.iter().position(|w| w.dial == k) else {
            return; // connected in time
        };
        let Some(w) = self.waiting.remove(pos) else {
            return;
        };
        debug_assert!(w.deadline <= self.now + 1e-6);
        self.trunks -= 1;
        if w.person {
            self.st.live_answer(self.now, true);
        }
        let r = self.pace(|p, now| p.handle_abandoned(now, DialId(k)));
        debug_assert!(r.is_ok(), "{r:?}");
    }

    fn finish(mut self) -> SeedStats {
        for a in &self.agents {
            if a.st != AgentSt::Off {
                self.st.logged_in_secs += self.end - a.login_at;
            }
        }
        self.st.pacing_nanos = self.pacing_nanos;
        self.st.decisions = self.pacing.decisions();
        self.st
    }
}
