//! What one shift measured, and the per-policy summary over seeds.

use serde::Serialize;

/// Raw counters of one shift (one policy, one seed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedStats {
    pub end: f64,
    pub logged_in_secs: f64,
    pub talk_secs: f64,
    pub wrap_secs: f64,
    pub machine_secs: f64,
    /// Wrap-up end → next connect, one per connect that followed a wrap-up. Gaps still open
    /// when the agent logs out or the shift ends are left out (censored; at most one per
    /// agent and logout).
    pub idle_gaps: Vec<f64>,
    /// Login → first connect: not "between calls", reported apart (the ramp-up at the start
    /// of the shift, when predictive has no estimates yet, lives here; it still counts
    /// against utilization).
    pub login_gaps: Vec<f64>,
    pub dials: u64,
    /// Surplus dials the pacer hung up after the regulated minimum ring.
    pub cancelled: u64,
    pub connects: u64,
    pub machine_connects: u64,
    pub live_answers: u64,
    pub abandons: u64,
    /// Per minute of the shift: live answers and abandons.
    pub live_by_min: Vec<u32>,
    pub aband_by_min: Vec<u32>,
    pub peak_trunks: u32,
    pub pacing_nanos: u128,
    pub decisions: u64,
}

impl SeedStats {
    pub fn new(end: f64) -> Self {
        let mins = (end / 60.0).ceil() as usize + 1;
        SeedStats {
            end,
            logged_in_secs: 0.0,
            talk_secs: 0.0,
            wrap_secs: 0.0,
            machine_secs: 0.0,
            idle_gaps: Vec::new(),
            login_gaps: Vec::new(),
            dials: 0,
            cancelled: 0,
            connects: 0,
            machine_connects: 0,
            live_answers: 0,
            abandons: 0,
            live_by_min: vec![0; mins],
            aband_by_min: vec![0; mins],
            peak_trunks: 0,
            pacing_nanos: 0,
            decisions: 0,
        }
    }

    fn clip(&self, now: f64, d: f64) -> f64 {
        d.min(self.end - now).max(0.0)
    }

    pub fn add_talk(&mut self, now: f64, d: f64) {
        self.talk_secs += self.clip(now, d);
    }

    pub fn add_wrap(&mut self, now: f64, d: f64) {
        self.wrap_secs += self.clip(now, d);
    }

    pub fn add_machine(&mut self, now: f64, d: f64) {
        self.machine_secs += self.clip(now, d);
    }

    /// A person answered at `now` and was connected or abandoned.
    pub fn live_answer(&mut self, now: f64, abandoned: bool) {
        let m = ((now / 60.0) as usize).min(self.live_by_min.len() - 1);
        self.live_answers += 1;
        self.live_by_min[m] += 1;
        if abandoned {
            self.abandons += 1;
            self.aband_by_min[m] += 1;
        }
    }

    pub fn abandon_rate(&self) -> f64 {
        ratio(self.abandons as f64, self.live_answers as f64)
    }

    /// Worst abandon rate over any 60 consecutive minutes (the whole shift if shorter).
    pub fn worst_rolling_hour(&self) -> f64 {
        let mins = ((self.end / 60.0).floor() as usize).min(self.live_by_min.len());
        let w = 60.min(mins);
        let mut worst: f64 = 0.0;
        for start in 0..=(mins - w) {
            let l: u32 = self.live_by_min[start..start + w].iter().sum();
            let a: u32 = self.aband_by_min[start..start + w].iter().sum();
            worst = worst.max(ratio(f64::from(a), f64::from(l)));
        }
        worst
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn mean(xs: &[f64]) -> f64 {
    ratio(xs.iter().sum(), xs.len() as f64)
}

fn p95(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1]
}

/// One policy in one scenario, averaged over seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySummary {
    pub scenario: String,
    pub policy: String,
    pub seeds: u32,
    pub talk_utilization: f64,
    pub occupancy: f64,
    pub mean_idle_secs: f64,
    pub p95_idle_secs: f64,
    pub connects_per_agent_hour: f64,
    pub abandon_rate: f64,
    pub max_abandon_rate: f64,
    pub worst_rolling_hour: f64,
    pub seeds_over_3pct: f64,
    pub dials_per_connect: f64,
    /// Share of dials hung up as surplus after the regulated minimum ring.
    pub surplus_hangups: f64,
    pub peak_trunks: u32,
    pub decision_ns: f64,
}

