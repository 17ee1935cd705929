//! The dialer's runtime core, sans-IO: it owns the pacing controller, the campaigns' run
//! state and figures, and which call is which dial. The daemon feeds it the endpoint's
//! dialer and ACD events and the clock; it hands out the dials to place.
//!
//! ```text
//! loop {
//!     runtime.handle_dialer_event(now, wall, &ev)      // Output::Dialer from the endpoint
//!     runtime.handle_acd_event(now, wall, &ev)         // agent states of campaign members
//!     runtime.handle_timeout(now)                      // at runtime.poll_timeout()
//!     while let Some(order) = runtime.poll_dial(now, wall) {
//!         let placed = endpoint.dial_campaign(now, order.clone());
//!         runtime.handle_placed(now, wall, &order, placed);
//!     }
//!     while let Some(call) = runtime.poll_cancel() {
//!         endpoint.hang_up_surplus_dial(now, call);       // its outcome: an event as above
//!     }
//! }
//! ```
//!
//! Preview campaigns: agents ask `preview_next`, then `preview_dial` (an agent-first order
//! out of `poll_dial`) or `preview_skip` (`preview.rs`). Personal callbacks are dialed to
//! their agent first, in every mode (`personal.rs`).

mod agents;
pub mod book;
pub mod memory;
mod personal;
pub mod preview;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_preview;
#[cfg(test)]
mod tests_surplus;
#[cfg(test)]
mod tests_update;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use super::overrides::Overrides;
use super::pacing::{CampaignId, DialId, DialOutcome, Pacing, PacingError};
use super::source::{AttemptResult, LeadDial, LeadSource};
use crate::config::CampaignConfig;
use crate::sip::endpoint::calls::{
    CallRef, CampaignDial, DialError, DialerEvent, DialerEventKind, DispositionSet,
    DISPOSITION_WINDOW,
};

/// Whether a campaign places dials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// No new dials; calls in progress go on.
    Paused,
    /// Like paused, and the campaign is not expected back soon (`enabled = false`).
    Stopped,
}

impl RunState {
    /// The stored name back (None: not one of ours).
    pub fn parse(s: &str) -> Option<RunState> {
        match s {
            "running" => Some(RunState::Running),
            "paused" => Some(RunState::Paused),
            "stopped" => Some(RunState::Stopped),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Stopped => "stopped",
        }
    }
}

/// A campaign's figures since start (exact counts from the events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub dials: u64,
    /// People who answered (connected + abandoned + still waiting).
    pub answered: u64,
    pub connected: u64,
    pub abandoned: u64,
    pub machines: u64,
    pub busy: u64,
    pub no_answer: u64,
    pub failed: u64,
    /// Dials in progress.
    pub in_progress: u64,
}

impl Stats {
    /// Abandoned over live answers that resolved (the regulators' measure).
    pub fn abandon_rate(&self) -> f64 {
        let live = self.connected + self.abandoned;
        if live == 0 {
            0.0
        } else {
            self.abandoned as f64 / live as f64
        }
    }
}

/// One campaign as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignView {
    pub name: String,
    pub mode: &'static str,
    pub state: RunState,
    pub queue: String,
    pub stats: Stats,
    /// Campaign agents logged in.
    pub agents: u32,
    /// The effective settings (the config's, or an override's).
    pub ratio: Option<f64>,
    pub caller_id: String,
    pub ring_timeout_secs: u64,
    pub max_abandon_rate: f64,
    pub max_lines: u32,
    /// The settings an override sets (UpdateCampaign), in a fixed order.
    pub overridden: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no campaign `{0}` (ListCampaigns shows them)")]
    UnknownCampaign(String),
}

