//! Agent inputs, the one place agent state changes (`set_state`), and the ready indexes.

use std::time::Instant;

use super::Engine;
use crate::acd::agent::{AgentState, Pending};
use crate::acd::event::{AcdError, EventKind, OfferEnd};
use crate::acd::ids::AgentId;
use crate::acd::strategy::{self, RankInput};
use crate::acd::timers::Timer;

/// The set bits of a stage mask.
pub(super) fn stages_of(mask: u64) -> impl Iterator<Item = usize> {
    (0..64).filter(move |s| mask & (1 << s) != 0)
}

impl Engine {
    /// Log in: Ready in every queue the agent serves (ADDMEMBER in queue_log terms).
    pub fn handle_agent_login(&mut self, now: Instant, a: AgentId) -> Result<(), AcdError> {
        if self.agent_ref(a)?.logged_in() {
            return Err(AcdError::AlreadyLoggedIn);
        }
        let agent = self.agent_mut(a);
        agent.calls = 0;
        agent.talk_ms = 0;
        agent.pending = None;
        let queues: Vec<_> = agent.members.iter().map(|m| m.queue).collect();
        for q in queues {
            self.emit(now, EventKind::MemberAdded { agent: a, queue: q });
        }
        self.set_state(now, a, AgentState::Ready);
        Ok(())
    }

    /// Log out. An offer ringing is withdrawn (the caller keeps their place); during a call or
    /// wrap-up the logout happens when the call ends / at once, respectively.
    pub fn handle_agent_logout(&mut self, now: Instant, a: AgentId) -> Result<(), AcdError> {
        match self.agent_ref(a)?.state.clone() {
            AgentState::LoggedOut => return Err(AcdError::NotLoggedIn),
            AgentState::OnCall { .. } => {
                self.agent_mut(a).pending = Some(Pending::Logout);
                return Ok(());
            }
            AgentState::Offered { offer } => self.withdraw_offer(now, offer, OfferEnd::Cancelled),
            AgentState::WrapUp { .. } => self.finish_wrap(now, a),
            AgentState::Ready | AgentState::NotReady { .. } => {}
        }
        self.logout_now(now, a);
        Ok(())
    }

    /// Available again (UNPAUSE). Ends wrap-up early; during a call, cancels a pending pause.
    pub fn handle_agent_ready(&mut self, now: Instant, a: AgentId) -> Result<(), AcdError> {
        match self.agent_ref(a)?.state {
            AgentState::LoggedOut => Err(AcdError::NotLoggedIn),
            AgentState::NotReady { .. } => {
                self.set_state(now, a, AgentState::Ready);
                Ok(())
            }
            AgentState::WrapUp { .. } => {
                self.agent_mut(a).pending = None;
                self.after_work(now, a);
                Ok(())
            }
            AgentState::OnCall { .. } => {
                self.agent_mut(a).pending = None;
                Ok(())
            }
            AgentState::Ready | AgentState::Offered { .. } => Ok(()),
        }
    }

    /// Pause (NotReady with a reason). A ringing offer is withdrawn; during a call the pause
    /// starts after the call (and skips wrap-up's automatic Ready).
    pub fn handle_agent_not_ready(
        &mut self,
        now: Instant,
        a: AgentId,
        reason: &str,
    ) -> Result<(), AcdError> {
        match self.agent_ref(a)?.state.clone() {
            AgentState::LoggedOut => return Err(AcdError::NotLoggedIn),
            AgentState::OnCall { .. } => {
                self.agent_mut(a).pending = Some(Pending::NotReady(reason.to_string()));
                return Ok(());
            }
            AgentState::WrapUp { .. } => self.finish_wrap(now, a),
            AgentState::Offered { offer } => self.withdraw_offer(now, offer, OfferEnd::Cancelled),
            AgentState::Ready | AgentState::NotReady { .. } => {}
        }
        let reason = reason.to_string();
        self.set_state(now, a, AgentState::NotReady { reason });
        Ok(())
    }

    /// The agent's phone is registered (`true`) or not. Unreachable agents get no offers; a
    /// ringing offer is withdrawn.
    pub fn handle_agent_reachable(
        &mut self,
        now: Instant,
        a: AgentId,
        reachable: bool,
    ) -> Result<(), AcdError> {
        self.agent_ref(a)?;
        self.agent_mut(a).reachable = reachable;
        self.after_presence(now, a);
        Ok(())
    }

    /// The agent is on a call the ACD did not make (`true`): no offers until `false`.
    pub fn handle_agent_busy_elsewhere(
        &mut self,
        now: Instant,
        a: AgentId,
        busy: bool,
    ) -> Result<(), AcdError> {
        self.agent_ref(a)?;
        self.agent_mut(a).busy_elsewhere = busy;
        self.after_presence(now, a);
        Ok(())
    }

    fn after_presence(&mut self, now: Instant, a: AgentId) {
        let agent = self.agent_mut(a);
        let gone = !agent.reachable || agent.busy_elsewhere;
        if let (AgentState::Offered { offer }, true) = (agent.state.clone(), gone) {
            self.withdraw_offer(now, offer, OfferEnd::Cancelled);
            self.set_state(now, a, AgentState::Ready);
        } else {
            self.refresh(now, a);
        }
    }

