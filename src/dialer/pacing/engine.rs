//! `Pacing`: the sans-IO front of the pacing core. Routes events to campaigns, decides, and
//! queues the dial requests for `poll_dials`.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::campaign::{Campaign, Phase};
use super::config::{Mode, PacingConfig};
use super::{AgentId, CampaignId, DialId, DialOutcome, DialRequest, Estimates, PacingError};

#[derive(Debug, Default)]
pub struct Pacing {
    campaigns: Vec<Campaign>,
    agent_campaign: HashMap<AgentId, CampaignId>,
    dial_campaign: HashMap<DialId, CampaignId>,
    out: VecDeque<DialRequest>,
    cancels: VecDeque<DialId>,
    decisions: u64,
}

impl Pacing {
    pub fn new() -> Self {
        Pacing::default()
    }

    pub fn add_campaign(&mut self, cfg: PacingConfig) -> Result<CampaignId, PacingError> {
        cfg.validate()?;
        let id = CampaignId(self.campaigns.len() as u32);
        self.campaigns.push(Campaign::new(cfg));
        Ok(id)
    }

    fn campaign(&mut self, c: CampaignId) -> Result<&mut Campaign, PacingError> {
        self.campaigns
            .get_mut(c.0 as usize)
            .ok_or(PacingError::UnknownCampaign(c))
    }

    fn agent_campaign(&self, a: AgentId) -> Result<CampaignId, PacingError> {
        self.agent_campaign
            .get(&a)
            .copied()
            .ok_or(PacingError::UnknownAgent(a))
    }

    fn decide(&mut self, now: Instant, c: CampaignId, urgent: bool) {
        let Some(camp) = self.campaigns.get_mut(c.0 as usize) else {
            return;
        };
        if !camp.decision_due(now, urgent) {
            return;
        }
        self.decisions += 1;
        let n = camp.decide(now);
        self.cancels.extend(camp.cancels.drain(..));
        if n > 0 {
            camp.pending += n;
            self.out.push_back(DialRequest {
                campaign: c,
                count: n,
            });
        }
    }

    /// Change a campaign's mode (e.g. a supervisor switches predictive → progressive).
    pub fn set_mode(&mut self, now: Instant, c: CampaignId, mode: Mode) -> Result<(), PacingError> {
        let camp = self.campaign(c)?;
        let mut cfg = camp.cfg.clone();
        cfg.mode = mode;
        cfg.validate()?;
        camp.cfg = cfg;
        self.decide(now, c, true);
        Ok(())
    }

    /// Replace a campaign's settings (an operator's `UpdateCampaign`: mode, cap, ring
    /// timeout, max lines) and re-plan at once. The estimates gathered so far are kept.
    pub fn update_config(
        &mut self,
        now: Instant,
        c: CampaignId,
        cfg: PacingConfig,
    ) -> Result<(), PacingError> {
        cfg.validate()?;
        self.campaign(c)?.update_config(cfg);
        self.decide(now, c, true);
        Ok(())
    }

    /// The settings a campaign paces with.
    pub fn config(&self, c: CampaignId) -> Option<&PacingConfig> {
        self.campaigns.get(c.0 as usize).map(|camp| &camp.cfg)
    }

    /// Seed `c`'s abandon controller with live answers and abandons from before a restart.
    pub fn seed_abandons(
        &mut self,
        c: CampaignId,
        live: u64,
        abandoned: u64,
    ) -> Result<(), PacingError> {
        self.campaign(c)?.abandon.seed(live, abandoned);
        Ok(())
    }

    /// Seed `c`'s day and rolling-hour abandon windows with live answers from before a
    /// restart (age at `now`, abandoned), already counted by [`Pacing::seed_abandons`].
    pub fn seed_abandon_events(
        &mut self,
        now: Instant,
        c: CampaignId,
        events: &[(std::time::Duration, bool)],
    ) -> Result<(), PacingError> {
        self.campaign(c)?.abandon.seed_recent(now, events);
        Ok(())
    }