impl PolicySummary {
    pub fn from_seeds(scenario: &str, policy: &str, runs: &[SeedStats]) -> Self {
        let per = |f: &dyn Fn(&SeedStats) -> f64| mean(&runs.iter().map(f).collect::<Vec<_>>());
        let rates: Vec<f64> = runs.iter().map(SeedStats::abandon_rate).collect();
        PolicySummary {
            scenario: scenario.to_string(),
            policy: policy.to_string(),
            seeds: runs.len() as u32,
            talk_utilization: per(&|s| ratio(s.talk_secs, s.logged_in_secs)),
            occupancy: per(&|s| {
                ratio(s.talk_secs + s.wrap_secs + s.machine_secs, s.logged_in_secs)
            }),
            mean_idle_secs: per(&|s| mean(&s.idle_gaps)),
            p95_idle_secs: per(&|s| p95(&s.idle_gaps)),
            connects_per_agent_hour: per(&|s| ratio(s.connects as f64, s.logged_in_secs / 3600.0)),
            abandon_rate: mean(&rates),
            max_abandon_rate: rates.iter().copied().fold(0.0, f64::max),
            worst_rolling_hour: runs
                .iter()
                .map(SeedStats::worst_rolling_hour)
                .fold(0.0, f64::max),
            seeds_over_3pct: ratio(
                rates.iter().filter(|&&r| r > 0.03).count() as f64,
                rates.len() as f64,
            ),
            dials_per_connect: per(&|s| ratio(s.dials as f64, s.connects as f64)),
            surplus_hangups: per(&|s| ratio(s.cancelled as f64, s.dials as f64)),
            peak_trunks: runs.iter().map(|s| s.peak_trunks).max().unwrap_or(0),
            decision_ns: ratio(
                runs.iter().map(|s| s.pacing_nanos as f64).sum(),
                runs.iter().map(|s| s.decisions as f64).sum(),
            ),
        }
    }
}

/// The header of [`table_row`].
pub fn table_header() -> String {
    format!(
        "{:<28} {:<12} {:>6} {:>6} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>5} {:>6} {:>5} {:>5} {:>7}\n",
        "scenario",
        "policy",
        "util%",
        "occ%",
        "idle_s",
        "p95_s",
        "conn/h",
        "aband%",
        "max%",
        "hour%",
        ">3%",
        "dl/con",
        "hup%",
        "trunk",
        "dec_us"
    )
}

pub fn table_row(s: &PolicySummary) -> String {
    format!(
        "{:<28} {:<12} {:>6.1} {:>6.1} {:>7.1} {:>7.1} {:>7.1} {:>6.2} {:>6.2} {:>6.2} {:>4.0}% {:>6.2} {:>5.1} {:>5} {:>7.2}\n",
        s.scenario,
        s.policy,
        100.0 * s.talk_utilization,
        100.0 * s.occupancy,
        s.mean_idle_secs,
        s.p95_idle_secs,
        s.connects_per_agent_hour,
        100.0 * s.abandon_rate,
        100.0 * s.max_abandon_rate,
        100.0 * s.worst_rolling_hour,
        100.0 * s.seeds_over_3pct,
        s.dials_per_connect,
        100.0 * s.surplus_hangups,
        s.peak_trunks,
        s.decision_ns / 1000.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_hour_and_p95() {
        let mut s = SeedStats::new(7200.0);
        for m in 0..120 {
            s.live_answer(m as f64 * 60.0 + 1.0, m == 100);
        }
        assert!((s.abandon_rate() - 1.0 / 120.0).abs() < 1e-12);
        assert!((s.worst_rolling_hour() - 1.0 / 60.0).abs() < 1e-12);
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p95(&xs), 95.0);
    }
}
