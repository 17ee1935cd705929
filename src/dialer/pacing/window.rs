//! Exact recent windows of observations (no exponential averages): every sample younger than
//! the window's age limit, at most `cap` of them, kept as a 1-second histogram so the
//! conditional probabilities the predictive model needs are array look-ups.

use std::collections::VecDeque;
use std::time::Instant;

/// Durations (talk, wrap) in whole seconds; F(t) = P(D ≤ t) from the window.
#[derive(Debug, Clone)]
pub struct DurationWindow {
    samples: VecDeque<(Instant, u32)>,
    counts: Vec<u32>,
    cum: Vec<u32>,
    dirty: bool,
    sum: u64,
    max_age_secs: f64,
    cap: usize,
}

impl DurationWindow {
    pub fn new(max_age_secs: f64, cap: usize) -> Self {
        DurationWindow {
            samples: VecDeque::new(),
            counts: Vec::new(),
            cum: Vec::new(),
            dirty: false,
            sum: 0,
            max_age_secs,
            cap,
        }
    }

    pub fn push(&mut self, now: Instant, secs: f64) {
        let s = secs.max(0.0).round().min(u32::MAX as f64 / 2.0) as u32;
        if self.counts.len() <= s as usize {
            self.counts.resize(s as usize + 1, 0);
        }
        self.counts[s as usize] += 1;
        self.sum += u64::from(s);
        self.samples.push_back((now, s));
        while self.samples.len() > self.cap {
            self.pop_front();
        }
        self.dirty = true;
    }

    /// Drop samples older than the age limit (kept: at least the newest `cap / 10`, so a slow
    /// campaign still has an estimate).
    pub fn expire(&mut self, now: Instant) {
        let keep = (self.cap / 10).max(1);
        while self.samples.len() > keep {
            match self.samples.front() {
                Some(&(at, _)) if now.duration_since(at).as_secs_f64() > self.max_age_secs => {
                    self.pop_front()
                }
                _ => break,
            }
        }
    }

    fn pop_front(&mut self) {
        if let Some((_, s)) = self.samples.pop_front() {
            self.counts[s as usize] -= 1;
            self.sum -= u64::from(s);
            self.dirty = true;
        }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn mean(&self) -> Option<f64> {
        (!self.samples.is_empty()).then(|| self.sum as f64 / self.samples.len() as f64)
    }

    /// The longest duration in the window (whole seconds; 0 when empty).
    pub fn max_secs(&self) -> f64 {
        self.counts.iter().rposition(|&c| c > 0).unwrap_or(0) as f64
    }

    /// Rebuild the cumulative counts if samples changed (O(longest duration)).
    pub fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        let mut last = self.counts.len();
        while last > 0 && self.counts[last - 1] == 0 {
            last -= 1;
        }
        self.counts.truncate(last);
        self.cum.clear();
        let mut acc = 0;
        for &c in &self.counts {
            acc += c;
            self.cum.push(acc);
        }
        self.dirty = false;
    }

    /// Samples ≤ t seconds (call `refresh` first).
    fn count_le(&self, t: f64) -> u32 {
        if t < 0.0 {
            return 0;
        }
        let i = t.floor() as usize;
        match self.cum.get(i) {
            Some(&c) => c,
            None => self.cum.last().copied().unwrap_or(0),
        }
    }

    /// P(D ≤ elapsed + x | D > elapsed): the chance that something which has lasted `elapsed`
    /// ends within `x` more seconds. Past every sample, the residual is taken as memoryless
    /// with the window's mean.
    pub fn p_end_within(&self, elapsed: f64, x: f64) -> f64 {
        let n = self.samples.len() as u32;
        if n == 0 || x <= 0.0 {
            return 0.0;
        }
        let done = self.count_le(elapsed);
        let alive = n - done;
        if alive == 0 {
            let mean = self.mean().unwrap_or(1.0).max(1.0);
            return 1.0 - (-x / mean).exp();
        }
        f64::from(self.count_le(elapsed + x) - done) / f64::from(alive)
    }
}

/// Resolved dials: when (seconds after placing) they resolved and whether a person answered.
#[derive(Debug, Clone)]
pub struct DialWindow {
    samples: VecDeque<(Instant, u16, bool)>,
    live: Vec<u32>,
    all: Vec<u32>,
    cum_live: Vec<u32>,
    cum_all: Vec<u32>,
    dirty: bool,
    n_live: u32,
    max_age_secs: f64,
    cap: usize,
}

