//! Estimated wait time from live handle times.
//!
//! Each queue keeps the exact handle times (talk + hold + wrap-up, in ms) of its last N
//! completed calls in a window, with their integer sum, so the mean is exact over the window
//! (no exponential smoothing). The estimate for a caller at `position` (1 = next) is
//!
//! ```text
//! EWT = ceil(position × mean_handle_ms ÷ staffed)
//! ```
//!
//! where `staffed` is the number of member agents logged in and not NotReady (Ready, Offered,
//! OnCall or WrapUp): each of them frees up about once per mean handle time. With no completed
//! call yet, or nobody staffed, there is no estimate (`None`): saying "0 s" would be a lie.

use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct HandleWindow {
    cap: usize,
    times: VecDeque<u64>,
    sum: u64,
}

impl HandleWindow {
    pub fn new(cap: usize) -> Self {
        HandleWindow {
            cap: cap.max(1),
            times: VecDeque::new(),
            sum: 0,
        }
    }

    pub fn push(&mut self, ms: u64) {
        if self.times.len() == self.cap {
            if let Some(old) = self.times.pop_front() {
                self.sum -= old;
            }
        }
        self.times.push_back(ms);
        self.sum += ms;
    }

    pub fn mean_ms(&self) -> Option<u64> {
        (!self.times.is_empty()).then(|| self.sum / self.times.len() as u64)
    }
}

pub(crate) fn estimate(position: u32, mean_ms: Option<u64>, staffed: u32) -> Option<Duration> {
    let mean = mean_ms?;
    if staffed == 0 {
        return None;
    }
    let total = u64::from(position) * mean;
    Some(Duration::from_millis(total.div_ceil(u64::from(staffed))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_exact_and_bounded() {
        let mut w = HandleWindow::new(3);
        assert_eq!(w.mean_ms(), None);
        for ms in [1000, 2000, 3000, 6000] {
            w.push(ms);
        }
        // 1000 fell out: (2000 + 3000 + 6000) / 3
        assert_eq!(w.mean_ms(), Some(3666));
        assert_eq!(
            estimate(3, w.mean_ms(), 2),
            Some(Duration::from_millis(5499))
        );
        assert_eq!(estimate(3, w.mean_ms(), 0), None);
    }
}
