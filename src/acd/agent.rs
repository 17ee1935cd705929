//! Agent state and the per-queue membership data routing needs.

use std::time::Instant;

use super::event::StateKind;
use super::ids::{AgentId, CallId, OfferId, QueueId};
use super::skills::Level;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    LoggedOut,
    Ready,
    /// Reserved for exactly one offer (one call).
    Offered {
        offer: OfferId,
    },
    OnCall {
        call: CallId,
    },
    WrapUp {
        until: Instant,
    },
    NotReady {
        reason: String,
    },
}

impl AgentState {
    pub fn kind(&self) -> StateKind {
        match self {
            AgentState::LoggedOut => StateKind::LoggedOut,
            AgentState::Ready => StateKind::Ready,
            AgentState::Offered { .. } => StateKind::Offered,
            AgentState::OnCall { .. } => StateKind::OnCall,
            AgentState::WrapUp { .. } => StateKind::WrapUp,
            AgentState::NotReady { .. } => StateKind::NotReady,
        }
    }

    pub fn reason(&self) -> Option<String> {
        match self {
            AgentState::NotReady { reason } => Some(reason.clone()),
            _ => None,
        }
    }
}

/// Key of an agent in a queue's ready index: (penalty, strategy rank, idle-since ms as the
/// tie-break, agent). Smallest first.
pub(crate) type ReadyKey = (u32, i64, i64, AgentId);

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub queue: QueueId,
    pub penalty: u32,
    /// The agent's index in the queue's member list (round-robin order).
    pub member_ix: u32,
    /// Stages (routing steps) this agent qualifies for, as a bitmask.
    pub stages: u64,
    /// Mean proficiency over the queue's required skills, in tenths (best-fit).
    pub skill_tenths: i64,
    /// Where the agent sits in the queue's ready index, while it does.
    pub ready_key: Option<ReadyKey>,
}

/// What to do when the current call and wrap-up are over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending {
    NotReady(String),
    Logout,
}

#[derive(Debug)]
pub(crate) struct Agent {
    pub login: String,
    pub name: String,
    pub skills: Vec<Level>,
    pub members: Vec<Member>,
    pub state: AgentState,
    pub since: Instant,
    /// Phone registered. Starts true: the driver reports `false` for unregistered phones.
    pub reachable: bool,
    pub busy_elsewhere: bool,
    pub backoff_until: Option<Instant>,
    pub idle_since: Instant,
    pub calls: u32,
    pub talk_ms: u64,
    /// Bumped on every state change; timers carry it to detect staleness.
    pub gen: u64,
    pub pending: Option<Pending>,
    /// The call being wrapped up (for the WrapUpDone event and its handle time).
    pub wrapping: Option<(CallId, QueueId, u64)>,
    /// A call the ACD did not route (an agent-first campaign dial): its id, the queue whose
    /// wrap-up follows it, and when the talk began.
    pub external: Option<(CallId, QueueId, Instant)>,
}

impl Agent {
    /// Can be offered a call now (and so belongs in the ready indexes).
    pub fn available(&self, now: Instant) -> bool {
        self.state == AgentState::Ready
            && self.reachable
            && !self.busy_elsewhere
            && self.backoff_until.is_none_or(|t| t <= now)
    }

    pub fn logged_in(&self) -> bool {
        self.state != AgentState::LoggedOut
    }

    /// Counts as staffing a queue for the wait estimate.
    pub fn staffed(&self) -> bool {
        !matches!(
            self.state,
            AgentState::LoggedOut | AgentState::NotReady { .. }
        )
    }
}
