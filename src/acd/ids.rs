//! Typed identifiers. Agents and queues are dense indices (assigned from the config order) so
//! the engine can keep them in `Vec`s; calls and offers are opaque numbers chosen by the driver
//! (calls) or the engine (offers).

use serde::{Deserialize, Serialize};

/// An agent: index into the config's `[[agents]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AgentId(pub u32);

/// A queue: index into the config's `[[queues]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueId(pub u32);

/// A customer call, named by the driver (e.g. its B2BUA call number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CallId(pub u64);

/// One attempt to ring one agent for one call, named by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OfferId(pub u64);

impl AgentId {
    pub(crate) fn ix(self) -> usize {
        self.0 as usize
    }
}

impl QueueId {
    pub(crate) fn ix(self) -> usize {
        self.0 as usize
    }
}