/// Why `update_campaign` refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    #[error("no campaign `{0}` (ListCampaigns shows them)")]
    UnknownCampaign(String),
    #[error("{0}")]
    Invalid(#[from] crate::config::campaign_rules::RuleError),
    #[error("pacing refused the settings: {0}")]
    Pacing(#[from] PacingError),
}

struct Campaign {
    /// The effective settings: `base` with `overrides` applied.
    cfg: CampaignConfig,
    /// As `[[campaigns]]` has it.
    base: CampaignConfig,
    overrides: Overrides,
    id: CampaignId,
    state: RunState,
    stats: Stats,
    /// Inbound queues this campaign's agents also serve (blending).
    inbound: HashSet<String>,
    /// Index into `Runtime::sources`: where this campaign's leads come from.
    source: usize,
}

/// A placed dial.
struct Dial {
    id: DialId,
    campaign: usize,
    attempt_id: i64,
    /// A person answered and waits (pacing has been told `Human`).
    waiting: bool,
    /// An agent-first dial: the agent whose phone rings first.
    agent: Option<String>,
    /// Pacing knows of it (at once for a paced dial; an agent-first dial once its lead is
    /// dialed, since until then the agent may still refuse and no dial happens).
    placed: bool,
}

pub struct Runtime {
    pacing: Pacing,
    campaigns: Vec<Campaign>,
    by_name: HashMap<String, usize>,
    dials: HashMap<CallRef, Dial>,
    next_dial: u64,
    /// Attempts handed out by `poll_dial` and not yet reported placed.
    orders: VecDeque<CampaignDial>,
    agents: agents::Agents,
    /// Lead sources; each campaign names one (the in-memory list or the lead book).
    sources: Vec<Box<dyn LeadSource + Send>>,
    /// Connected calls still open to an agent's disposition: call UUID → (campaign, attempt).
    connected: HashMap<String, (usize, i64)>,
    /// The same UUIDs by connect time, to forget them after the disposition window.
    connected_order: VecDeque<(Instant, String)>,
    /// Preview: the lead each agent was shown and has not dialed or skipped yet.
    previews: HashMap<String, LeadDial>,
    /// When to look again for personal callbacks come due for agents already ready.
    next_sweep: Option<Instant>,
}

/// The order for a lead (`agent`: dial that agent first).
fn order_of(lead: LeadDial, agent: Option<String>) -> CampaignDial {
    let mut vars: Vec<(String, String)> = lead.fields.into_iter().collect();
    if let Some(n) = lead.name {
        vars.push(("name".into(), n));
    }
    CampaignDial {
        campaign: lead.campaign,
        lead_id: lead.lead_id,
        attempt_id: lead.attempt_id,
        number: lead.number,
        vars,
        agent,
    }
}

/// The human-readable mode name.
pub fn mode_name(m: super::pacing::Mode) -> &'static str {
    use super::pacing::Mode;
    match m {
        Mode::Preview => "preview",
        Mode::Progressive => "progressive",
        Mode::FixedRatio { .. } => "fixed_ratio",
        Mode::Predictive => "predictive",
    }
}

impl Runtime {
    /// `agents`: each ACD agent (by directory index: the ACD's AgentId) with the queues it
    /// serves. An agent works the first campaign whose queue it serves.
    pub fn new(
        campaigns: &[CampaignConfig],
        agents: &[(String, Vec<String>)],
        source: Box<dyn LeadSource + Send>,
    ) -> Result<Runtime, PacingError> {
        let mut pacing = Pacing::new();
        let mut out = Vec::new();
        let mut by_name = HashMap::new();
        for c in campaigns {
            let id = pacing.add_campaign(c.pacing.clone())?;
            let inbound: HashSet<String> = agents
                .iter()
                .filter(|(_, qs)| qs.contains(&c.queue))
                .flat_map(|(_, qs)| qs.iter().cloned())
                .filter(|q| *q != c.queue && !campaigns.iter().any(|o| o.queue == *q))
                .collect();
            by_name.insert(c.name.clone(), out.len());
            out.push(Campaign {
                cfg: c.clone(),
                base: c.clone(),
                overrides: Overrides::default(),
                id,
                state: if c.enabled {
                    RunState::Running
                } else {
                    RunState::Stopped
                },
                stats: Stats::default(),
                inbound,
                source: 0,
            });
        }
        let membership = agents
            .iter()
            .enumerate()
            .filter_map(|(i, (name, qs))| {
                let camp = out.iter().position(|c| qs.contains(&c.cfg.queue))?;
                Some((i as u32, (name.clone(), camp)))
            })
            .collect();
        Ok(Runtime {
            pacing,
            campaigns: out,
            by_name,
            dials: HashMap::new(),
            next_dial: 1,
            orders: VecDeque::new(),
            agents: agents::Agents::new(membership),
            sources: vec![source],
            connected: HashMap::new(),
            connected_order: VecDeque::new(),
            previews: HashMap::new(),
            next_sweep: None,
        })
    }

    /// Take `campaigns`' leads from `source` from now on (the others keep theirs).
    pub fn add_source(&mut self, source: Box<dyn LeadSource + Send>, campaigns: &[&str]) {
        self.sources.push(source);
        let idx = self.sources.len() - 1;
        for name in campaigns {
            if let Some(&ci) = self.by_name.get(*name) {
                self.campaigns[ci].source = idx;
            }
        }
    }

