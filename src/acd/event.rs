//! What the engine tells its driver: commands (`Output::Offer`, `CancelOffer`, `Overflow`,
//! `Exit`) and facts (`Output::Event`). Events carry Unix-ms timestamps and every duration
//! KPIs need, so `kpi` and `queue_log` are pure folds over them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::Target;
use super::ids::{AgentId, CallId, OfferId, QueueId};

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Ring `agent` for `call`. With `callback`, the driver dials the agent first, then the
    /// customer. Answer with `handle_offer_answered` / `handle_offer_failed`.
    Offer {
        offer: OfferId,
        call: CallId,
        agent: AgentId,
        queue: QueueId,
        ring_timeout: Duration,
        callback: bool,
    },
    /// Stop ringing (another agent answered, the caller left, the agent became unavailable).
    CancelOffer {
        offer: OfferId,
        call: CallId,
        agent: AgentId,
    },
    /// A routing step sent the call elsewhere; the engine has forgotten it.
    Overflow {
        call: CallId,
        target: Target,
    },
    /// The call left the queue without an agent; the engine has forgotten it.
    Exit {
        call: CallId,
        reason: ExitReason,
        target: Option<Target>,
    },
    Event(AcdEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitReason {
    /// `max_wait_secs` ran out (queue_log EXITWITHTIMEOUT).
    Timeout,
    /// The last member logged out and the queue has `leave_when_empty` (EXITEMPTY).
    Empty,
}

/// Why an offer ended without a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferEnd {
    /// The phone reported no answer, or the ring timeout ran out (RONA).
    NoAnswer,
    Rejected,
    Busy,
    /// The engine withdrew it (another agent answered, caller left, agent unavailable).
    Cancelled,
}

/// Who hung up a connected call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Party {
    Caller,
    Agent,
}

/// The agent state names, without their data (for events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StateKind {
    LoggedOut,
    Ready,
    Offered,
    OnCall,
    WrapUp,
    NotReady,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcdEvent {
    pub at_ms: u64,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventKind {
    Queued {
        call: CallId,
        queue: QueueId,
        priority: u8,
        position: u32,
    },
    /// A join refused (full, or empty with `join_empty = false`).
    JoinRefused {
        call: CallId,
        queue: QueueId,
        full: bool,
    },
    Offered {
        call: CallId,
        queue: QueueId,
        agent: AgentId,
        offer: OfferId,
        callback: bool,
    },
    OfferEnded {
        call: CallId,
        queue: QueueId,
        agent: AgentId,
        offer: OfferId,
        end: OfferEnd,
        ring_ms: u64,
    },
    Connected {
        call: CallId,
        queue: QueueId,
        agent: AgentId,
        offer: OfferId,
        wait_ms: u64,
        ring_ms: u64,
        callback: bool,
    },
    Hold {
        call: CallId,
        on: bool,
    },
    Ended {
        call: CallId,
        queue: QueueId,
        agent: AgentId,
        by: Party,
        wait_ms: u64,
        talk_ms: u64,
        hold_ms: u64,
        orig_position: u32,
    },
    /// Wrap-up finished for a call (ends its handle time: talk + hold + wrap).
    WrapUpDone {
        call: CallId,
        queue: QueueId,
        agent: AgentId,
        wrap_ms: u64,
    },
    Abandoned {
        call: CallId,
        queue: QueueId,
        wait_ms: u64,
        position: u32,
        orig_position: u32,
        callback: bool,
    },
    CallbackRequested {
        call: CallId,
        queue: QueueId,
    },
    StepReached {
        call: CallId,
        queue: QueueId,
        step: usize,
    },
    Overflowed {
        call: CallId,
        queue: QueueId,
        target: Target,
        wait_ms: u64,
    },
    Exited {
        call: CallId,
        queue: QueueId,
        reason: ExitReason,
        wait_ms: u64,
        position: u32,
        orig_position: u32,
    },
    /// Agent state change; `duration_ms` is the time spent in `from`.
    AgentState {
        agent: AgentId,
        from: StateKind,
        to: StateKind,
        duration_ms: u64,
        reason: Option<String>,
    },
    MemberAdded {
        agent: AgentId,
        queue: QueueId,
    },
    MemberRemoved {
        agent: AgentId,
        queue: QueueId,
    },
}

/// Errors from `handle_*`: the input does not fit the engine's state. Never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("unknown agent")]
    UnknownAgent,
    #[error("unknown queue")]
    UnknownQueue,
    #[error("unknown call")]
    UnknownCall,
    #[error("unknown or finished offer")]
    UnknownOffer,
    #[error("call id already in use")]
    DuplicateCall,
    #[error("queue is full")]
    QueueFull,
    #[error("queue has no logged-in agent and join_empty is off")]
    QueueEmpty,
    #[error("agent is not logged in")]
    NotLoggedIn,
    #[error("agent is already logged in")]
    AlreadyLoggedIn,
    #[error("call is not waiting in a queue")]
    NotQueued,
    #[error("call is not connected")]
    NotConnected,
    #[error("agent is on a call, or a call rings there")]
    AgentBusy,
}
