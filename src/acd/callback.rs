//! Queued callbacks as plain data the driver can persist (they must survive a restart: a
//! customer was promised a call) and hand back with `Engine::restore_callback`.

use serde::{Deserialize, Serialize};

use super::ids::CallId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackRecord {
    pub call: CallId,
    /// Queue name (stable across config reloads, unlike the dense id).
    pub queue: String,
    pub priority: u8,
    /// When the customer originally joined, Unix ms: restoring keeps their place in line.
    pub enqueued_at_ms: u64,
    pub orig_position: u32,
}
