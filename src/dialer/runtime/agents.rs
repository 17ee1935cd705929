//! Campaign agents as pacing sees them, mirrored from the ACD's agent states: pacing needs
//! to know who is ready, talking (since when) and wrapping up; the ACD owns the truth.
//!
//! An agent-first dial (preview, personal callback) *reserves* its agent: while their phone
//! rings pacing counts them not ready (the ACD still says ready: the endpoint only keeps
//! other calls away), so no other dial is paced on them; once the lead is dialed the
//! reservation ends and the dial, outstanding, stands for them as any dial does. Once the
//! lead answers the ACD has them OnCall, then in wrap-up: those states end pacing's talk and
//! wrap, as for a queue call (the dialer's `Ended` does not free them).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crate::acd::StateKind;
use crate::dialer::pacing::{AgentId, CampaignId, Pacing};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mirror {
    NotReady,
    Ready,
    Talk,
    Wrap,
}

pub(super) struct Agents {
    /// ACD agent number → (login id, the campaign it works).
    membership: HashMap<u32, (String, usize)>,
    by_name: HashMap<String, u32>,
    /// Logged-in campaign agents and what pacing was last told.
    mirror: HashMap<u32, Mirror>,
    /// The ACD's last state of each logged-in campaign agent.
    last: HashMap<u32, StateKind>,
    /// Agents whose phone rings for an agent-first dial.
    reserved: HashSet<u32>,
}

impl Agents {
    pub fn new(membership: HashMap<u32, (String, usize)>) -> Self {
        let by_name = membership
            .iter()
            .map(|(a, (n, _))| (n.clone(), *a))
            .collect();
        Agents {
            membership,
            by_name,
            mirror: HashMap::new(),
            last: HashMap::new(),
            reserved: HashSet::new(),
        }
    }

    /// ACD agent `a`'s login id and campaign, if they are a campaign agent.
    pub fn member(&self, a: u32) -> Option<(&str, usize)> {
        self.membership.get(&a).map(|(n, ci)| (n.as_str(), *ci))
    }

