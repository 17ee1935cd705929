//! A campaign's runtime overrides (`UpdateCampaign`): settings that win over its
//! `[[campaigns]]` values until cleared. Stored as JSON so a kill -9 keeps them; checked with
//! the config's own rules whenever they are set or re-applied at startup.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::campaign_rules::{self as rules, RuleError};
use crate::config::CampaignConfig;

/// The settings an operator may change at runtime; `None`: the config's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Overrides {
    /// preview | progressive | fixed_ratio | predictive.
    pub mode: Option<String>,
    /// Dials per ready agent, with `mode = "fixed_ratio"`.
    pub ratio: Option<f64>,
    pub caller_id: Option<String>,
    pub ring_timeout_secs: Option<u64>,
    pub max_abandon_rate: Option<f64>,
    pub max_lines: Option<u32>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }

    /// These, with `newer`'s fields in their place where it has them. A new mode brings its
    /// own ratio (or none), so an old ratio never sticks to a new mode.
    pub fn merged(&self, newer: &Overrides) -> Overrides {
        let (mode, ratio) = match &newer.mode {
            Some(m) => (Some(m.clone()), newer.ratio),
            None => (self.mode.clone(), newer.ratio.or(self.ratio)),
        };
        Overrides {
            mode,
            ratio,
            caller_id: newer.caller_id.clone().or_else(|| self.caller_id.clone()),
            ring_timeout_secs: newer.ring_timeout_secs.or(self.ring_timeout_secs),
            max_abandon_rate: newer.max_abandon_rate.or(self.max_abandon_rate),
            max_lines: newer.max_lines.or(self.max_lines),
        }
    }

    /// `base` with these settings in place, each checked with the `[[campaigns]]` rules.
    /// A ratio without a mode applies to `base`'s mode (which must be fixed_ratio); a new
    /// fixed_ratio mode without a ratio keeps `base`'s ratio if it had one.
    pub fn apply(&self, base: &CampaignConfig) -> Result<CampaignConfig, RuleError> {
        let mut cfg = base.clone();
        let mode = self.mode.as_deref();
        let mode = mode.unwrap_or(crate::dialer::runtime::mode_name(base.pacing.mode));
        if self.ratio.is_some() && mode != "fixed_ratio" {
            // The config ignores a stray ratio; an explicit request for one is a mistake.
            return Err(RuleError {
                field: "ratio",
                rule: "applies to mode = \"fixed_ratio\" only".into(),
            });
        }
        if self.mode.is_some() || self.ratio.is_some() {
            let ratio = self.ratio.or(match base.pacing.mode {
                crate::dialer::pacing::Mode::FixedRatio { ratio } => Some(ratio),
                _ => None,
            });
            cfg.pacing.mode = rules::mode(mode, ratio)?;
        }
        if let Some(v) = &self.caller_id {
            rules::check_caller_id(v)?;
            cfg.caller_id = v.clone();
        }
        if let Some(v) = self.ring_timeout_secs {
            rules::check_ring_timeout(v)?;
            cfg.ring_timeout = Duration::from_secs(v);
            cfg.pacing.ring_timeout_secs = v as f64;
        }
        if let Some(v) = self.max_abandon_rate {
            rules::check_abandon_rate(v)?;
            cfg.pacing.max_abandon_rate = v;
        }
        if let Some(v) = self.max_lines {
            rules::check_max_lines(v)?;
            cfg.pacing.max_outstanding = v;
        }
        Ok(cfg)
    }

    /// The names of the settings overridden (what ListCampaigns shows).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("mode", self.mode.is_some()),
            ("ratio", self.ratio.is_some()),
            ("caller_id", self.caller_id.is_some()),
            ("ring_timeout_secs", self.ring_timeout_secs.is_some()),
            ("max_abandon_rate", self.max_abandon_rate.is_some()),
            ("max_lines", self.max_lines.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect()
    }

    pub fn to_json(&self) -> String {
        // Invariant: plain strings and numbers serialize (a NaN ratio never passes `apply`).
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Overrides, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialer::pacing::{Mode, PacingConfig};

    fn base() -> CampaignConfig {
        CampaignConfig {
            name: "spring".into(),
            enabled: true,
            pacing: PacingConfig {
                mode: Mode::Predictive,
                ..PacingConfig::default()
            },
            trunk: "carrier".into(),
            caller_id: "+15551230000".into(),
            queue: "sales".into(),
            ring_timeout: Duration::from_secs(26),
            reach: Duration::from_secs(2),
            abandon_message: None,
            machine_action: crate::config::MachineAction::Hangup,
            machine_message: None,
            amd: Default::default(),
            leads: Default::default(),
            numbers: vec![],
        }
    }

    #[test]
    fn apply_sets_each_given_field_and_keeps_the_rest() {
        let o = Overrides {
            mode: Some("fixed_ratio".into()),
            ratio: Some(2.5),
            caller_id: Some("+15550009999".into()),
            ring_timeout_secs: Some(30),
            max_abandon_rate: Some(0.02),
            max_lines: Some(7),
        };
        let c = o.apply(&base()).unwrap();
        assert_eq!(c.pacing.mode, Mode::FixedRatio { ratio: 2.5 });
        assert_eq!(c.caller_id, "+15550009999");
        assert_eq!(c.ring_timeout, Duration::from_secs(30));
        assert_eq!(c.pacing.ring_timeout_secs, 30.0);
        assert_eq!(c.pacing.max_abandon_rate, 0.02);
        assert_eq!(c.pacing.max_outstanding, 7);
        assert_eq!(c.trunk, "carrier");
        assert_eq!(Overrides::default().apply(&base()).unwrap(), base());
    }

    #[test]
    fn apply_refuses_what_the_config_refuses() {
        let bad = |o: Overrides| o.apply(&base()).unwrap_err();
        let e = bad(Overrides {
            ring_timeout_secs: Some(10),
            ..Default::default()
        });
        assert_eq!(e.field, "ring_timeout_secs");
        assert!(e.to_string().contains("15"));
        let e = bad(Overrides {
            max_abandon_rate: Some(0.04),
            ..Default::default()
        });
        assert_eq!(e.field, "max_abandon_rate");
        let e = bad(Overrides {
            ratio: Some(2.0),
            ..Default::default()
        });
        assert_eq!(e.field, "ratio", "a ratio alone on a predictive campaign");
        let e = bad(Overrides {
            mode: Some("fixed_ratio".into()),
            ..Default::default()
        });
        assert_eq!(e.field, "mode", "fixed_ratio needs a ratio");
    }

    #[test]
    fn merged_keeps_older_fields_and_a_new_mode_drops_the_old_ratio() {
        let old = Overrides {
            mode: Some("fixed_ratio".into()),
            ratio: Some(3.0),
            caller_id: Some("+15550001".into()),
            ..Default::default()
        };
        let new = Overrides {
            mode: Some("progressive".into()),
            max_lines: Some(4),
            ..Default::default()
        };
        let m = old.merged(&new);
        assert_eq!(m.mode.as_deref(), Some("progressive"));
        assert_eq!(m.ratio, None);
        assert_eq!(m.caller_id.as_deref(), Some("+15550001"));
        assert_eq!(m.max_lines, Some(4));
        assert_eq!(m.fields(), ["mode", "caller_id", "max_lines"]);
        assert_eq!(Overrides::from_json(&m.to_json()).unwrap(), m);
    }
}
