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
const STREAM_CHURN: u64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// The schedule's headcount from now (ramps are expanded into one event per agent).
    Target(u32),
    /// Churn: an agent leaves now (the `n`-th departure, a stream index).
    Churn(u64),
    /// Churn: a replacement logs in (up to the current headcount).
    Replace,
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
    /// Leaving for good (churn): a schedule that wants more agents does not keep them.
    churned: bool,
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
    /// Since when agents have been meant to work without a connect (None: nobody is).
    stall_since: Option<f64>,
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
                churned: false,
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
        stall_since: None,
    };
    sim.set_target(sc.agents);
    let mut from = sc.agents;
    for s in &sc.schedule {
        // A ramp changes the headcount one agent at a time, evenly over `ramp_min`.
        let steps = from.abs_diff(s.agents);
        for k in 1..=steps {
            let n = if s.agents > from { from + k } else { from - k };
            let t = s.at_min + s.ramp_min * f64::from(k) / f64::from(steps);
            sim.push(t * 60.0, Ev::Target(n));
        }
        from = s.agents;
    }
    sim.schedule_churn(0);
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
            Ev::Target(n) => self.set_target(n),
            Ev::Churn(k) => self.churn(k),
            Ev::Replace => self.set_target(self.target_agents),
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

    /// A connect (or the first login after nobody was in): the stall clock restarts.
    fn progress(&mut self) {
        if let Some(since) = self.stall_since {
            self.st.note_stall(self.now - since);
        }
        self.stall_since = Some(self.now);
    }

    fn logged_in(&self) -> u32 {
        self.agents
            .iter()
            .filter(|a| a.st != AgentSt::Off && !a.leaving)
            .count() as u32
    }

    fn set_target(&mut self, n: u32) {
        self.target_agents = n;
        if n == 0 {
            // Nobody is meant to be working: not a stall.
            if let Some(since) = self.stall_since.take() {
                self.st.note_stall(self.now - since);
            }
        } else if self.stall_since.is_none() {
            self.stall_since = Some(self.now);
        }
        let mut have = self.logged_in();
        // Log in: agents marked leaving stay first, then new ones.
        for a in 0..self.agents.len() as u32 {
            if have >= n {
                break;
            }
            let ag = &mut self.agents[a as usize];
            if ag.st != AgentSt::Off && ag.leaving && !ag.churned {
                ag.leaving = false;
                have += 1;
                let r = self.pace(|p, now| p.handle_agent_leaving(now, AgentId(a), false));
                debug_assert!(r.is_ok(), "{r:?}");
            }
        }
        // Churned agents still finishing a call hold their slot: new people need new slots.
        let free = self.agents.iter().filter(|a| a.st == AgentSt::Off).count() as u32;
        let grow = n.saturating_sub(have).saturating_sub(free);
        self.agents.extend((0..grow).map(|_| SimAgent {
            st: AgentSt::Off,
            leaving: false,
            churned: false,
            login_at: 0.0,
        }));
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
                // The pacer hears of it now, not when the wrap-up ends.
                let r = self.pace(|p, now| p.handle_agent_leaving(now, AgentId(a as u32), true));
                debug_assert!(r.is_ok(), "{r:?}");
            } else {
                break;
            }
            have -= 1;
        }
    }

    /// The next churn departure after `k` of them, at the campaign's current rate.
    fn schedule_churn(&mut self, k: u64) {
        let Some(ch) = self.sc.churn else {
            return;
        };
        let rate = ch.per_agent_hour * f64::from(self.target_agents.max(1)) / 3600.0;
        if rate <= 0.0 {
            return;
        }
        let mut rng = SmallRng::seed_from_u64(stream_seed(self.seed, STREAM_CHURN, k));
        let u: f64 = 1.0 - rng.random::<f64>();
        self.push(self.now - u.ln() / rate, Ev::Churn(k));
    }

    /// Churn departure `k`: a random logged-in agent leaves (now if idle, else after its
    /// call and wrap-up); a replacement logs in after `replace_after_min`.
    fn churn(&mut self, k: u64) {
        let present: Vec<u32> = (0..self.agents.len() as u32)
            .filter(|&a| {
                let ag = &self.agents[a as usize];
                ag.st != AgentSt::Off && !ag.leaving
            })
            .collect();
        if !present.is_empty() {
            let mut rng = SmallRng::seed_from_u64(stream_seed(self.seed, STREAM_CHURN, k));
            let _skip: f64 = rng.random();
            let a = present[rng.random_range(0..present.len())];
            if matches!(self.agents[a as usize].st, AgentSt::Idle { .. }) {
                self.logout(a);
            } else {
                let ag = &mut self.agents[a as usize];
                ag.leaving = true;
                ag.churned = true;
                let r = self.pace(|p, now| p.handle_agent_leaving(now, AgentId(a), true));
                debug_assert!(r.is_ok(), "{r:?}");
            }
            let after = self.sc.churn.map_or(0.0, |c| c.replace_after_min) * 60.0;
            if after > 0.0 {
                self.push(self.now + after, Ev::Replace);
            } else {
                self.set_target(self.target_agents);
            }
        }
        self.schedule_churn(k + 1);
    }

    fn logout(&mut self, a: u32) {
        self.idle.retain(|&x| x != a);
        let ag = &mut self.agents[a as usize];
        ag.st = AgentSt::Off;
        ag.leaving = false;
        ag.churned = false;
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
        self.progress();
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
        let Some(fate) = self.fates.get_mut(k as usize).and_then(Option::take) else {
            return;
        };
        self.st.cancelled += 1;
        // A person who would have answered heard it ring 15 s and more: a lead spent.
        if matches!(fate.kind, FateKind::Person { .. }) {
            self.st.people_hung_up += 1;
        }
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
        if let Some(since) = self.stall_since {
            self.st.note_stall(self.end - since);
        }
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
