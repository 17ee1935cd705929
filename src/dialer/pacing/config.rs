//! Pacing configuration per campaign.

use serde::{Deserialize, Serialize};

use super::PacingError;

/// How a campaign paces its dials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Agents dial themselves: the pacer never asks for a dial.
    Preview,
    /// One dial per ready agent: outstanding dials + waiting answers never exceed ready agents.
    Progressive,
    /// `ratio` outstanding dials per ready agent (VICIdial's fixed "dial level").
    FixedRatio { ratio: f64 },
    /// Dials paced from live estimates under an abandon-risk bound (see the module docs).
    Predictive,
}

/// The knobs of one campaign's pacing. `Default` is the regulated default: 3 % cap, 2 s to
/// reach an agent, 26 s ring timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingConfig {
    pub mode: Mode,
    /// Abandon cap (abandoned / live answers), e.g. 0.03.
    pub max_abandon_rate: f64,
    /// The controller aims at `target_fraction * max_abandon_rate` (default 0.85: 2.55 % of a
    /// 3 % cap, which kept every simulated seed under the cap).
    pub target_fraction: f64,
    /// A person who answers must reach an agent within this many seconds.
    pub agent_reach_secs: f64,
    /// Ring timeout of a dial (the driver enforces it; the pacer uses it for its horizon).
    pub ring_timeout_secs: f64,
    /// Hard limit on dials in progress (trunk capacity).
    pub max_outstanding: u32,
    /// Never more than this many outstanding dials per logged-in agent.
    pub max_dials_per_agent: f64,
    /// Estimation windows: samples younger than `window_secs`, at most `window_samples`.
    pub window_secs: f64,
    pub window_samples: usize,
    /// Rolling window of the abandon rate (seconds, default one hour).
    pub rolling_abandon_secs: f64,
    /// Predictive falls back to progressive until this many dials resolved and talks ended.
    pub min_dial_samples: usize,
    pub min_talk_samples: usize,
    /// Known AMD false-positive rate (people hung up on as machines): the pacer cannot see
    /// them, so it adds them to its measured abandon rate.
    pub amd_false_positive: f64,
    /// Predictive re-plans at least this often, and at most this often on non-urgent events.
    pub tick_secs: f64,
    pub min_decision_secs: f64,
    /// Predictive may hang up a surplus dial once it has rung this long (None: never). At
    /// least 15 s: regulators require that much ringing before giving up on a number.
    pub cancel_surplus_after_secs: Option<f64>,
    /// How precious a lead is (≥ 0; 0: leads are plentiful). A surplus hang-up spends the
    /// lead's attempt on a person who may have been about to answer, so a dial rings on
    /// unless its live answer would be lost with more than `(1 + lead_cost) × budget`
    /// chance: at 0 exactly the test a new dial passes, larger values hang up less (fewer
    /// dials and leads per connect, a little less utilization).
    pub lead_cost: f64,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            mode: Mode::Predictive,
            max_abandon_rate: 0.03,
            target_fraction: 0.85,
            agent_reach_secs: 2.0,
            ring_timeout_secs: 26.0,
            max_outstanding: 10_000,
            max_dials_per_agent: 10.0,
            window_secs: 1800.0,
            window_samples: 2000,
            rolling_abandon_secs: 3600.0,
            min_dial_samples: 40,
            min_talk_samples: 10,
            amd_false_positive: 0.0,
            tick_secs: 1.0,
            min_decision_secs: 0.25,
            cancel_surplus_after_secs: Some(15.0),
            lead_cost: 0.0,
        }
    }
}

impl PacingConfig {
    /// Reject values that would make the controller meaningless.
    pub fn validate(&self) -> Result<(), PacingError> {
        let bad = |what: &str| Err(PacingError::InvalidConfig(what.to_string()));
        if let Mode::FixedRatio { ratio } = self.mode {
            if !(ratio.is_finite() && (0.0..=50.0).contains(&ratio)) {
                return bad("fixed ratio must be within 0..=50");
            }
        }
        if !(self.max_abandon_rate > 0.0 && self.max_abandon_rate < 1.0) {
            return bad("max_abandon_rate must be within (0, 1)");
        }
        if !(self.target_fraction > 0.0 && self.target_fraction <= 1.0) {
            return bad("target_fraction must be within (0, 1]");
        }
        if !(self.agent_reach_secs >= 0.0 && self.agent_reach_secs.is_finite()) {
            return bad("agent_reach_secs must be ≥ 0");
        }
        if !(self.ring_timeout_secs >= 15.0 && self.ring_timeout_secs <= 300.0) {
            return bad("ring_timeout_secs must be within 15..=300 (regulators require ≥ 15 s)");
        }
        if !(self.max_dials_per_agent >= 1.0 && self.max_dials_per_agent <= 100.0) {
            return bad("max_dials_per_agent must be within 1..=100");
        }
        if !(self.window_secs > 0.0 && self.window_samples > 0) {
            return bad("estimation windows must be non-empty");
        }
        if self.rolling_abandon_secs.is_nan() || self.rolling_abandon_secs <= 0.0 {
            return bad("rolling_abandon_secs must be > 0");
        }
        if !(0.0..0.5).contains(&self.amd_false_positive) {
            return bad("amd_false_positive must be within 0..0.5");
        }
        if self
            .cancel_surplus_after_secs
            .is_some_and(|c| !(c >= 15.0 && c.is_finite()))
        {
            return bad(
                "cancel_surplus_after_secs must be ≥ 15 (regulators require 15 s of ringing)",
            );
        }
        if !(self.lead_cost.is_finite() && (0.0..=100.0).contains(&self.lead_cost)) {
            return bad("lead_cost must be within 0..=100");
        }
        if !(self.tick_secs > 0.0 && self.min_decision_secs >= 0.0) {
            return bad("tick_secs must be > 0 and min_decision_secs ≥ 0");
        }
        Ok(())
    }
}