impl DialWindow {
    /// `buckets`: one per second up to the ring timeout (later resolutions land in the last).
    pub fn new(buckets: usize, max_age_secs: f64, cap: usize) -> Self {
        let b = buckets.max(1);
        DialWindow {
            samples: VecDeque::new(),
            live: vec![0; b],
            all: vec![0; b],
            cum_live: vec![0; b],
            cum_all: vec![0; b],
            dirty: false,
            n_live: 0,
            max_age_secs,
            cap,
        }
    }

    pub fn buckets(&self) -> usize {
        self.all.len()
    }

    /// The latest whole second at which a dial in the window resolved (0 when empty).
    pub fn max_secs(&self) -> f64 {
        self.all.iter().rposition(|&c| c > 0).unwrap_or(0) as f64
    }

    pub fn push(&mut self, now: Instant, after_secs: f64, live: bool) {
        let b = (after_secs.max(0.0).floor() as usize).min(self.all.len() - 1);
        self.all[b] += 1;
        if live {
            self.live[b] += 1;
            self.n_live += 1;
        }
        self.samples.push_back((now, b as u16, live));
        while self.samples.len() > self.cap {
            self.pop_front();
        }
        self.dirty = true;
    }

    pub fn expire(&mut self, now: Instant) {
        let keep = (self.cap / 20).max(1);
        while self.samples.len() > keep {
            match self.samples.front() {
                Some(&(at, _, _)) if now.duration_since(at).as_secs_f64() > self.max_age_secs => {
                    self.pop_front()
                }
                _ => break,
            }
        }
    }

    fn pop_front(&mut self) {
        if let Some((_, b, live)) = self.samples.pop_front() {
            self.all[b as usize] -= 1;
            if live {
                self.live[b as usize] -= 1;
                self.n_live -= 1;
            }
            self.dirty = true;
        }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Share of resolved dials a person answered.
    pub fn p_live(&self) -> f64 {
        if self.samples.is_empty() {
            0.0
        } else {
            f64::from(self.n_live) / self.samples.len() as f64
        }
    }

    pub fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        let (mut l, mut a) = (0, 0);
        for i in 0..self.all.len() {
            l += self.live[i];
            a += self.all[i];
            self.cum_live[i] = l;
            self.cum_all[i] = a;
        }
        self.dirty = false;
    }

    fn at(cum: &[u32], t: f64) -> u32 {
        if t < 0.0 {
            return 0;
        }
        let i = (t.floor() as usize).min(cum.len() - 1);
        cum[i]
    }

    /// P(a person answers within `h` more seconds | the dial, placed `elapsed` s ago, has not
    /// resolved yet). Call `refresh` first.
    pub fn q_live(&self, elapsed: f64, h: f64) -> f64 {
        let n = self.samples.len() as u32;
        if n == 0 {
            return 0.0;
        }
        // Resolved strictly before the dial's current second.
        let done = Self::at(&self.cum_all, elapsed - 1.0);
        let alive = n - done;
        if alive == 0 {
            return 0.0;
        }
        let live_before = Self::at(&self.cum_live, elapsed - 1.0);
        f64::from(Self::at(&self.cum_live, elapsed + h) - live_before) / f64::from(alive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn duration_window_conditional() {
        let t0 = Instant::now();
        let mut w = DurationWindow::new(100.0, 100);
        for s in [10.0, 20.0, 30.0, 40.0] {
            w.push(t0, s);
        }
        w.refresh();
        assert_eq!(w.mean(), Some(25.0));
        assert!((w.p_end_within(0.0, 20.0) - 0.5).abs() < 1e-9);
        assert!((w.p_end_within(25.0, 10.0) - 0.5).abs() < 1e-9);
        assert!(w.p_end_within(45.0, 10.0) > 0.0);
        // Expiry by age keeps at least cap/10.
        w.expire(t0 + Duration::from_secs(1000));
        assert_eq!(w.len(), 4); // all kept: fewer than cap / 10
    }

    #[test]
    fn dial_window_conditional() {
        let t0 = Instant::now();
        let mut w = DialWindow::new(27, 100.0, 100);
        w.push(t0, 5.0, true);
        w.push(t0, 10.0, true);
        w.push(t0, 3.0, false);
        w.push(t0, 26.0, false);
        w.refresh();
        assert!((w.p_live() - 0.5).abs() < 1e-9);
        assert!((w.q_live(0.0, 30.0) - 0.5).abs() < 1e-9);
        // After 6 s only the 10 s answer and the timeout remain.
        assert!((w.q_live(6.0, 5.0) - 0.5).abs() < 1e-9);
        assert!((w.q_live(11.0, 5.0)).abs() < 1e-9);
    }
}