    pub(super) fn logout_now(&mut self, now: Instant, a: AgentId) {
        self.agent_mut(a).pending = None;
        self.set_state(now, a, AgentState::LoggedOut);
        let queues: Vec<_> = self.agent_mut(a).members.iter().map(|m| m.queue).collect();
        for q in queues {
            self.emit(now, EventKind::MemberRemoved { agent: a, queue: q });
            let queue = self.queue(q);
            if queue.logged_in == 0 && queue.cfg.leave_when_empty {
                self.empty_queue(now, q);
            }
        }
    }

    /// Wrap-up (or the call, with no wrap-up) is over: the pending pause or logout, or Ready.
    pub(super) fn after_work(&mut self, now: Instant, a: AgentId) {
        self.finish_wrap(now, a);
        match self.agent_mut(a).pending.take() {
            Some(Pending::NotReady(reason)) => {
                self.set_state(now, a, AgentState::NotReady { reason })
            }
            Some(Pending::Logout) => self.logout_now(now, a),
            None => self.set_state(now, a, AgentState::Ready),
        }
    }

    /// Close the handle time of the call being wrapped up (talk + hold + wrap, exact).
    pub(super) fn finish_wrap(&mut self, now: Instant, a: AgentId) {
        let agent = self.agent_mut(a);
        let Some((call, queue, talk_hold_ms)) = agent.wrapping.take() else {
            return;
        };
        let wrap_ms = match agent.state {
            AgentState::WrapUp { .. } => Self::ms(now.saturating_duration_since(agent.since)),
            _ => 0,
        };
        self.queue_mut(queue).handle.push(talk_hold_ms + wrap_ms);
        self.emit(
            now,
            EventKind::WrapUpDone {
                call,
                queue,
                agent: a,
                wrap_ms,
            },
        );
    }

    /// The only place an agent's state changes: counters, the event, the ready indexes, and
    /// routing if the agent became available.
    pub(super) fn set_state(&mut self, now: Instant, a: AgentId, new: AgentState) {
        let agent = self.agent_mut(a);
        let old = std::mem::replace(&mut agent.state, new);
        let duration_ms = Self::ms(now.saturating_duration_since(agent.since));
        agent.since = now;
        agent.gen += 1;
        let from = old.kind();
        let to = agent.state.kind();
        let reason = agent.state.reason();
        // Back to Ready from a withdrawn offer keeps the idle clock: the agent did no work.
        if agent.state == AgentState::Ready && !matches!(old, AgentState::Offered { .. }) {
            agent.idle_since = now;
        }
        let (was_in, is_in) = (old != AgentState::LoggedOut, agent.logged_in());
        let was_staffed = !matches!(old, AgentState::LoggedOut | AgentState::NotReady { .. });
        let is_staffed = agent.staffed();
        if (was_in, was_staffed) != (is_in, is_staffed) {
            let Engine { agents, queues, .. } = &mut *self;
            // invariant: `a` was checked by the caller (see `agent_mut`); member queues are
            // ids minted by `build`. The counters never underflow: they count exactly the
            // members whose previous state (`was_*`) was counted, and only `set_state` moves them.
            for m in &agents[a.ix()].members {
                let queue = &mut queues[m.queue.ix()];
                queue.logged_in = queue.logged_in + u32::from(is_in) - u32::from(was_in);
                queue.staffed = queue.staffed + u32::from(is_staffed) - u32::from(was_staffed);
            }
        }
        self.emit(
            now,
            EventKind::AgentState {
                agent: a,
                from,
                to,
                duration_ms,
                reason,
            },
        );
        if let AgentState::WrapUp { until } = self.agent_mut(a).state {
            let gen = self.agent_mut(a).gen;
            self.timers.push(until, Timer::WrapUp(a, gen));
        }
        self.refresh(now, a);
    }

    /// Put the agent in (or take it out of) the ready indexes to match `available`; when it
    /// goes in, let it take a waiting caller.
    pub(super) fn refresh(&mut self, now: Instant, a: AgentId) {
        self.unindex(a);
        if self.agent_mut(a).available(now) {
            self.index(a);
            self.route_agent(now, a);
        }
    }

    fn index(&mut self, a: AgentId) {
        let Engine {
            agents,
            queues,
            clock,
            ..
        } = self;
        // invariant: `a` was checked by the caller (see `agent_mut`)
        let agent = &mut agents[a.ix()];
        let idle_ms = clock.rel_ms(agent.idle_since);
        for m in &mut agent.members {
            let q = &mut queues[m.queue.ix()];
            let input = RankInput {
                idle_since_ms: idle_ms,
                calls: agent.calls,
                talk_ms: agent.talk_ms,
                member_ix: m.member_ix,
                skill_tenths: m.skill_tenths,
            };
            let key = (
                m.penalty,
                strategy::rank(q.cfg.strategy, &input),
                idle_ms,
                a,
            );
            for s in stages_of(m.stages) {
                q.ready[s].insert(key);
            }
            m.ready_key = Some(key);
        }
    }

    fn unindex(&mut self, a: AgentId) {
        let Engine { agents, queues, .. } = self;
        // invariant: as in `index`
        for m in &mut agents[a.ix()].members {
            if let Some(key) = m.ready_key.take() {
                let q = &mut queues[m.queue.ix()];
                for s in stages_of(m.stages) {
                    q.ready[s].remove(&key);
                }
            }
        }
    }
}
