//! The abandon-rate controller: measures abandoned / live answers for the campaign and over a
//! rolling window, and turns the distance to the cap into the risk budget the predictive
//! planner may spend.
//!
//! - Measured rates: the campaign's `m` and the rolling window's `r`, each shrunk towards the
//!   target by a prior of `PRIOR_ANSWERS` answers (so three early abandons do not stop the
//!   campaign), plus the known AMD false-positive share (people AMD hung up on are abandons
//!   the pacer never sees).
//! - Integral action on the campaign rate (the regulated one): after every live answer's fate
//!   (connected or abandoned), `gain *= exp(ETA * (target - m) / target)`, clamped to
//!   `[GAIN_MIN, GAIN_MAX]`. Steering by the rolling hour instead made the gain chase its
//!   noise (an hour of 20 agents holds ~500 answers, ±0.7 points): the campaign then ran
//!   below target and idled its agents.
//! - Slow-down near the cap: above the target the budget is scaled by `(cap - m) / (cap -
//!   target)`, reaching 0 at the cap; and by `(rcap - r) / (rcap - cap)` once the rolling
//!   rate passes the cap, reaching 0 at `rcap = ROLLING_CAP_FACTOR * cap` (5 % for a 3 % cap),
//!   so a burst (a drifting answer rate the windows have not caught up with) is stopped
//!   before any hour goes far over. At 0 the planner dials only what progressive would.

use std::collections::VecDeque;
use std::time::Instant;

const PRIOR_ANSWERS: f64 = 50.0;
const ETA: f64 = 0.01;
/// The budget starts at half the cap: early estimates are rough, and a low start beat 1–5 ×
/// the cap in the simulator (the integral raises it within the first hour or so).
const INITIAL_GAIN: f64 = 0.5;
const GAIN_MIN: f64 = 0.05;
const GAIN_MAX: f64 = 20.0;
/// The rolling window may run this much over the campaign cap before dialing stops.
pub const ROLLING_CAP_FACTOR: f64 = 5.0 / 3.0;

#[derive(Debug, Clone)]
pub struct AbandonController {
    cap: f64,
    target: f64,
    amd_fp: f64,
    rolling_secs: f64,
    live: u64,
    abandoned: u64,
    rolling: VecDeque<(Instant, bool)>,
    rolling_abandoned: u64,
    gain: f64,
}

impl AbandonController {
    pub fn new(cap: f64, target_fraction: f64, amd_fp: f64, rolling_secs: f64) -> Self {
        AbandonController {
            cap,
            target: cap * target_fraction,
            amd_fp,
            rolling_secs,
            live: 0,
            abandoned: 0,
            rolling: VecDeque::new(),
            rolling_abandoned: 0,
            gain: INITIAL_GAIN,
        }
    }

    /// A live answer was connected (`abandoned == false`) or abandoned.
    pub fn record(&mut self, now: Instant, abandoned: bool) {
        self.live += 1;
        self.abandoned += u64::from(abandoned);
        self.rolling.push_back((now, abandoned));
        self.rolling_abandoned += u64::from(abandoned);
        self.expire(now);
        let m = self.measured_campaign();
        self.gain =
            (self.gain * (ETA * (self.target - m) / self.target).exp()).clamp(GAIN_MIN, GAIN_MAX);
    }

    /// Live answers and abandons from before a restart (the lead book's last 30 days): they
    /// count in the campaign rate, so a campaign that ran near the cap starts cautious. Not
    /// in the rolling window (its times are this run's) nor the gain (it starts as usual).
    pub fn seed(&mut self, live: u64, abandoned: u64) {
        self.live += live;
        self.abandoned += abandoned.min(live);
    }

    /// Live answers from before a restart that fall in the rolling window (the lead book's
    /// last hour, their times moved to this run's clock), so the rolling guard starts where
    /// the last run left it. `seed` already counted them in the campaign totals: they only
    /// join the window (in time order), and the gain is untouched.
    pub fn seed_rolling(&mut self, events: &[(Instant, bool)]) {
        for &(at, abandoned) in events {
            let i = self.rolling.partition_point(|&(t, _)| t <= at);
            self.rolling.insert(i, (at, abandoned));
            self.rolling_abandoned += u64::from(abandoned);
        }
    }

    pub fn expire(&mut self, now: Instant) {
        while let Some(&(at, ab)) = self.rolling.front() {
            if now.duration_since(at).as_secs_f64() <= self.rolling_secs {
                break;
            }
            self.rolling.pop_front();
            self.rolling_abandoned -= u64::from(ab);
        }
    }

