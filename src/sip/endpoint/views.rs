//! Read-only views of live calls, queues and agents for the API (snapshots, List* calls).
//! Cheap: one pass over each table, no engine state changed.

use std::time::{Duration, Instant};

use crate::acd::kpi::{AgentKpi, QueueKpi};
use crate::acd::{AgentId, QueueId, QueueStaff, StateKind};

use super::calls::CallRef;

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
    /// The endpoint's handle (what the media driver knows the call's relay by).
    pub call_ref: CallRef,
    /// Either side put the other on hold.
    pub held: bool,
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
    /// Today's figures (exact, from the ACD events; None before `start_kpis`).
    pub kpi: Option<QueueKpi>,
    /// The queue's service level threshold.
    pub service_level: Duration,
    pub staff: QueueStaff,
    /// What a caller joining now would be told (None: no history or nobody staffed).
    pub ewt: Option<Duration>,
}

/// One agent, live.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub agent: String,
    pub state: StateKind,
    pub reason: Option<String>,
    pub phone: Option<String>,
    /// In the current state since (None: no change seen today or since the restart).
    pub in_state: Option<Duration>,
    /// Today's figures (None before `start_kpis`).
    pub kpi: Option<AgentKpi>,
}

impl Endpoint {
    /// Every queue with its live figures, in config order (empty without an ACD).
    pub fn queues_view(&self, now: Instant) -> Vec<QueueView> {
        let Some(e) = self.acd.engine.as_ref() else {
            return Vec::new();
        };
        let now_ms = self.calls.unix_ms(now).max(0) as u64;
        let params = e.kpi_params();
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
                    kpi: self.acd.kpis.as_ref().and_then(|k| k.queue(q, now_ms)),
                    service_level: Duration::from_millis(
                        params.get(ix).map_or(0, |p| p.service_level_ms),
                    ),
                    staff: e.queue_staff(q).unwrap_or_default(),
                    ewt: e.queue_ewt(q),
                }
            })
            .collect()
    }

    /// Every agent with their state, in config order (empty without an ACD).
    pub fn agents_view(&self, now: Instant) -> Vec<AgentView> {
        let Some(e) = self.acd.engine.as_ref() else {
            return Vec::new();
        };
        let now_ms = self.calls.unix_ms(now).max(0) as u64;
        self.acd
            .names
            .iter()
            .enumerate()
            .map(|(ix, login)| self.agent_view_of(e, now_ms, AgentId(ix as u32), login))
            .collect()
    }

    /// One agent's view, by login id.
    pub fn agent_view(&self, now: Instant, agent: &str) -> Option<AgentView> {
        let e = self.acd.engine.as_ref()?;
        let now_ms = self.calls.unix_ms(now).max(0) as u64;
        Some(self.agent_view_of(e, now_ms, e.agent_id(agent)?, agent))
    }

    fn agent_view_of(
        &self,
        e: &crate::acd::Engine,
        now_ms: u64,
        a: AgentId,
        login: &str,
    ) -> AgentView {
        let st = e.agent_state(a);
        let kpis = self.acd.kpis.as_ref();
        AgentView {
            agent: login.to_string(),
            state: st.map_or(StateKind::LoggedOut, |s| s.kind()),
            reason: st.and_then(|s| s.reason()),
            phone: self.acd.phone.get(&a).cloned(),
            in_state: kpis
                .and_then(|k| k.agent_since(a))
                .map(|(_, since)| Duration::from_millis(now_ms.saturating_sub(since))),
            kpi: kpis.and_then(|k| k.agent(a, now_ms)),
        }
    }

    /// Names of the ACD's agents and queues, indexed by `AgentId` / `QueueId`.
    pub fn acd_names(&self) -> (Vec<String>, Vec<String>) {
        (self.acd.names.clone(), self.acd.queue_names.clone())
    }
}
