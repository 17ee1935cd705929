//! RFC 3261 timer values (Table 4) from T1, T2 and T4.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// Timers B, F, H, J, L and M: 64*T1.
    pub fn t64(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer C: more than three minutes.
    pub fn c(&self) -> Duration {
        Duration::from_secs(181)
    }

    /// Timer D: at least 32 s on unreliable transports, zero on reliable ones.
    pub fn d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t64().max(Duration::from_secs(32))
        }
    }

    /// Timers I and K: T4 on unreliable transports, zero on reliable ones.
    pub fn t4_or_zero(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }
}

/// Which RFC 3261 / RFC 6026 timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    A,
    B,
    /// RFC 3261 §16.6 Timer C, used by our client INVITE in Proceeding as a safety net: a
    /// peer that sends 1xx and never a final answer cannot hold a transaction forever.
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
    L,
    M,
}
