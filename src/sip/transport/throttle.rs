//! Rate-limited logging. Under a flood one line per period says what happens and how often;
//! a line per event would cost more than the refusals themselves and bury the log.
//! Sans-IO: time comes in as `now`.

use std::time::{Duration, Instant};

/// The period used for the transports' refusal and accept-error lines.
pub const LOG_PERIOD: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct LogThrottle {
    period: Duration,
    /// When the next line may be written (None: the first event logs at once).
    next: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    pub fn new(period: Duration) -> Self {
        LogThrottle {
            period,
            next: None,
            suppressed: 0,
        }
    }

    /// An event at `now`. `Some(n)`: log it, saying that `n` more were suppressed since the
    /// last line. `None`: it was counted; stay quiet.
    pub fn handle(&mut self, now: Instant) -> Option<u64> {
        if self.next.is_some_and(|t| now < t) {
            self.suppressed += 1;
            return None;
        }
        self.next = Some(now + self.period);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn one_line_per_period_with_the_count_of_the_rest() {
        let t0 = Instant::now();
        let mut t = LogThrottle::new(10 * S);
        assert_eq!(t.handle(t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(t.handle(t0 + Duration::from_millis(i * 9)), None);
        }
        assert_eq!(t.handle(t0 + 10 * S), Some(1000));
        assert_eq!(t.handle(t0 + 11 * S), None);
        assert_eq!(t.handle(t0 + 20 * S), Some(1));
    }

    #[test]
    fn a_quiet_spell_logs_the_next_event_at_once() {
        let t0 = Instant::now();
        let mut t = LogThrottle::new(10 * S);
        assert_eq!(t.handle(t0), Some(0));
        assert_eq!(t.handle(t0 + 3600 * S), Some(0));
    }
}