    /// Blending: 0 = no inbound pressure, 1 = inbound needs every agent the campaign shares.
    pub fn set_inbound_pressure(
        &mut self,
        now: Instant,
        c: CampaignId,
        pressure: f64,
    ) -> Result<(), PacingError> {
        if !(0.0..=1.0).contains(&pressure) {
            return Err(PacingError::InvalidPressure(pressure));
        }
        self.campaign(c)?.pressure = pressure;
        self.decide(now, c, false);
        Ok(())
    }

    /// The agent logs in to `c`, not ready yet.
    pub fn handle_agent_login(
        &mut self,
        now: Instant,
        agent: AgentId,
        c: CampaignId,
    ) -> Result<(), PacingError> {
        if self.agent_campaign.contains_key(&agent) {
            return Err(PacingError::AgentLoggedIn(agent));
        }
        self.campaign(c)?.set_phase(now, agent, Phase::NotReady);
        self.agent_campaign.insert(agent, c);
        Ok(())
    }

    pub fn handle_agent_logout(&mut self, now: Instant, agent: AgentId) -> Result<(), PacingError> {
        let c = self.agent_campaign(agent)?;
        self.agent_campaign.remove(&agent);
        let camp = self.campaign(c)?;
        camp.set_phase(now, agent, Phase::NotReady);
        camp.agents.remove(&agent);
        camp.leaving.remove(&agent);
        self.decide(now, c, false);
        Ok(())
    }

    /// The agent will log out when its call and wrap-up end (a shift change, a break after
    /// this call): from now the planner no longer counts on it becoming free. `false` takes
    /// that back; becoming ready or logging out clears it too.
    pub fn handle_agent_leaving(
        &mut self,
        now: Instant,
        agent: AgentId,
        leaving: bool,
    ) -> Result<(), PacingError> {
        let c = self.agent_campaign(agent)?;
        let camp = self.campaign(c)?;
        if leaving {
            // Fewer agents to come can only lower the plan: no decision now (a wave of
            // a thousand announcements would otherwise plan a thousand times); the next
            // one, at most `tick_secs` away, counts without them.
            camp.leaving.insert(agent);
        } else {
            camp.leaving.remove(&agent);
            self.decide(now, c, false);
        }
        Ok(())
    }

    fn set_phase(
        &mut self,
        now: Instant,
        agent: AgentId,
        phase: Phase,
        urgent: bool,
    ) -> Result<(), PacingError> {
        let c = self.agent_campaign(agent)?;
        self.campaign(c)?.set_phase(now, agent, phase);
        self.decide(now, c, urgent);
        Ok(())
    }

    pub fn handle_agent_ready(&mut self, now: Instant, agent: AgentId) -> Result<(), PacingError> {
        self.clear_leaving(agent);
        self.set_phase(now, agent, Phase::Ready, true)
    }

    /// A leaving agent that turns ready again stayed after all.
    fn clear_leaving(&mut self, agent: AgentId) {
        if let Some(&c) = self.agent_campaign.get(&agent) {
            if let Some(camp) = self.campaigns.get_mut(c.0 as usize) {
                camp.leaving.remove(&agent);
            }
        }
    }

    pub fn handle_agent_not_ready(
        &mut self,
        now: Instant,
        agent: AgentId,
    ) -> Result<(), PacingError> {
        self.set_phase(now, agent, Phase::NotReady, false)
    }

    /// The agent's call ended; wrap-up starts.
    pub fn handle_talk_ended(&mut self, now: Instant, agent: AgentId) -> Result<(), PacingError> {
        self.set_phase(now, agent, Phase::Wrap { since: now }, true)
    }

    /// Wrap-up ended: the agent is ready again.
    pub fn handle_wrap_ended(&mut self, now: Instant, agent: AgentId) -> Result<(), PacingError> {
        self.clear_leaving(agent);
        self.set_phase(now, agent, Phase::Ready, true)
    }

