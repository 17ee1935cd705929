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
    /// Surplus hang-ups of dials a person was about to answer: leads spent on nothing.
    pub people_hung_up: u64,
    /// Longest stretch with agents meant to work and no connect (seconds).
    pub longest_no_connect: f64,
}

/// A seed with agents at work and no connect for this long stalled (15 min: a 1-agent,
/// p_human 0.05 campaign connects every ~5 min).
pub const STALL_SECS: f64 = 900.0;

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
            people_hung_up: 0,
            longest_no_connect: 0.0,
        }
    }

    pub fn note_stall(&mut self, secs: f64) {
        self.longest_no_connect = self.longest_no_connect.max(secs);
    }

    pub fn stalled(&self) -> bool {
        self.longest_no_connect >= STALL_SECS
    }

    /// Leads a shift used up: people connected, abandoned (incl. AMD false positives), or
    /// hung up on as surplus while about to answer. Busy, machine and unanswered dials are
    /// retried, so they cost an attempt, not the lead.
    pub fn leads_consumed(&self) -> u64 {
        self.connects + self.abandons + self.people_hung_up
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
        self.worst_rolling_hour_over(0)
    }

    /// The same over the windows holding at least `min_answers` live answers (the cap of
    /// 5 % per hour is not meaningful on a handful of answers).
    pub fn worst_rolling_hour_over(&self, min_answers: u32) -> f64 {
        let mins = ((self.end / 60.0).floor() as usize).min(self.live_by_min.len());
        let w = 60.min(mins);
        let mut worst: f64 = 0.0;
        for start in 0..=(mins - w) {
            let l: u32 = self.live_by_min[start..start + w].iter().sum();
            let a: u32 = self.aband_by_min[start..start + w].iter().sum();
            if l >= min_answers {
                worst = worst.max(ratio(f64::from(a), f64::from(l)));
            }
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

/// Mean over the seeds that measured any idle gap; NaN when none did (no connect after a
/// wrap-up: a stall, not a perfect 0 s).
fn per_gaps(runs: &[SeedStats], f: &dyn Fn(&[f64]) -> f64) -> f64 {
    let v: Vec<f64> = runs
        .iter()
        .filter(|s| !s.idle_gaps.is_empty())
        .map(|s| f(&s.idle_gaps))
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        mean(&v)
    }
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
    /// The same over hours with at least 100 live answers.
    pub worst_hour_100: f64,
    pub seeds_over_3pct: f64,
    pub dials_per_connect: f64,
    /// Leads used up per connect (see [`SeedStats::leads_consumed`]).
    pub leads_per_connect: f64,
    /// Seeds with agents at work and no connect for [`STALL_SECS`] or more: their other
    /// figures describe a stall, not a campaign.
    pub stalled_seeds: u32,
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
            mean_idle_secs: per_gaps(runs, &|g| mean(g)),
            p95_idle_secs: per_gaps(runs, &|g| p95(g)),
            connects_per_agent_hour: per(&|s| ratio(s.connects as f64, s.logged_in_secs / 3600.0)),
            abandon_rate: mean(&rates),
            max_abandon_rate: rates.iter().copied().fold(0.0, f64::max),
            worst_rolling_hour: runs
                .iter()
                .map(SeedStats::worst_rolling_hour)
                .fold(0.0, f64::max),
            worst_hour_100: runs
                .iter()
                .map(|s| s.worst_rolling_hour_over(100))
                .fold(0.0, f64::max),
            seeds_over_3pct: ratio(
                rates.iter().filter(|&&r| r > 0.03).count() as f64,
                rates.len() as f64,
            ),
            dials_per_connect: per(&|s| ratio(s.dials as f64, s.connects as f64)),
            leads_per_connect: per(&|s| ratio(s.leads_consumed() as f64, s.connects as f64)),
            stalled_seeds: runs.iter().filter(|s| s.stalled()).count() as u32,
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
        "{:<28} {:<12} {:>6} {:>6} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>5} {:>6} {:>6} {:>5} {:>5} {:>7}\n",
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
        "h100%",
        ">3%",
        "dl/con",
        "ld/con",
        "hup%",
        "trunk",
        "dec_us"
    )
}

/// One row; a policy that stalled in some seed says so at the end of its row, and figures
/// without data print as `-`.
pub fn table_row(s: &PolicySummary) -> String {
    let f = |v: f64, w: usize, d: usize| {
        if v.is_finite() {
            format!("{v:>w$.d$}")
        } else {
            format!("{:>w$}", "-")
        }
    };
    let mut row = format!(
        "{:<28} {:<12} {} {} {} {} {} {} {} {} {} {:>4.0}% {} {} {} {:>5} {}",
        s.scenario,
        s.policy,
        f(100.0 * s.talk_utilization, 6, 1),
        f(100.0 * s.occupancy, 6, 1),
        f(s.mean_idle_secs, 7, 1),
        f(s.p95_idle_secs, 7, 1),
        f(s.connects_per_agent_hour, 7, 1),
        f(100.0 * s.abandon_rate, 6, 2),
        f(100.0 * s.max_abandon_rate, 6, 2),
        f(100.0 * s.worst_rolling_hour, 6, 2),
        f(100.0 * s.worst_hour_100, 6, 2),
        100.0 * s.seeds_over_3pct,
        f(s.dials_per_connect, 6, 2),
        f(s.leads_per_connect, 6, 2),
        f(100.0 * s.surplus_hangups, 5, 1),
        s.peak_trunks,
        f(s.decision_ns / 1000.0, 7, 2),
    );
    if s.stalled_seeds > 0 {
        row.push_str(&format!(
            "  STALLED in {}/{} seeds (no connect for ≥ {} min)",
            s.stalled_seeds,
            s.seeds,
            STALL_SECS / 60.0
        ));
    }
    row.push('\n');
    row
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
