//! Scenario files (TOML): the customer population, agents, distributions, drift, the agent
//! schedule, AMD, the shift, and the policies to compare. Unknown keys are errors.

use std::path::Path;

use serde::Deserialize;

use crate::dialer::pacing::{Mode, PacingConfig};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub name: String,
    /// Agents logged in at the start (the schedule may change it).
    pub agents: u32,
    #[serde(default = "d_shift")]
    pub shift_hours: f64,
    #[serde(default = "d_seeds")]
    pub seeds: u32,
    #[serde(default)]
    pub first_seed: u64,
    /// Share of dials a person answers (before drift).
    pub p_human: f64,
    #[serde(default = "d_share")]
    pub p_machine: f64,
    #[serde(default = "d_share")]
    pub p_busy: f64,
    #[serde(default = "d_answer")]
    pub human_answer: MeanSd,
    #[serde(default = "d_machine")]
    pub machine_answer: MeanSd,
    #[serde(default = "d_busy_min")]
    pub busy_min_secs: f64,
    #[serde(default = "d_busy_max")]
    pub busy_max_secs: f64,
    #[serde(default = "d_ring")]
    pub ring_timeout_secs: f64,
    #[serde(default = "d_talk")]
    pub talk: MeanCv,
    #[serde(default = "d_wrap")]
    pub wrap_secs: f64,
    #[serde(default = "d_reach")]
    pub agent_reach_secs: f64,
    #[serde(default)]
    pub drift: Option<Drift>,
    #[serde(default)]
    pub schedule: Vec<ScheduleStep>,
    #[serde(default)]
    pub amd: Option<Amd>,
    #[serde(default)]
    pub churn: Option<Churn>,
    pub policies: Vec<Policy>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanCv {
    pub mean: f64,
    pub cv: f64,
}

/// `p_human` steps through `p_human` values: one every `every_min` minutes, cycling; or,
/// with `at_min` (one start per value, increasing from 0), each from its start on, the last
/// to the end of the shift: any piecewise-constant shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    #[serde(default)]
    pub every_min: Option<f64>,
    #[serde(default)]
    pub at_min: Option<Vec<f64>>,
    pub p_human: Vec<f64>,
}

/// From `at_min` on, `agents` are logged in (agents on a call leave after its wrap-up,
/// and the pacer hears at once that they are leaving). With `ramp_min`, the change is
/// spread evenly over that many minutes (one agent at a time): waves of any shape.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleStep {
    pub at_min: f64,
    pub agents: u32,
    #[serde(default)]
    pub ramp_min: f64,
}

/// Agent churn: each logged-in agent leaves at `per_agent_hour` (a Poisson rate; after its
/// call and wrap-up if busy) and a fresh agent logs in in its place `replace_after_min`
/// later (0: at once), so the headcount holds while the people change.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    pub per_agent_hour: f64,
    #[serde(default)]
    pub replace_after_min: f64,
}

/// Answering machine detection: people wrongly hung up on (counted as abandoned) and
/// machines passed to agents (the pacer sees them as people; agents drop them).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amd {
    #[serde(default)]
    pub false_positive: f64,
    #[serde(default)]
    pub machine_to_agent: f64,
    #[serde(default = "d_machine_agent")]
    pub machine_agent_secs: f64,
    /// Tell the pacer the false-positive rate (it cannot measure it).
    #[serde(default = "d_true")]
    pub pacer_knows_false_positive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    Preview,
    Progressive,
    FixedRatio,
    Predictive,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub mode: PolicyMode,
    /// Dials per ready agent (fixed_ratio only).
    #[serde(default)]
    pub ratio: Option<f64>,
    #[serde(default)]
    pub max_abandon_rate: Option<f64>,
    #[serde(default)]
    pub target_fraction: Option<f64>,
    #[serde(default)]
    pub max_outstanding: Option<u32>,
    /// Predictive: hang up surplus dials after this many seconds of ringing (0: never;
    /// default 15, as a campaign's `surplus_hangup_secs`).
    #[serde(default)]
    pub surplus_hangup_secs: Option<f64>,
    /// Predictive: how precious a lead is (a campaign's `lead_cost`; default 0): a surplus
    /// dial rings on unless its answer's risk of abandon exceeds `(1 + lead_cost) × budget`.
    #[serde(default)]
    pub lead_cost: Option<f64>,
}

