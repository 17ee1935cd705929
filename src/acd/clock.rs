//! Mapping the driver's monotonic `Instant`s to wall-clock milliseconds.
//!
//! The engine never reads a clock. The driver hands it one pair (an `Instant` and the Unix time
//! in ms at that instant) when it builds the engine; every event timestamp and every persisted
//! callback is then expressed in Unix ms, which survives a restart (an `Instant` does not) and is
//! what queue_log and "since midnight" KPIs need.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    anchor: Instant,
    anchor_unix_ms: u64,
}

impl Clock {
    pub fn new(anchor: Instant, anchor_unix_ms: u64) -> Self {
        Clock {
            anchor,
            anchor_unix_ms,
        }
    }

    /// Unix ms of `at` (instants before the anchor saturate towards it).
    pub fn unix_ms(&self, at: Instant) -> u64 {
        match at.checked_duration_since(self.anchor) {
            Some(d) => self.anchor_unix_ms + d.as_millis() as u64,
            None => self
                .anchor_unix_ms
                .saturating_sub(self.anchor.duration_since(at).as_millis() as u64),
        }
    }

    /// The `Instant` of a Unix ms value; `None` if it lies before what `Instant` can express
    /// (e.g. before boot), in which case callers clamp to the oldest instant they know.
    pub fn instant(&self, unix_ms: u64) -> Option<Instant> {
        if unix_ms >= self.anchor_unix_ms {
            Some(self.anchor + Duration::from_millis(unix_ms - self.anchor_unix_ms))
        } else {
            self.anchor
                .checked_sub(Duration::from_millis(self.anchor_unix_ms - unix_ms))
        }
    }

    /// Milliseconds since the anchor, signed (ranks for strategies are built from it).
    pub fn rel_ms(&self, at: Instant) -> i64 {
        match at.checked_duration_since(self.anchor) {
            Some(d) => d.as_millis() as i64,
            None => -(self.anchor.duration_since(at).as_millis() as i64),
        }
    }
}