    /// The driver placed one of the dials it was asked for (or one of its own: preview).
    pub fn handle_dial_placed(
        &mut self,
        now: Instant,
        c: CampaignId,
        dial: DialId,
    ) -> Result<(), PacingError> {
        if self.dial_campaign.contains_key(&dial) {
            return Err(PacingError::DuplicateDial(dial));
        }
        let camp = self.campaign(c)?;
        camp.pending = camp.pending.saturating_sub(1);
        camp.dials.insert(dial, now);
        self.dial_campaign.insert(dial, c);
        Ok(())
    }

    /// The driver could not place `count` of the dials it was asked for (no lead, no trunk).
    pub fn handle_dials_not_placed(
        &mut self,
        _now: Instant,
        c: CampaignId,
        count: u32,
    ) -> Result<(), PacingError> {
        let camp = self.campaign(c)?;
        camp.pending = camp.pending.saturating_sub(count);
        Ok(())
    }

    /// How a dial resolved. `Human`: a person answered and now waits for an agent
    /// (`handle_connected` or `handle_abandoned` follows); anything else ends the dial.
    pub fn handle_dial_outcome(
        &mut self,
        now: Instant,
        dial: DialId,
        outcome: DialOutcome,
    ) -> Result<(), PacingError> {
        let c = *self
            .dial_campaign
            .get(&dial)
            .ok_or(PacingError::UnknownDial(dial))?;
        let camp = self.campaign(c)?;
        let placed = camp
            .dials
            .remove(&dial)
            .ok_or(PacingError::UnknownDial(dial))?;
        camp.cancelling.remove(&dial);
        camp.outcome(now, dial, placed, outcome);
        if outcome != DialOutcome::Human {
            self.dial_campaign.remove(&dial);
        }
        self.decide(now, c, false);
        Ok(())
    }

    /// A person who answered reached `agent`.
    pub fn handle_connected(
        &mut self,
        now: Instant,
        dial: DialId,
        agent: AgentId,
    ) -> Result<(), PacingError> {
        let c = self.agent_campaign(agent)?;
        if let Some(dc) = self.dial_campaign.remove(&dial) {
            let camp = self.campaign(dc)?;
            if camp.waiting.remove(&dial).is_some() {
                camp.abandon.record(now, false);
            }
        }
        self.campaign(c)?
            .set_phase(now, agent, Phase::Talk { since: now });
        self.decide(now, c, false);
        Ok(())
    }

    /// A person who answered found no agent in time (heard the campaign message).
    pub fn handle_abandoned(&mut self, now: Instant, dial: DialId) -> Result<(), PacingError> {
        let c = self
            .dial_campaign
            .remove(&dial)
            .ok_or(PacingError::UnknownDial(dial))?;
        let camp = self.campaign(c)?;
        if camp.waiting.remove(&dial).is_none() {
            return Err(PacingError::NotWaiting(dial));
        }
        camp.abandon.record(now, true);
        self.decide(now, c, false);
        Ok(())
    }

    /// Re-plan the campaigns whose tick is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.campaigns.len() {
            if self.campaigns[i].next_tick.is_some_and(|t| t <= now) {
                self.decide(now, CampaignId(i as u32), true);
            }
        }
    }

    /// The next dial request, if a decision asked for dials.
    pub fn poll_dials(&mut self) -> Option<DialRequest> {
        self.out.pop_front()
    }

    /// The next surplus dial to hang up (its outcome is still reported, usually `NoAnswer`;
    /// a person may have answered meanwhile).
    pub fn poll_cancels(&mut self) -> Option<DialId> {
        self.cancels.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.campaigns.iter().filter_map(|c| c.next_tick).min()
    }

    pub fn estimates(&self, c: CampaignId) -> Option<Estimates> {
        self.campaigns.get(c.0 as usize).map(Campaign::estimates)
    }

    /// Decisions taken so far (for cost measurements).
    pub fn decisions(&self) -> u64 {
        self.decisions
    }
}
