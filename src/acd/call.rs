//! A caller in the engine (waiting, ringing agents, or connected) and one offer.

use std::time::Instant;

use super::ids::{AgentId, CallId, OfferId, QueueId};
use super::waiting::WaitKey;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallState {
    /// In its stage bucket, matchable.
    Waiting,
    /// Offers out (one, or several for ring-all); not matchable until they all fail.
    Ringing(Vec<OfferId>),
    Connected {
        agent: AgentId,
        at: Instant,
        hold_since: Option<Instant>,
        hold_ms: u64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub id: CallId,
    pub queue: QueueId,
    pub key: WaitKey,
    pub stage: usize,
    pub state: CallState,
    /// A virtual caller: the customer hung up and will be called back.
    pub callback: bool,
    pub orig_position: u32,
    pub wait_ms: u64,
}

impl Call {
    pub fn priority(&self) -> u8 {
        self.key.0 .0
    }

    pub fn enqueued(&self) -> Instant {
        self.key.1
    }

    pub fn in_queue(&self) -> bool {
        !matches!(self.state, CallState::Connected { .. })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Offer {
    pub call: CallId,
    pub agent: AgentId,
    pub queue: QueueId,
    pub at: Instant,
}

/// Why the driver reports an offer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferFailure {
    /// The phone rang out or reported no answer: treated like the ring timeout (RONA).
    NoAnswer,
    /// The agent declined (e.g. 603): back-off, stays Ready.
    Rejected,
    /// The phone was busy (486): back-off, stays Ready.
    Busy,
}
