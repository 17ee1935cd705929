//! Personal callbacks: a callback an agent scheduled for themselves (`SetDisposition` with a
//! callback time) is dialed to that agent first, and only when they are free: never handed
//! to pacing's dials, where whoever is free would take it (the generic `next_lead` skips
//! them).
//!
//! When is an agent free for it? In preview mode when they ask (`preview_next` offers their
//! callbacks first). Otherwise at two moments:
//! - the agent becomes ready (after a call's wrap-up, a pause, at login): their due callback
//!   is looked up before pacing counts them, so pacing never paces a dial on an agent whose
//!   phone is about to ring for a callback;
//! - every `SWEEP`, for callbacks come due while their agent sits ready, but only as many
//!   as the campaign has ready agents beyond its dials in flight and answers waiting:
//!   taking an agent pacing already dialed for would leave that dial's answer without one.

use std::time::{Duration, Instant, SystemTime};

use super::{order_of, RunState, Runtime};
use crate::dialer::pacing::Mode;

/// How often ready agents are checked for callbacks come due meanwhile.
pub(super) const SWEEP: Duration = Duration::from_secs(10);

impl Runtime {
    /// Whether campaign `ci` dials personal callbacks on its own (preview agents ask).
    fn dials_personal(&self, ci: usize) -> bool {
        let c = &self.campaigns[ci];
        c.state == RunState::Running && c.cfg.pacing.mode != Mode::Preview
    }

    /// ACD agent `a` is becoming ready: their due personal callback, if any, is ordered
    /// (agent first) and the agent reserved for it.
    pub(super) fn personal_on_ready(&mut self, now: Instant, wall: SystemTime, a: u32) {
        let Some((name, ci)) = self.agents.member(a).map(|(n, ci)| (n.to_string(), ci)) else {
            return;
        };
        if !self.dials_personal(ci)
            || self.agents.is_reserved(&name)
            || !self.agents.ensure(&mut self.pacing, now, a)
        {
            return;
        }
        self.try_personal(now, wall, ci, &name);
    }

    /// Ready agents of running campaigns with a callback come due, while the campaign has
    /// agents to spare.
    pub(super) fn sweep_personal(&mut self, now: Instant, wall: SystemTime) {
        for ci in 0..self.campaigns.len() {
            if !self.dials_personal(ci) {
                continue;
            }
            let ready = self.agents.ready(ci);
            let busy = self
                .pacing
                .estimates(self.campaigns[ci].id)
                .map_or(0, |e| e.outstanding as usize + e.waiting as usize);
            let mut spare = ready.len().saturating_sub(busy);
            for name in ready {
                if spare == 0 {
                    break;
                }
                if self.try_personal(now, wall, ci, &name) {
                    spare -= 1;
                }
            }
        }
    }

    /// Order `name`'s due personal callback of campaign `ci`, if there is one.
    fn try_personal(&mut self, now: Instant, wall: SystemTime, ci: usize, name: &str) -> bool {
        let campaign = self.campaigns[ci].cfg.name.clone();
        let source = self.campaigns[ci].source;
        let Some(lead) = self.sources[source].next_personal_callback(wall, &campaign, name) else {
            return false;
        };
        if !self.agents.reserve(&mut self.pacing, now, name) {
            // Not logged in after all: the callback waits for them.
            self.sources[source].handle_attempt(
                wall,
                lead.attempt_id,
                &crate::dialer::source::AttemptResult::NotDialed {
                    reason: "agent not available".into(),
                },
            );
            return false;
        }
        tracing::info!(campaign = %campaign, agent = name, lead = lead.lead_id, "personal callback: ringing its agent first");
        self.orders
            .push_back(order_of(lead, Some(name.to_string())));
        true
    }
}
