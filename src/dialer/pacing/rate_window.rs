//! A sliding window of live answers (connected or abandoned) for an abandon rate over the
//! last `span` seconds: the rolling hour the pacer guards, the day regulators measure.
//!
//! Entries are kept by the instant they leave the window rather than the one they happened:
//! answers from before a restart can then be placed by their age even when the monotonic
//! clock cannot go back that far (a host up for less than a day).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RateWindow {
    span: Duration,
    /// (leaves the window at, abandoned), in leaving order.
    entries: VecDeque<(Instant, bool)>,
    abandoned: u64,
}

impl RateWindow {
    pub fn new(span_secs: f64) -> Self {
        RateWindow {
            span: Duration::from_secs_f64(span_secs.max(0.0)),
            entries: VecDeque::new(),
            abandoned: 0,
        }
    }

    pub fn record(&mut self, now: Instant, abandoned: bool) {
        self.insert(now + self.span, abandoned);
    }

    /// An answer `age` before `now` (from before a restart); ignored if already outside.
    pub fn seed(&mut self, now: Instant, age: Duration, abandoned: bool) {
        if let Some(left) = self.span.checked_sub(age) {
            self.insert(now + left, abandoned);
        }
    }

    fn insert(&mut self, leaves: Instant, abandoned: bool) {
        let i = self.entries.partition_point(|&(t, _)| t <= leaves);
        self.entries.insert(i, (leaves, abandoned));
        self.abandoned += u64::from(abandoned);
    }

    pub fn expire(&mut self, now: Instant) {
        while let Some(&(leaves, ab)) = self.entries.front() {
            if leaves > now {
                break;
            }
            self.entries.pop_front();
            self.abandoned -= u64::from(ab);
        }
    }

    /// Live answers in the window.
    pub fn live(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn abandoned(&self) -> u64 {
        self.abandoned
    }

    pub fn rate(&self) -> f64 {
        if self.entries.is_empty() {
            0.0
        } else {
            self.abandoned as f64 / self.entries.len() as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_leave_after_the_span_seeds_by_their_age() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut w = RateWindow::new(3600.0);
        w.record(at(100), false);
        w.seed(at(100), Duration::from_secs(50), true); // happened at 50
        w.seed(at(100), Duration::from_secs(90), false); // at 10
        w.seed(at(100), Duration::from_secs(4000), true); // outside already
        w.record(at(200), true);
        assert_eq!((w.live(), w.abandoned()), (4, 2));
        w.expire(at(3620));
        assert_eq!((w.live(), w.abandoned()), (3, 2), "the one at 10 left");
        w.expire(at(3660));
        assert!((w.rate() - 0.5).abs() < 1e-9, "10 and 50 left");
        w.expire(at(3800));
        assert_eq!(w.rate(), 0.0);
        assert_eq!(w.live(), 0);
    }
}