    /// Whether `name` is a campaign agent (logged in or not).
    pub fn is_member(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Whether any campaign agent is logged in.
    pub fn any_logged_in(&self) -> bool {
        !self.mirror.is_empty()
    }

    /// Log the agent in to pacing if it is not yet (NotReady); false: not a campaign agent.
    pub fn ensure(&mut self, pacing: &mut Pacing, now: Instant, a: u32) -> bool {
        let Some((_, ci)) = self.membership.get(&a) else {
            return false;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = self.mirror.entry(a) {
            // Pacing's campaign ids are dense in the order they were added: the index.
            if let Err(e) = pacing.handle_agent_login(now, AgentId(a), CampaignId(*ci as u32)) {
                tracing::warn!(error = %e, "pacing refused an agent login");
                return false;
            }
            slot.insert(Mirror::NotReady);
        }
        true
    }

    /// The ACD moved agent `a` to `to`.
    pub fn state(&mut self, pacing: &mut Pacing, now: Instant, a: u32, to: StateKind) {
        let id = AgentId(a);
        if to == StateKind::LoggedOut {
            self.last.remove(&a);
            self.reserved.remove(&a);
            if self.mirror.remove(&a).is_some() {
                let _ = pacing.handle_agent_logout(now, id);
            }
            return;
        }
        if !self.ensure(pacing, now, a) {
            return;
        }
        self.last.insert(a, to);
        if self.reserved.contains(&a) {
            // Pacing hears of it when the reservation ends.
            return;
        }
        let Some(&prev) = self.mirror.get(&a) else {
            return;
        };
        let next = match (to, prev) {
            (StateKind::Ready, Mirror::Ready) => Mirror::Ready,
            (StateKind::Ready, Mirror::Wrap) => {
                let _ = pacing.handle_wrap_ended(now, id);
                Mirror::Ready
            }
            (StateKind::Ready, Mirror::Talk) => {
                let _ = pacing.handle_talk_ended(now, id);
                let _ = pacing.handle_wrap_ended(now, id);
                Mirror::Ready
            }
            (StateKind::Ready, Mirror::NotReady) => {
                let _ = pacing.handle_agent_ready(now, id);
                Mirror::Ready
            }
            (StateKind::NotReady, _) => {
                let _ = pacing.handle_agent_not_ready(now, id);
                Mirror::NotReady
            }
            // Ringing for a call: a campaign call is already counted as waiting for them.
            (StateKind::Offered, m) => m,
            (StateKind::OnCall, Mirror::Talk) => Mirror::Talk,
            // On a call pacing did not place (inbound, blended): not available to it.
            (StateKind::OnCall, _) => {
                let _ = pacing.handle_agent_not_ready(now, id);
                Mirror::NotReady
            }
            (StateKind::WrapUp, Mirror::Wrap) => Mirror::Wrap,
            (StateKind::WrapUp, _) => {
                let _ = pacing.handle_talk_ended(now, id);
                Mirror::Wrap
            }
            (StateKind::LoggedOut, _) => return,
        };
        self.mirror.insert(a, next);
    }

    /// A campaign call reached the agent `name`: talking from now.
    pub fn connected(&mut self, pacing: &mut Pacing, now: Instant, name: &str) -> Option<AgentId> {
        let &a = self.by_name.get(name)?;
        if !self.ensure(pacing, now, a) {
            return None;
        }
        self.mirror.insert(a, Mirror::Talk);
        Some(AgentId(a))
    }

    /// Keep pacing off the logged-in agent `name` (their phone rings for an agent-first
    /// dial). False: not logged in, or already reserved.
    pub fn reserve(&mut self, pacing: &mut Pacing, now: Instant, name: &str) -> bool {
        let Some(&a) = self.by_name.get(name) else {
            return false;
        };
        if !self.mirror.contains_key(&a) || !self.reserved.insert(a) {
            return false;
        }
        let _ = pacing.handle_agent_not_ready(now, AgentId(a));
        self.mirror.insert(a, Mirror::NotReady);
        true
    }

    /// The agent-first dial's lead was dialed (or the dial is off): pacing gets the agent's
    /// ACD state back.
    pub fn release(&mut self, pacing: &mut Pacing, now: Instant, name: &str) {
        let Some(&a) = self.by_name.get(name) else {
            return;
        };
        if !self.reserved.remove(&a) {
            return;
        }
        if let Some(&kind) = self.last.get(&a) {
            self.state(pacing, now, a, kind);
        }
    }

    /// The campaign `name` works, when they are logged in.
    pub fn campaign_of(&self, name: &str) -> Option<usize> {
        let a = self.by_name.get(name)?;
        self.mirror.get(a)?;
        self.membership.get(a).map(|(_, ci)| *ci)
    }

    pub fn is_reserved(&self, name: &str) -> bool {
        self.by_name
            .get(name)
            .is_some_and(|a| self.reserved.contains(a))
    }

    /// Campaign `ci`'s agents pacing counts ready, by login id.
    pub fn ready(&self, ci: usize) -> Vec<String> {
        let mut v: Vec<String> = self
            .mirror
            .iter()
            .filter(|(_, m)| **m == Mirror::Ready)
            .filter_map(|(a, _)| self.membership.get(a))
            .filter(|(_, c)| *c == ci)
            .map(|(n, _)| n.clone())
            .collect();
        // HashMap order is random: sorted, the same agent is served first every time.
        v.sort();
        v
    }

    /// Logged-in agents of campaign `ci`.
    pub fn logged_in(&self, ci: usize) -> u32 {
        self.mirror
            .keys()
            .filter(|a| self.membership.get(a).is_some_and(|(_, c)| *c == ci))
            .count() as u32
    }
}
