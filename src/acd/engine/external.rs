//! Calls the ACD did not route but that are an agent's work (agent-first campaign dials): the
//! agent talks (OnCall) and then wraps up for the named queue's `wrap_up_secs`, exactly as
//! after a queue call, so offers, pacing and the agent's KPIs see the work. The queue's
//! figures (answered, handle time, the wait estimate) do not: no caller waited in it.

use std::time::{Duration, Instant};

use super::Engine;
use crate::acd::agent::{AgentState, Pending};
use crate::acd::event::{AcdError, OfferEnd};
use crate::acd::ids::{AgentId, CallId, QueueId};

impl Engine {
    /// `call` (named by the driver, not queued here) reached agent `a`: OnCall from now. A
    /// paused agent stays paused after it (as a pause asked for during a call); a running
    /// wrap-up ends here.
    pub fn handle_external_call_started(
        &mut self,
        now: Instant,
        a: AgentId,
        call: CallId,
        queue: QueueId,
    ) -> Result<(), AcdError> {
        self.queues.get(queue.ix()).ok_or(AcdError::UnknownQueue)?;
        match self.agent_ref(a)?.state.clone() {
            AgentState::LoggedOut => return Err(AcdError::NotLoggedIn),
            AgentState::OnCall { .. } => return Err(AcdError::AgentBusy),
            AgentState::Offered { offer } => self.withdraw_offer(now, offer, OfferEnd::Cancelled),
            AgentState::WrapUp { .. } => self.finish_wrap(now, a),
            AgentState::NotReady { reason } => {
                self.agent_mut(a).pending = Some(Pending::NotReady(reason))
            }
            AgentState::Ready => {}
        }
        let agent = self.agent_mut(a);
        agent.calls += 1;
        agent.external = Some((call, queue, now));
        self.set_state(now, a, AgentState::OnCall { call });
        Ok(())
    }

    /// The external call of agent `a` ended: wrap-up for its queue's wrap time, then the
    /// pending pause or logout, or Ready.
    pub fn handle_external_call_ended(&mut self, now: Instant, a: AgentId) -> Result<(), AcdError> {
        let agent = self.agent_ref(a)?;
        let Some((call, queue, at)) = agent.external else {
            return Err(AcdError::NotConnected);
        };
        let agent = self.agent_mut(a);
        agent.external = None;
        agent.talk_ms += Self::ms(now.saturating_duration_since(at));
        if agent.state != (AgentState::OnCall { call }) {
            // Not this call's any more (cannot happen: OnCall is only left at a call's end);
            // leave the agent where it is.
            return Ok(());
        }
        let wrap = Duration::from_secs(self.queue(queue).cfg.wrap_up_secs);
        if wrap.is_zero() {
            self.after_work(now, a);
        } else {
            self.set_state(now, a, AgentState::WrapUp { until: now + wrap });
        }
        Ok(())
    }
}