fn d_shift() -> f64 {
    8.0
}
fn d_seeds() -> u32 {
    10
}
fn d_share() -> f64 {
    0.15
}
fn d_answer() -> MeanSd {
    MeanSd { mean: 9.0, sd: 5.0 }
}
fn d_machine() -> MeanSd {
    MeanSd {
        mean: 20.0,
        sd: 5.0,
    }
}
fn d_busy_min() -> f64 {
    2.0
}
fn d_busy_max() -> f64 {
    6.0
}
fn d_ring() -> f64 {
    26.0
}
fn d_talk() -> MeanCv {
    MeanCv {
        mean: 120.0,
        cv: 1.0,
    }
}
fn d_wrap() -> f64 {
    10.0
}
fn d_reach() -> f64 {
    2.0
}
fn d_machine_agent() -> f64 {
    5.0
}
fn d_true() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    /// Every invalid value, each as `file:line:col: message`.
    #[error("{0}")]
    Invalid(crate::config::ConfigErrors),
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: p.clone(),
            source,
        })?;
        Scenario::load_str(&text, &p, path)
    }

    /// Parse and validate `text` (read from `path`, named `file` in errors).
    pub fn load_str(text: &str, file: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let mut sc = Scenario::parse(text).map_err(|message| ScenarioError::Parse {
            path: file.to_string(),
            message,
        })?;
        if sc.name.is_empty() {
            sc.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        let problems = super::check::check(&sc);
        if !problems.is_empty() {
            return Err(ScenarioError::Invalid(super::check::locate(
                file, text, &problems,
            )));
        }
        Ok(sc)
    }

    /// Parse (no validation); errors carry toml's line:column and a snippet.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Every problem, first one as text (see [`super::check`] for the rules).
    pub fn validate(&self) -> Result<(), String> {
        match super::check::check(self).into_iter().next() {
            None => Ok(()),
            Some(p) => Err(format!("{}: {}", p.key_text(), p.message)),
        }
    }

    /// The pacing config a policy runs with.
    pub fn pacing_config(&self, p: &Policy) -> Result<PacingConfig, String> {
        let mode = match (p.mode, p.ratio) {
            (PolicyMode::FixedRatio, Some(ratio)) => Mode::FixedRatio { ratio },
            (PolicyMode::FixedRatio, None) => return Err("fixed_ratio needs `ratio`".into()),
            (_, Some(_)) => return Err("`ratio` applies to fixed_ratio only".into()),
            (PolicyMode::Preview, None) => Mode::Preview,
            (PolicyMode::Progressive, None) => Mode::Progressive,
            (PolicyMode::Predictive, None) => Mode::Predictive,
        };
        let d = PacingConfig::default();
        let cfg = PacingConfig {
            mode,
            max_abandon_rate: p.max_abandon_rate.unwrap_or(d.max_abandon_rate),
            target_fraction: p.target_fraction.unwrap_or(d.target_fraction),
            max_outstanding: p.max_outstanding.unwrap_or(d.max_outstanding),
            cancel_surplus_after_secs: match p.surplus_hangup_secs {
                Some(0.0) => None,
                Some(s) => Some(s),
                None => d.cancel_surplus_after_secs,
            },
            lead_cost: p.lead_cost.unwrap_or(d.lead_cost),
            agent_reach_secs: self.agent_reach_secs,
            ring_timeout_secs: self.ring_timeout_secs,
            amd_false_positive: match self.amd {
                Some(a) if a.pacer_knows_false_positive => a.false_positive,
                _ => 0.0,
            },
            ..d
        };
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    /// p_human for a dial placed `t` seconds into the shift.
    pub fn p_human_at(&self, t: f64) -> f64 {
        let Some(d) = &self.drift else {
            return self.p_human;
        };
        if d.p_human.is_empty() {
            return self.p_human;
        }
        if let Some(at) = &d.at_min {
            // The last start at or before t (validation: increasing, one per value).
            let i = at.iter().rposition(|&m| m * 60.0 <= t).unwrap_or(0);
            return d.p_human[i.min(d.p_human.len() - 1)];
        }
        match d.every_min {
            Some(every) if every > 0.0 => {
                let i = (t / (every * 60.0)).floor() as usize % d.p_human.len();
                d.p_human[i]
            }
            _ => self.p_human,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
agents = 20
p_human = 0.25
[[policies]]
name = "predictive"
mode = "predictive"
"#;

    #[test]
    fn defaults_follow_the_standard_model() {
        let s = Scenario::parse(BASE).expect("parses");
        s.validate().expect("valid");
        assert_eq!(s.ring_timeout_secs, 26.0);
        assert_eq!(s.talk.mean, 120.0);
        assert_eq!(s.human_answer.mean, 9.0);
        assert_eq!(s.seeds, 10);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let e = Scenario::parse(&format!("{BASE}\nagnets = 3\n")).expect_err("unknown key");
        assert!(e.contains("agnets"), "{e}");
        let s = Scenario::parse(&BASE.replace("0.25", "0.9")).expect("parses");
        assert!(s.validate().is_err());
        let s = Scenario::parse(&BASE.replace("\"predictive\"\n", "\"fixed_ratio\"\n"))
            .expect("parses");
        assert!(s.validate().unwrap_err().contains("ratio"));
    }

    #[test]
    fn drift_cycles() {
        let s = Scenario::parse(&format!(
            "{BASE}\n[drift]\nevery_min = 45\np_human = [0.25, 0.12, 0.30]\n"
        ))
        .expect("parses");
        assert_eq!(s.p_human_at(0.0), 0.25);
        assert_eq!(s.p_human_at(46.0 * 60.0), 0.12);
        assert_eq!(s.p_human_at(91.0 * 60.0), 0.30);
        assert_eq!(s.p_human_at(136.0 * 60.0), 0.25);
    }

    #[test]
    fn drift_of_any_shape() {
        let s = Scenario::parse(&format!(
            "{BASE}\n[drift]\nat_min = [0, 10, 200]\np_human = [0.25, 0.05, 0.3]\n"
        ))
        .expect("parses");
        s.validate().expect("valid");
        assert_eq!(s.p_human_at(5.0 * 60.0), 0.25);
        assert_eq!(s.p_human_at(11.0 * 60.0), 0.05);
        assert_eq!(s.p_human_at(199.0 * 60.0), 0.05);
        assert_eq!(s.p_human_at(300.0 * 60.0), 0.3);
    }
}
