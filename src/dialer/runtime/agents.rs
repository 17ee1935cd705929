//! Campaign agents as pacing sees them, mirrored from the ACD's agent states: pacing needs
//! to know who is ready, talking (since when) and wrapping up; the ACD owns the truth.

use std::collections::HashMap;
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
        }
    }

    /// Log the agent in to pacing if it is not yet (NotReady); false: not a campaign agent.
    fn ensure(&mut self, pacing: &mut Pacing, now: Instant, a: u32) -> bool {
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
            if self.mirror.remove(&a).is_some() {
                let _ = pacing.handle_agent_logout(now, id);
            }
            return;
        }
        if !self.ensure(pacing, now, a) {
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

    /// Logged-in agents of campaign `ci`.
    pub fn logged_in(&self, ci: usize) -> u32 {
        self.mirror
            .keys()
            .filter(|a| self.membership.get(a).is_some_and(|(_, c)| *c == ci))
            .count() as u32
    }
}