    /// The runtime for a config: its campaigns, the ACD agents in config order (the ACD's
    /// AgentIds), and each campaign's `numbers` as the in-memory lead source (the lead book
    /// replaces it behind the same trait).
    pub fn from_config(cfg: &crate::config::Config) -> Result<Runtime, PacingError> {
        let agents: Vec<(String, Vec<String>)> = cfg
            .acd
            .engine
            .agents
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    a.queues.iter().map(|m| m.queue.clone()).collect(),
                )
            })
            .collect();
        let mut leads = memory::MemoryLeads::new();
        leads.set_final_codes(
            cfg.dispositions
                .iter()
                .filter(|d| d.is_final)
                .map(|d| d.code.clone()),
        );
        for c in &cfg.campaigns {
            leads.add_campaign(&c.name, c.leads.clone(), &c.numbers);
        }
        Runtime::new(&cfg.campaigns, &agents, Box::new(leads))
    }

    /// The next dial to place, asking the lead source for the leads pacing wants.
    pub fn poll_dial(&mut self, now: Instant, wall: SystemTime) -> Option<CampaignDial> {
        if self.next_sweep.is_none_or(|t| t <= now) {
            self.next_sweep = Some(now + personal::SWEEP);
            self.sweep_personal(now, wall);
        }
        loop {
            if let Some(o) = self.orders.pop_front() {
                return Some(o);
            }
            let req = self.pacing.poll_dials()?;
            let Some(ci) = self.campaigns.iter().position(|c| c.id == req.campaign) else {
                continue;
            };
            let c = &self.campaigns[ci];
            if c.state != RunState::Running {
                let _ = self
                    .pacing
                    .handle_dials_not_placed(now, req.campaign, req.count);
                continue;
            }
            let name = c.cfg.name.clone();
            let source = c.source;
            let mut missing = 0;
            for _ in 0..req.count {
                match self.sources[source].next_lead(wall, &name) {
                    Some(lead) => self.orders.push_back(order_of(lead, None)),
                    None => missing += 1,
                }
            }
            if missing > 0 {
                tracing::debug!(campaign = %name, missing, "no lead to dial now");
                let _ = self
                    .pacing
                    .handle_dials_not_placed(now, req.campaign, missing);
            }
        }
    }

    /// The next surplus dial pacing wants hung up (it has rung at least the regulated
    /// minimum): the caller CANCELs it, and its outcome comes back as usual.
    pub fn poll_cancel(&mut self) -> Option<CallRef> {
        while let Some(id) = self.pacing.poll_cancels() {
            let call = self
                .dials
                .iter()
                .find(|(_, d)| d.id == id && d.placed && !d.waiting)
                .map(|(&c, _)| c);
            if call.is_some() {
                return call;
            }
        }
        None
    }

    /// What came of `dial_campaign` for an order from `poll_dial`.
    pub fn handle_placed(
        &mut self,
        now: Instant,
        wall: SystemTime,
        order: &CampaignDial,
        placed: Result<CallRef, DialError>,
    ) {
        let Some(&ci) = self.by_name.get(&order.campaign) else {
            return;
        };
        let c = &mut self.campaigns[ci];
        match placed {
            Ok(call) if order.agent.is_some() => {
                let id = DialId(self.next_dial);
                self.next_dial += 1;
                self.dials.insert(
                    call,
                    Dial {
                        id,
                        campaign: ci,
                        attempt_id: order.attempt_id,
                        waiting: false,
                        agent: order.agent.clone(),
                        placed: false,
                    },
                );
            }
            Err(e) if order.agent.is_some() => {
                tracing::info!(campaign = %order.campaign, agent = ?order.agent, error = %e, "agent-first dial not placed");
                let source = c.source;
                if let Some(a) = &order.agent {
                    self.agents.release(&mut self.pacing, now, a);
                }
                self.sources[source].handle_attempt(
                    wall,
                    order.attempt_id,
                    &AttemptResult::NotDialed {
                        reason: e.to_string(),
                    },
                );
            }
            Ok(call) => {
                let id = DialId(self.next_dial);
                self.next_dial += 1;
                if let Err(e) = self.pacing.handle_dial_placed(now, c.id, id) {
                    tracing::warn!(error = %e, "pacing refused a placed dial");
                }
                c.stats.dials += 1;
                c.stats.in_progress += 1;
                self.dials.insert(
                    call,
                    Dial {
                        id,
                        campaign: ci,
                        attempt_id: order.attempt_id,
                        waiting: false,
                        agent: None,
                        placed: true,
                    },
                );
            }
            Err(e) => {
                tracing::warn!(campaign = %order.campaign, error = %e, "campaign dial not placed");
                let _ = self.pacing.handle_dials_not_placed(now, c.id, 1);
                self.sources[c.source].handle_attempt(
                    wall,
                    order.attempt_id,
                    &AttemptResult::NotDialed {
                        reason: e.to_string(),
                    },
                );
            }
        }
    }

    /// A step of a campaign call (from `Output::Dialer`).
    pub fn handle_dialer_event(&mut self, now: Instant, wall: SystemTime, ev: &DialerEvent) {
        let Some(d) = self.dials.get_mut(&ev.call) else {
            return;
        };
        let (id, ci, attempt) = (d.id, d.campaign, d.attempt_id);
        let outcome = |o| (Some(o), None::<AttemptResult>);
        let (pacing_outcome, result) = match &ev.kind {
            DialerEventKind::Dialed => {
                if let (Some(agent), false) = (d.agent.clone(), d.placed) {
                    // The agent took the call and their lead is dialed: a dial as any
                    // other for pacing and the figures from now on.
                    d.placed = true;
                    let c = &mut self.campaigns[ci];
                    if let Err(e) = self.pacing.handle_dial_placed(now, c.id, id) {
                        tracing::warn!(error = %e, "pacing refused an agent-first dial");
                    }
                    c.stats.dials += 1;
                    c.stats.in_progress += 1;
                    self.agents.release(&mut self.pacing, now, &agent);
                }
                return;
            }
            DialerEventKind::NotDialed { reason } => {
                if d.placed {
                    // Only an agent-first dial before its lead was dialed says this.
                    return;
                }
                if let Some(agent) = d.agent.clone() {
                    self.agents.release(&mut self.pacing, now, &agent);
                }
                let source = self.campaigns[ci].source;
                self.sources[source].handle_attempt(
                    wall,
                    attempt,
                    &AttemptResult::NotDialed {
                        reason: reason.clone(),
                    },
                );
                self.dials.remove(&ev.call);
                return;
            }
            // The dial resolved at its connect. The agent is not free yet: the ACD has them
            // OnCall, then in wrap-up, and its states end pacing's talk and wrap.
            DialerEventKind::Ended { .. } => return,
            DialerEventKind::Answered => {
                d.waiting = true;
                self.campaigns[ci].stats.answered += 1;
                outcome(DialOutcome::Human)
            }
            DialerEventKind::Machine { left_message } => {
                self.campaigns[ci].stats.machines += 1;
                (
                    Some(DialOutcome::Machine),
                    Some(AttemptResult::Machine {
                        left_message: *left_message,
                    }),
                )
            }
            DialerEventKind::Busy => {
                self.campaigns[ci].stats.busy += 1;
                (Some(DialOutcome::Busy), Some(AttemptResult::Busy))
            }
            DialerEventKind::NoAnswer => {
                self.campaigns[ci].stats.no_answer += 1;
                (Some(DialOutcome::NoAnswer), Some(AttemptResult::NoAnswer))
            }
            DialerEventKind::Failed { cause } => {
                self.campaigns[ci].stats.failed += 1;
                let result = AttemptResult::Failed {
                    cause: cause.clone(),
                };
                // A lead answered and then the call failed (media): it is over for pacing
                // as an abandon would be.
                if d.waiting {
                    let _ = self.pacing.handle_abandoned(now, id);
                    (None, Some(result))
                } else {
                    (Some(DialOutcome::Failed), Some(result))
                }
            }
            DialerEventKind::Connected { agent } => {
                self.campaigns[ci].stats.connected += 1;
                match self.agents.connected(&mut self.pacing, now, agent) {
                    Some(a) => {
                        if let Err(e) = self.pacing.handle_connected(now, id, a) {
                            tracing::warn!(error = %e, "pacing refused a connect");
                        }
                    }
                    // Every member of a campaign queue is a campaign agent, so only an agent
                    // pacing refused to log in lands here: end the wait rather than leave a
                    // phantom answer holding a line forever (pacing counts it as abandoned).
                    None => drop(self.pacing.handle_abandoned(now, id)),
                }
                self.remember_connected(now, &ev.uuid, ci, attempt);
                (
                    None,
                    Some(AttemptResult::Connected {
                        agent: agent.clone(),
                    }),
                )
            }
            DialerEventKind::Abandoned => {
                self.campaigns[ci].stats.abandoned += 1;
                let _ = self.pacing.handle_abandoned(now, id);
                (None, Some(AttemptResult::Abandoned))
            }
        };
        if let Some(o) = pacing_outcome {
            if let Err(e) = self.pacing.handle_dial_outcome(now, id, o) {
                tracing::warn!(error = %e, "pacing refused an outcome");
            }
        }
        if let Some(r) = result {
            let source = self.campaigns[ci].source;
            self.sources[source].handle_attempt(wall, attempt, &r);
            self.campaigns[ci].stats.in_progress =
                self.campaigns[ci].stats.in_progress.saturating_sub(1);
            if let Some(Dial {
                agent: Some(agent), ..
            }) = self.dials.remove(&ev.call)
            {
                // (Released at `Dialed` already; a no-op then.)
                self.agents.release(&mut self.pacing, now, &agent);
            }
        }
    }

    /// A campaign's live answers and abandons from before this run (the lead book's last
    /// 30 days) for pacing's abandon controller.
    pub fn seed_abandons(&mut self, campaign: &str, live: u64, abandoned: u64) {
        if let Some(&ci) = self.by_name.get(campaign) {
            let _ = self
                .pacing
                .seed_abandons(self.campaigns[ci].id, live, abandoned);
        }
    }

    /// A campaign's live answers of the last day before this run (age at `now`, abandoned)
    /// for pacing's day rate and rolling-hour abandon guard.
    pub fn seed_abandon_events(
        &mut self,
        now: Instant,
        campaign: &str,
        events: &[(Duration, bool)],
    ) {
        if let Some(&ci) = self.by_name.get(campaign) {
            let _ = self
                .pacing
                .seed_abandon_events(now, self.campaigns[ci].id, events);
        }
    }

    /// Keep a connected call's attempt for its disposition; forget those past the window.
    fn remember_connected(&mut self, now: Instant, uuid: &str, ci: usize, attempt: i64) {
        while let Some((at, _)) = self.connected_order.front() {
            if now.saturating_duration_since(*at) <= DISPOSITION_WINDOW {
                break;
            }
            if let Some((_, old)) = self.connected_order.pop_front() {
                self.connected.remove(&old);
            }
        }
        self.connected.insert(uuid.to_string(), (ci, attempt));
        self.connected_order.push_back((now, uuid.to_string()));
    }

    /// An agent's disposition (from `Output::Disposition`) for a campaign call: the lead's
    /// source records it (final, callback, retry). Other calls' dispositions are ignored.
    pub fn handle_disposition(&mut self, wall: SystemTime, d: &DispositionSet) {
        let Some(&(ci, attempt)) = self.connected.get(&d.call) else {
            return;
        };
        let callback_at = d
            .callback_at_unix_ms
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64));
        // A callback an agent sets is theirs to take (the lead book's "personal" callback).
        let personal = callback_at.is_some() && d.agent.is_some();
        let source = self.campaigns[ci].source;
        if let Err(e) = self.sources[source].handle_disposition(
            wall,
            attempt,
            &d.code,
            d.agent.as_deref(),
            callback_at,
            personal,
        ) {
            tracing::warn!(call = %d.call, attempt, error = %e, "disposition not recorded on the lead");
        }
    }

    /// An ACD event: agent state changes of campaign agents go to pacing. An agent who
    /// becomes ready first gets their due personal callback, if any (dialed to them first),
    /// before pacing counts them for its dials.
    pub fn handle_acd_event(&mut self, now: Instant, wall: SystemTime, ev: &crate::acd::AcdEvent) {
        let crate::acd::EventKind::AgentState { agent, to, .. } = &ev.kind else {
            return;
        };
        match *to {
            crate::acd::StateKind::Ready => self.personal_on_ready(now, wall, agent.0),
            crate::acd::StateKind::LoggedOut => self.preview_logged_out(wall, agent.0),
            _ => {}
        }
        self.agents.state(&mut self.pacing, now, agent.0, *to);
    }

    /// Blending: the inbound queues' load (name, callers waiting, longest wait, service
    /// level target). A campaign whose agents also serve an inbound queue dials less as the
    /// longest wait there nears the service level: pressure = longest wait / target.
    pub fn handle_inbound_load(&mut self, now: Instant, queues: &[(String, u32, f64, f64)]) {
        for c in &self.campaigns {
            let p = queues
                .iter()
                .filter(|(q, waiting, ..)| c.inbound.contains(q) && *waiting > 0)
                .map(|(_, _, wait, sl)| if *sl > 0.0 { wait / sl } else { 1.0 })
                .fold(0.0f64, f64::max)
                .clamp(0.0, 1.0);
            let _ = self.pacing.set_inbound_pressure(now, c.id, p);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let sweep = self.next_sweep.filter(|_| self.agents.any_logged_in());
        [self.pacing.poll_timeout(), sweep]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.pacing.handle_timeout(now);
    }

    /// Start, pause or stop a campaign (the API; admin scope).
    pub fn set_state(
        &mut self,
        now: Instant,
        name: &str,
        state: RunState,
    ) -> Result<(), ControlError> {
        let &ci = self
            .by_name
            .get(name)
            .ok_or_else(|| ControlError::UnknownCampaign(name.to_string()))?;
        let c = &mut self.campaigns[ci];
        c.state = state;
        tracing::info!(campaign = %name, state = state.as_str(), "campaign state changed");
        if state == RunState::Running {
            // Re-plan now (a mode change of the same mode is a forced decision).
            let mode = c.cfg.pacing.mode;
            let _ = self.pacing.set_mode(now, c.id, mode);
        }
        Ok(())
    }

    /// Change a campaign's settings (the API; admin scope): `update`'s fields over the
    /// overrides it has (none with `clear`), over its `[[campaigns]]` values. Pacing and
    /// the next dials follow at once; dials in progress keep theirs. Returns the overrides
    /// now in force (what to store; empty: none).
    pub fn update_campaign(
        &mut self,
        now: Instant,
        wall: SystemTime,
        name: &str,
        update: &Overrides,
        clear: bool,
    ) -> Result<Overrides, UpdateError> {
        let &ci = self
            .by_name
            .get(name)
            .ok_or_else(|| UpdateError::UnknownCampaign(name.to_string()))?;
        let c = &mut self.campaigns[ci];
        let overrides = if clear {
            update.clone()
        } else {
            c.overrides.merged(update)
        };
        let cfg = overrides.apply(&c.base)?;
        self.pacing.update_config(now, c.id, cfg.pacing.clone())?;
        tracing::info!(campaign = %name, overrides = %overrides.to_json(), "campaign settings changed");
        let left_preview = c.cfg.pacing.mode == super::pacing::Mode::Preview
            && cfg.pacing.mode != super::pacing::Mode::Preview;
        c.cfg = cfg;
        c.overrides = overrides.clone();
        if left_preview {
            self.preview_mode_left(wall, ci);
        }
        Ok(overrides)
    }

    /// A campaign's effective settings (what the endpoint places its dials with).
    pub fn campaign_config(&self, name: &str) -> Option<&CampaignConfig> {
        let &ci = self.by_name.get(name)?;
        Some(&self.campaigns[ci].cfg)
    }

    /// A campaign's run state at startup (restored from the store).
    pub fn restore_state(&mut self, name: &str, state: RunState) {
        if let Some(&ci) = self.by_name.get(name) {
            self.campaigns[ci].state = state;
        }
    }

    pub fn campaigns(&self) -> Vec<CampaignView> {
        self.campaigns
            .iter()
            .enumerate()
            .map(|(i, c)| CampaignView {
                name: c.cfg.name.clone(),
                mode: mode_name(c.cfg.pacing.mode),
                state: c.state,
                queue: c.cfg.queue.clone(),
                stats: c.stats.clone(),
                agents: self.agents.logged_in(i),
                ratio: match c.cfg.pacing.mode {
                    super::pacing::Mode::FixedRatio { ratio } => Some(ratio),
                    _ => None,
                },
                caller_id: c.cfg.caller_id.clone(),
                ring_timeout_secs: c.cfg.ring_timeout.as_secs(),
                max_abandon_rate: c.cfg.pacing.max_abandon_rate,
                max_lines: c.cfg.pacing.max_outstanding,
                overridden: c.overrides.fields(),
            })
            .collect()
    }

    pub fn campaign(&self, name: &str) -> Option<CampaignView> {
        self.campaigns().into_iter().find(|c| c.name == name)
    }
}
