//! The rules a campaign's settings must meet, on plain values: `[[campaigns]]` reports a
//! broken rule at its line, `UpdateCampaign` as INVALID_ARGUMENT, startup skips a stored
//! override that no longer meets them. Each error is the rule, ready to show after the field.

use crate::dialer::pacing::Mode;

/// The regulators' limits (FCC/Ofcom style): refused, not merely warned about.
pub const MIN_RING_SECS: u64 = 15;
pub const MAX_RING_SECS: u64 = 300;
pub const MAX_REACH_SECS: f64 = 2.0;
pub const MAX_ABANDON_RATE: f64 = 0.03;

/// A broken rule: which setting, and the rule it breaks (a full sentence after the name).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} {rule}")]
pub struct RuleError {
    pub field: &'static str,
    pub rule: String,
}

fn broken(field: &'static str, rule: impl Into<String>) -> RuleError {
    RuleError {
        field,
        rule: rule.into(),
    }
}

/// `+` optional, then 3 to 15 digits (E.164 allows 15).
pub fn is_e164ish(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (3..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `mode` by name; `ratio` is for fixed_ratio only (ignored otherwise, as in the config).
pub fn mode(name: &str, ratio: Option<f64>) -> Result<Mode, RuleError> {
    match (name, ratio) {
        ("preview", _) => Ok(Mode::Preview),
        ("progressive", _) => Ok(Mode::Progressive),
        ("predictive", _) => Ok(Mode::Predictive),
        ("fixed_ratio", Some(v)) => {
            check_ratio(v)?;
            Ok(Mode::FixedRatio { ratio: v })
        }
        ("fixed_ratio", None) => Err(broken("mode", "= \"fixed_ratio\" needs `ratio`")),
        (other, _) => Err(broken(
            "mode",
            format!("`{other}` is unknown: preview | progressive | fixed_ratio | predictive"),
        )),
    }
}

pub fn check_ratio(v: f64) -> Result<(), RuleError> {
    if v.is_finite() && (1.0..=50.0).contains(&v) {
        Ok(())
    } else {
        Err(broken("ratio", "must be within 1..=50"))
    }
}

pub fn check_caller_id(v: &str) -> Result<(), RuleError> {
    if is_e164ish(v) {
        Ok(())
    } else {
        Err(broken(
            "caller_id",
            "must be a number like +15551230000 (an optional + and 3-15 digits)",
        ))
    }
}

pub fn check_ring_timeout(secs: u64) -> Result<(), RuleError> {
    if (MIN_RING_SECS..=MAX_RING_SECS).contains(&secs) {
        Ok(())
    } else {
        Err(broken(
            "ring_timeout_secs",
            format!("must be {MIN_RING_SECS}..={MAX_RING_SECS} (regulators require at least {MIN_RING_SECS} s of ringing)"),
        ))
    }
}

/// `surplus_hangup_secs`: 0 (never), or at least the regulated minimum ring.
pub fn check_surplus_hangup(secs: u64) -> Result<(), RuleError> {
    if secs == 0 || (MIN_RING_SECS..=MAX_RING_SECS).contains(&secs) {
        Ok(())
    } else {
        Err(broken(
            "surplus_hangup_secs",
            format!("must be 0 (never) or {MIN_RING_SECS}..={MAX_RING_SECS} (regulators require at least {MIN_RING_SECS} s of ringing)"),
        ))
    }
}

/// `lead_cost`: how precious a lead is, a finite 0..=100.
pub fn check_lead_cost(v: f64) -> Result<(), RuleError> {
    if v.is_finite() && (0.0..=100.0).contains(&v) {
        Ok(())
    } else {
        Err(broken(
            "lead_cost",
            "must be within 0..=100 (0: leads are plentiful; larger: fewer surplus hang-ups)",
        ))
    }
}

pub fn check_reach(secs: f64) -> Result<(), RuleError> {
    if secs.is_finite() && secs > 0.0 && secs <= MAX_REACH_SECS {
        Ok(())
    } else {
        Err(broken(
            "reach_secs",
            format!("must be within (0, {MAX_REACH_SECS}]: a person who answers must reach an agent within 2 s"),
        ))
    }
}

pub fn check_abandon_rate(rate: f64) -> Result<(), RuleError> {
    if rate > 0.0 && rate <= MAX_ABANDON_RATE {
        Ok(())
    } else {
        Err(broken(
            "max_abandon_rate",
            format!("must be within (0, {MAX_ABANDON_RATE}] (the 3 % regulatory cap)"),
        ))
    }
}

pub fn check_max_lines(lines: u32) -> Result<(), RuleError> {
    if lines >= 1 {
        Ok(())
    } else {
        Err(broken("max_lines", "must be at least 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_names_its_field_and_limit() {
        let e = check_ring_timeout(10).unwrap_err();
        assert_eq!(e.field, "ring_timeout_secs");
        assert!(e.to_string().contains("15"), "{e}");
        assert!(check_ring_timeout(15).is_ok());
        assert!(check_ring_timeout(301).is_err());
        assert_eq!(
            check_abandon_rate(0.05).unwrap_err().field,
            "max_abandon_rate"
        );
        assert!(check_abandon_rate(0.0).is_err());
        assert!(check_abandon_rate(0.03).is_ok());
        assert_eq!(check_caller_id("call-me").unwrap_err().field, "caller_id");
        assert!(check_caller_id("+15551230000").is_ok());
        assert_eq!(check_max_lines(0).unwrap_err().field, "max_lines");
        assert!(check_reach(2.5).is_err());
    }

    #[test]
    fn modes_by_name() {
        assert_eq!(mode("predictive", None), Ok(Mode::Predictive));
        assert_eq!(
            mode("fixed_ratio", Some(2.0)),
            Ok(Mode::FixedRatio { ratio: 2.0 })
        );
        assert_eq!(mode("fixed_ratio", None).unwrap_err().field, "mode");
        assert_eq!(mode("fixed_ratio", Some(0.5)).unwrap_err().field, "ratio");
        assert!(mode("turbo", None)
            .unwrap_err()
            .to_string()
            .contains("unknown"));
    }
}
