//! One campaign's pacing state: its agents, dials in flight, estimation windows, the abandon
//! controller, and the decision of how many dials to ask for.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::abandon::AbandonController;
use super::config::{Mode, PacingConfig};
use super::predictive::{PlanState, Planner};
use super::window::{DialWindow, DurationWindow};
use super::{AgentId, DialId, DialOutcome, Estimates};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Phase {
    NotReady,
    Ready,
    Talk { since: Instant },
    Wrap { since: Instant },
}

#[derive(Debug, Clone)]
pub(super) struct Campaign {
    pub cfg: PacingConfig,
    pub agents: HashMap<AgentId, Phase>,
    /// Agents that log out once their call and wrap-up end: not counted on as freeing.
    pub leaving: HashSet<AgentId>,
    /// Placed, unresolved dials and when they were placed.
    pub dials: HashMap<DialId, Instant>,
    /// Dials asked to be hung up as surplus, not yet reported resolved (not counted as in
    /// flight any more).
    pub cancelling: HashSet<DialId>,
    /// Chosen by the last decision, for `poll_cancels`.
    pub cancels: Vec<DialId>,
    /// Live answers waiting for an agent.
    pub waiting: HashMap<DialId, Instant>,
    /// Dials asked for in `poll_dials` but not yet reported placed.
    pub pending: u32,
    pub pressure: f64,
    dialw: DialWindow,
    talkw: DurationWindow,
    wrapw: DurationWindow,
    pub abandon: AbandonController,
    planner: Planner,
    pub last_decision: Option<Instant>,
    pub next_tick: Option<Instant>,
    scratch_dials: Vec<f64>,
    scratch_talk: Vec<f64>,
    scratch_wrap: Vec<f64>,
}

impl Campaign {
    pub fn new(cfg: PacingConfig) -> Self {
        let buckets = cfg.ring_timeout_secs.ceil() as usize + 2;
        Campaign {
            dialw: DialWindow::new(buckets, cfg.window_secs, cfg.window_samples),
            talkw: DurationWindow::new(cfg.window_secs, cfg.window_samples),
            wrapw: DurationWindow::new(cfg.window_secs, cfg.window_samples),
            abandon: AbandonController::new(
                cfg.max_abandon_rate,
                cfg.target_fraction,
                cfg.amd_false_positive,
                cfg.rolling_abandon_secs,
            ),
            planner: Planner::new(cfg.ring_timeout_secs),
            cfg,
            agents: HashMap::new(),
            leaving: HashSet::new(),
            dials: HashMap::new(),
            cancelling: HashSet::new(),
            cancels: Vec::new(),
            waiting: HashMap::new(),
            pending: 0,
            pressure: 0.0,
            last_decision: None,
            next_tick: None,
            scratch_dials: Vec::new(),
            scratch_talk: Vec::new(),
            scratch_wrap: Vec::new(),
        }
    }

    /// New settings mid-run (already validated): the estimates are kept; the abandon cap
    /// and the planner's horizon follow the new values.
    pub fn update_config(&mut self, cfg: PacingConfig) {
        if cfg.max_abandon_rate != self.cfg.max_abandon_rate
            || cfg.target_fraction != self.cfg.target_fraction
        {
            self.abandon
                .set_cap(cfg.max_abandon_rate, cfg.target_fraction);
        }
        if cfg.ring_timeout_secs != self.cfg.ring_timeout_secs {
            self.planner = Planner::new(cfg.ring_timeout_secs);
        }
        self.cfg = cfg;
    }

    pub fn outcome(&mut self, now: Instant, dial: DialId, placed: Instant, outcome: DialOutcome) {
        let after = now.saturating_duration_since(placed).as_secs_f64();
        let live = outcome == DialOutcome::Human;
        self.dialw.push(now, after, live);
        if live {
            self.waiting.insert(dial, now);
        }
    }

    /// An agent left `Talk` / `Wrap`: record the duration.
    pub fn set_phase(&mut self, now: Instant, agent: AgentId, phase: Phase) {
        let old = self.agents.insert(agent, phase);
        match old {
            Some(Phase::Talk { since }) if !matches!(phase, Phase::Talk { .. }) => {
                self.talkw
                    .push(now, now.saturating_duration_since(since).as_secs_f64());
            }
            Some(Phase::Wrap { since }) if !matches!(phase, Phase::Wrap { .. }) => {
                self.wrapw
                    .push(now, now.saturating_duration_since(since).as_secs_f64());
            }
            _ => {}
        }
    }

    /// Is a decision due for an event at `now` (urgent: an agent just became free)?
    pub fn decision_due(&self, now: Instant, urgent: bool) -> bool {
        match (self.cfg.mode, self.last_decision) {
            (Mode::Predictive, Some(last)) if !urgent => {
                now.saturating_duration_since(last).as_secs_f64() >= self.cfg.min_decision_secs
            }
            _ => true,
        }
    }

