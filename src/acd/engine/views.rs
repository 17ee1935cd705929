//! Read-only queries for the driver, wallboards and tests.

use std::time::{Duration, Instant};

use super::Engine;
use crate::acd::agent::AgentState;
use crate::acd::call::CallState;
use crate::acd::callback::CallbackRecord;
use crate::acd::ewt;
use crate::acd::ids::{AgentId, CallId, QueueId};
use crate::acd::step;

/// Where a call stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStatus {
    Waiting {
        queue: QueueId,
        stage: usize,
        callback: bool,
    },
    Ringing {
        queue: QueueId,
        offers: usize,
    },
    Connected {
        queue: QueueId,
        agent: AgentId,
    },
}

/// How a queue is staffed now (its member agents by state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStaff {
    /// Members logged in (any state but LoggedOut).
    pub logged_in: u32,
    /// Members Ready (waiting for an offer).
    pub ready: u32,
    /// Members Offered, OnCall or in WrapUp.
    pub busy: u32,
}

/// Names for exports (queue_log) and displays.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub queues: Vec<String>,
    /// Agent login ids (queue_log's member field).
    pub agents: Vec<String>,
    pub agent_names: Vec<String>,
    pub agent_queues: Vec<Vec<QueueId>>,
}

impl Engine {
    pub fn agent_id(&self, login: &str) -> Option<AgentId> {
        self.agent_ids.get(login).copied()
    }

    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.queue_ids.get(name).copied()
    }

    pub fn agent_state(&self, a: AgentId) -> Option<&AgentState> {
        self.agents.get(a.ix()).map(|ag| &ag.state)
    }

    /// Callers in the queue (waiting or being offered).
    pub fn queue_len(&self, q: QueueId) -> Option<usize> {
        self.queues.get(q.ix()).map(|q| q.waiting.len())
    }

    /// How long the longest-waiting caller in the queue has waited (None: nobody waits).
    pub fn longest_wait(&self, now: Instant, q: QueueId) -> Option<Duration> {
        let oldest = self.queues.get(q.ix())?.waiting.oldest()?;
        Some(now.saturating_duration_since(oldest))
    }

    pub fn call_status(&self, c: CallId) -> Option<CallStatus> {
        let call = self.calls.get(&c)?;
        Some(match &call.state {
            CallState::Waiting => CallStatus::Waiting {
                queue: call.queue,
                stage: call.stage,
                callback: call.callback,
            },
            CallState::Ringing(ids) => CallStatus::Ringing {
                queue: call.queue,
                offers: ids.len(),
            },
            CallState::Connected { agent, .. } => CallStatus::Connected {
                queue: call.queue,
                agent: *agent,
            },
        })
    }

    /// 1-based position among the callers of the call's queue (O(position)).
    pub fn position(&self, c: CallId) -> Option<u32> {
        let call = self.calls.get(&c).filter(|c| c.in_queue())?;
        Some(self.queue(call.queue).waiting.position(&call.key))
    }

    /// Estimated wait (see `ewt` for the formula); `None` without history or staff.
    pub fn estimated_wait(&self, _now: Instant, c: CallId) -> Option<Duration> {
        let pos = self.position(c)?;
        let q = self.queue(self.calls.get(&c)?.queue);
        ewt::estimate(pos, q.handle.mean_ms(), q.staffed)
    }

    /// Every queued callback, for the driver to persist.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        let mut ids: Vec<CallId> = self
            .calls
            .values()
            .filter(|c| c.callback && c.in_queue())
            .map(|c| c.id)
            .collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|c| self.callback_record(c))
            .collect()
    }

    pub fn callback_record(&self, c: CallId) -> Option<CallbackRecord> {
        let call = self.calls.get(&c).filter(|c| c.callback)?;
        Some(CallbackRecord {
            call: c,
            queue: self.queue(call.queue).cfg.name.clone(),
            priority: call.priority(),
            enqueued_at_ms: self.clock.unix_ms(call.enqueued()),
            orig_position: call.orig_position,
        })
    }

    /// Agents who could take this waiting call right now (available and qualified at its
    /// stage), by a full scan. The routing invariant says this is empty for every waiting
    /// call: a caller left waiting is waiting because no eligible agent is available. For
    /// diagnostics and tests, not for routing.
    pub fn eligible_available_agents(&self, now: Instant, c: CallId) -> Vec<AgentId> {
        let Some(call) = self.calls.get(&c) else {
            return Vec::new();
        };
        let q = self.queue(call.queue);
        // invariant: a call's stage indexes its queue's stages (set from them only)
        let req = q.stages[call.stage].req;
        q.members
            .iter()
            .copied()
            .filter(|&a| {
                // invariant: member lists hold ids minted by `build`
                let ag = &self.agents[a.ix()];
                ag.available(now) && step::qualifies(&ag.skills, &q.required, req)
            })
            .collect()
    }

    pub fn directory(&self) -> Directory {
        Directory {
            queues: self.queues.iter().map(|q| q.cfg.name.clone()).collect(),
            agents: self.agents.iter().map(|a| a.login.clone()).collect(),
            agent_names: self.agents.iter().map(|a| a.name.clone()).collect(),
            agent_queues: self
                .agents
                .iter()
                .map(|a| a.members.iter().map(|m| m.queue).collect())
                .collect(),
        }
    }

    /// The queue's members by state (O(members)).
    pub fn queue_staff(&self, q: QueueId) -> Option<QueueStaff> {
        let q = self.queues.get(q.ix())?;
        let mut s = QueueStaff::default();
        for &a in &q.members {
            // invariant: member lists hold ids minted by `build`
            match self.agents[a.ix()].state {
                AgentState::LoggedOut => continue,
                AgentState::Ready => s.ready += 1,
                AgentState::Offered { .. }
                | AgentState::OnCall { .. }
                | AgentState::WrapUp { .. } => s.busy += 1,
                AgentState::NotReady { .. } => {}
            }
            s.logged_in += 1;
        }
        Some(s)
    }

    /// The wait a caller joining the queue now would be told (see `ewt`); None without
    /// history or staff.
    pub fn queue_ewt(&self, q: QueueId) -> Option<Duration> {
        let queue = self.queues.get(q.ix())?;
        let pos = queue.waiting.len() as u32 + 1;
        ewt::estimate(pos, queue.handle.mean_ms(), queue.staffed)
    }

    /// Each queue's KPI parameters (service level threshold, formula), by QueueId.
    pub fn kpi_params(&self) -> Vec<crate::acd::kpi::QueueParams> {
        self.queues.iter().map(|q| (&q.cfg).into()).collect()
    }

    /// Pending deadlines (including stale ones), for memory accounting.
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// Calls the engine holds (waiting, ringing, connected).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }
}