    fn shrunk(&self, abandoned: u64, live: u64) -> f64 {
        let seen = (abandoned as f64 + self.target * PRIOR_ANSWERS) / (live as f64 + PRIOR_ANSWERS);
        // People AMD dropped: fp of all true answers, which the pacer saw as (1 - fp).
        seen * (1.0 - self.amd_fp) + self.amd_fp
    }

    /// The campaign rate the controller steers by (shrunk, AMD-adjusted).
    pub fn measured_campaign(&self) -> f64 {
        self.shrunk(self.abandoned, self.live)
    }

    /// The rolling-window rate the controller guards (shrunk, AMD-adjusted).
    pub fn measured_rolling(&self) -> f64 {
        self.shrunk(self.rolling_abandoned, self.rolling.len() as u64)
    }

    /// The worse of the two measured rates.
    pub fn measured(&self) -> f64 {
        self.measured_campaign().max(self.measured_rolling())
    }

    /// Raw campaign rate (abandoned / live answers the pacer saw).
    pub fn campaign_rate(&self) -> f64 {
        if self.live == 0 {
            0.0
        } else {
            self.abandoned as f64 / self.live as f64
        }
    }

    pub fn rolling_rate(&self) -> f64 {
        if self.rolling.is_empty() {
            0.0
        } else {
            self.rolling_abandoned as f64 / self.rolling.len() as f64
        }
    }

    /// The expected-abandon fraction the planner may accept for the calls now in flight.
    pub fn budget(&self) -> f64 {
        let m = self.measured_campaign();
        let slow = if m <= self.target {
            1.0
        } else {
            ((self.cap - m) / (self.cap - self.target)).clamp(0.0, 1.0)
        };
        let r = self.measured_rolling();
        let rcap = self.cap * ROLLING_CAP_FACTOR;
        let slow_rolling = ((rcap - r) / (rcap - self.cap)).clamp(0.0, 1.0);
        // The AMD share is not the planner's to spend.
        (self.cap - self.amd_fp).max(0.0) * self.gain * slow * slow_rolling
    }

    pub fn gain(&self) -> f64 {
        self.gain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_shrinks_as_rate_nears_cap() {
        let t = Instant::now();
        let mut low = AbandonController::new(0.03, 0.8, 0.0, 3600.0);
        let mut high = low.clone();
        for i in 0..400 {
            low.record(t, i % 100 == 0); // 1 %
            high.record(t, i % 36 == 0); // ~2.8 %
        }
        assert!(low.budget() > high.budget());
        assert!(high.measured() > 0.024);
        let mut over = AbandonController::new(0.03, 0.8, 0.0, 3600.0);
        for i in 0..400 {
            over.record(t, i % 10 == 0); // 10 %
        }
        assert_eq!(over.budget(), 0.0);
    }

    #[test]
    fn seeded_rolling_events_join_the_window_in_order_and_expire() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + std::time::Duration::from_secs(s);
        let mut c = AbandonController::new(0.03, 0.85, 0.0, 3600.0);
        c.record(at(100), false);
        c.seed_rolling(&[(at(50), true), (at(10), false), (at(200), true)]);
        assert_eq!(c.campaign_rate(), 0.0, "seeds are not campaign totals");
        assert!((c.rolling_rate() - 0.5).abs() < 1e-9);
        let order: Vec<u64> = c.rolling.iter().map(|(t, _)| (*t - t0).as_secs()).collect();
        assert_eq!(order, [10, 50, 100, 200]);
        c.expire(at(3660));
        assert!((c.rolling_rate() - 0.5).abs() < 1e-9, "10 and 50 expired");
        c.expire(at(3900));
        assert_eq!(c.rolling_rate(), 0.0);
    }

    /// A bad hour stops dialing beyond progressive even when the campaign as a whole is fine.
    #[test]
    fn rolling_hour_guard() {
        let t0 = Instant::now();
        let at = |s: f64| t0 + std::time::Duration::from_secs_f64(s);
        let mut c = AbandonController::new(0.03, 0.85, 0.0, 3600.0);
        for i in 0..5000 {
            c.record(at(f64::from(i)), i % 100 == 0); // 1 % for 5000 s
        }
        let calm = c.budget();
        assert!(calm > 0.0);
        for i in 0..400 {
            c.record(at(9000.0 + f64::from(i)), i % 10 == 0); // 10 % in the last hour
        }
        assert!(c.campaign_rate() < 0.03, "{}", c.campaign_rate());
        assert!(c.measured_rolling() > 0.05);
        assert_eq!(c.budget(), 0.0);
    }
}
