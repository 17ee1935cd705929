//! Read-only views of live calls, queues and agents for the API (snapshots, List* calls).
//! Cheap: one pass over each table, no engine state changed.

use std::time::{Duration, Instant};

use crate::acd::{AgentId, QueueId, StateKind};

use super::Endpoint;

/// Where a call stands in its signalling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallViewState {
    Ringing,
    /// 2xx sent, waiting for the caller's ACK.
    Answered,
    Confirmed,
}

/// One active call as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub id: String,
    pub state: CallViewState,
    pub caller: String,
    pub callee: String,
    /// Since the call arrived.
    pub duration: Duration,
    /// Since it was answered (zero while unanswered).
    pub talk: Duration,
    pub queue: Option<String>,
    pub agent: Option<String>,
}

/// One queue, live.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueView {
    pub name: String,
    /// Callers in the queue (waiting or being offered).
    pub waiting: usize,
    /// How long the longest-waiting caller has waited.
    pub longest_wait: Duration,
}

/// One agent, live.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub agent: String,
    pub state: StateKind,
    pub reason: Option<String>,
    pub phone: Option<String>,
}

impl Endpoint {
    /// Every queue with its live figures, in config order (empty without an ACD).
    pub fn queues_view(&self, now: Instant) -> Vec<QueueView> {
        let Some(e) = self.acd.engine.as_ref() else {
            return Vec::new();
        };
        self.acd
            .queue_names
            .iter()
            .enumerate()
            .map(|(ix, name)| {
                let q = QueueId(ix as u32);
                QueueView {
                    name: name.clone(),
                    waiting: e.queue_len(q).unwrap_or(0),
                    longest_wait: e.longest_wait(now, q).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Every agent with their state, in config order (empty without an ACD).
    pub fn agents_view(&self) -> Vec<AgentView> {
        let Some(e) = self.acd.engine.as_ref() else {
            return Vec::new();
        };
        self.acd
            .names
            .iter()
            .enumerate()
            .map(|(ix, login)| self.agent_view_of(e, AgentId(ix as u32), login))
            .collect()
    }

    /// One agent's view, by login id.
    pub fn agent_view(&self, agent: &str) -> Option<AgentView> {
        let e = self.acd.engine.as_ref()?;
        Some(self.agent_view_of(e, e.agent_id(agent)?, agent))
    }

    fn agent_view_of(&self, e: &crate::acd::Engine, a: AgentId, login: &str) -> AgentView {
        let st = e.agent_state(a);
        AgentView {
            agent: login.to_string(),
            state: st.map_or(StateKind::LoggedOut, |s| s.kind()),
            reason: st.and_then(|s| s.reason()),
            phone: self.acd.phone.get(&a).cloned(),
        }
    }

    /// Names of the ACD's agents and queues, indexed by `AgentId` / `QueueId`.
    pub fn acd_names(&self) -> (Vec<String>, Vec<String>) {
        (self.acd.names.clone(), self.acd.queue_names.clone())
    }
}