    /// How many new dials to ask for now. Never with nobody logged in, never negative.
    pub fn decide(&mut self, now: Instant) -> u32 {
        self.last_decision = Some(now);
        let logged_in = self.agents.len();
        self.abandon
            .set_agents(logged_in.saturating_sub(self.leaving.len()));
        self.next_tick = (logged_in > 0 && self.cfg.mode != Mode::Preview)
            .then(|| now + std::time::Duration::from_secs_f64(self.cfg.tick_secs));
        if logged_in == 0 {
            return 0;
        }
        self.scratch_talk.clear();
        self.scratch_wrap.clear();
        let mut ready = 0u32;
        for (agent, phase) in &self.agents {
            // A leaving agent's call still ends, but nobody becomes free by it.
            if self.leaving.contains(agent) {
                continue;
            }
            match *phase {
                Phase::Ready => ready += 1,
                Phase::Talk { since } => self
                    .scratch_talk
                    .push(now.saturating_duration_since(since).as_secs_f64()),
                Phase::Wrap { since } => self
                    .scratch_wrap
                    .push(now.saturating_duration_since(since).as_secs_f64()),
                Phase::NotReady => {}
            }
        }
        let supply = (1.0 - self.pressure).clamp(0.0, 1.0);
        let ready_eff = (f64::from(ready) * supply).floor() as i64;
        let outstanding =
            (self.dials.len() - self.cancelling.len()) as i64 + i64::from(self.pending);
        let waiting = self.waiting.len() as i64;
        let room = (i64::from(self.cfg.max_outstanding) - outstanding)
            .min((self.cfg.max_dials_per_agent * logged_in as f64).floor() as i64 - outstanding)
            .max(0);
        let progressive = (ready_eff - waiting - outstanding).max(0);
        let wanted = match self.cfg.mode {
            Mode::Preview => 0,
            Mode::Progressive => progressive,
            Mode::FixedRatio { ratio } => {
                let target = (ratio * (ready_eff - waiting).max(0) as f64).ceil() as i64;
                (target - outstanding).max(0)
            }
            Mode::Predictive => {
                self.dialw.expire(now);
                self.talkw.expire(now);
                self.wrapw.expire(now);
                self.abandon.expire(now);
                if self.dialw.len() < self.cfg.min_dial_samples
                    || self.talkw.len() < self.cfg.min_talk_samples
                    || self.windows_censored(now)
                {
                    progressive
                } else {
                    self.dialw.refresh();
                    self.talkw.refresh();
                    self.wrapw.refresh();
                    self.scratch_dials.clear();
                    for (d, &placed) in &self.dials {
                        if !self.cancelling.contains(d) {
                            self.scratch_dials
                                .push(now.saturating_duration_since(placed).as_secs_f64());
                        }
                    }
                    self.scratch_dials
                        .extend(std::iter::repeat_n(0.0, self.pending as usize));
                    let st = PlanState {
                        ready: ready_eff as f64,
                        waiting: waiting as u32,
                        dials: &self.scratch_dials,
                        talking: &self.scratch_talk,
                        wrapping: &self.scratch_wrap,
                        supply_scale: supply,
                        agent_reach_secs: self.cfg.agent_reach_secs,
                        budget: self.abandon.budget(),
                        max_new: room.min(u32::MAX as i64) as u32,
                        cancel_after_secs: self.cfg.cancel_surplus_after_secs,
                        lead_cost: self.cfg.lead_cost,
                    };
                    let n = self
                        .planner
                        .plan(&st, &self.dialw, &self.talkw, &self.wrapw);
                    self.pick_cancels(now);
                    i64::from(n).max(progressive)
                }
            }
        };
        wanted.min(room).max(0) as u32
    }

    /// The windows have not yet seen how long things last: more than a tenth (+1) of the
    /// talks in progress have lasted longer than any finished talk, or of the dials in
    /// flight have rung longer than any resolved dial. At the start of a large campaign the
    /// first finished talks and resolved dials are the shortest ones (2,000 agents finish
    /// 10 talks in seconds); planning from them over-dialed to 8 % abandons. Pace like
    /// progressive until then. In steady state the window's longest sample sits far in the
    /// tail, so this does not trigger.
    fn windows_censored(&self, now: Instant) -> bool {
        let too_many = |beyond: usize, of: usize| beyond as f64 > 0.1 * of as f64 + 1.0;
        let talk_max = self.talkw.max_secs();
        let talks = self
            .agents
            .values()
            .filter_map(|p| match *p {
                Phase::Talk { since } => Some(now.saturating_duration_since(since).as_secs_f64()),
                _ => None,
            })
            .collect::<Vec<_>>();
        let talk_beyond = talks.iter().filter(|&&e| e > talk_max + 1.0).count();
        if too_many(talk_beyond, talks.len()) {
            return true;
        }
        let dial_max = self.dialw.max_secs();
        let dial_beyond = self
            .dials
            .values()
            .filter(|&&placed| now.saturating_duration_since(placed).as_secs_f64() > dial_max + 1.0)
            .count();
        too_many(dial_beyond, self.dials.len())
    }

    /// Name the dials the planner chose to hang up: for each whole-second age it gave, one
    /// unchosen dial of that age.
    fn pick_cancels(&mut self, now: Instant) {
        for &age in self.planner.cancels() {
            // The lowest id of that age: the same choice on every run (common random
            // numbers in the simulator).
            let d = self
                .dials
                .iter()
                .filter(|(d, &placed)| {
                    now.saturating_duration_since(placed).as_secs() as usize == age
                        && !self.cancelling.contains(d)
                })
                .min_by_key(|(d, _)| d.0);
            if let Some((&d, _)) = d {
                self.cancelling.insert(d);
                self.cancels.push(d);
            }
        }
    }

    pub fn estimates(&self) -> Estimates {
        Estimates {
            p_live: self.dialw.p_live(),
            dial_samples: self.dialw.len(),
            mean_talk_secs: self.talkw.mean(),
            mean_wrap_secs: self.wrapw.mean(),
            campaign_abandon_rate: self.abandon.campaign_rate(),
            rolling_abandon_rate: self.abandon.rolling_rate(),
            abandon_budget: self.abandon.budget(),
            outstanding: (self.dials.len() - self.cancelling.len()) as u32 + self.pending,
            waiting: self.waiting.len() as u32,
        }
    }
}
