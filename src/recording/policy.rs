//! Whether a call is recorded: the configured policy at each level, resolved once per call.
//!
//! Precedence (what a call-center engineer expects, documented in the README and the
//! shipped config): an explicit `never` at any level wins (a line that must never be
//! recorded — an HR or works-council line, a trunk carrying a regulated service — cannot be
//! switched back on by a broader rule); otherwise the most specific level that says
//! anything decides: user > queue > dial-plan route > trunk > `[recording] policy`.

use serde::Deserialize;

/// `always | never | on-demand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    Always,
    #[default]
    Never,
    /// Recorded only when asked through the API (`Endpoint::recording_control`).
    OnDemand,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        match s {
            "always" => Some(Policy::Always),
            "never" => Some(Policy::Never),
            "on-demand" => Some(Policy::OnDemand),
            _ => None,
        }
    }
}

/// The levels that may say something about one call (None = not configured there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Levels {
    /// The users on the call (callee/agent first, then the caller).
    pub users: [Option<Policy>; 2],
    pub queue: Option<Policy>,
    pub route: Option<Policy>,
    pub trunk: Option<Policy>,
}

/// The policy for a call with these levels over `default`.
pub fn resolve(default: Policy, l: &Levels) -> Policy {
    let explicit = [l.users[0], l.users[1], l.queue, l.route, l.trunk];
    if explicit.contains(&Some(Policy::Never)) {
        return Policy::Never;
    }
    explicit.into_iter().flatten().next().unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::Policy::*;
    use super::*;

    #[test]
    fn default_applies_when_nothing_is_set() {
        assert_eq!(resolve(Always, &Levels::default()), Always);
        assert_eq!(resolve(OnDemand, &Levels::default()), OnDemand);
    }

    #[test]
    fn most_specific_level_wins() {
        let l = Levels {
            users: [None, None],
            queue: Some(OnDemand),
            route: None,
            trunk: Some(Always),
        };
        assert_eq!(resolve(Never, &l), OnDemand, "queue over trunk");
        let l = Levels {
            users: [Some(Always), None],
            queue: Some(OnDemand),
            ..Levels::default()
        };
        assert_eq!(resolve(Never, &l), Always, "user over queue");
        let l = Levels {
            route: Some(Always),
            trunk: Some(OnDemand),
            ..Levels::default()
        };
        assert_eq!(resolve(Never, &l), Always, "route over trunk");
    }

    #[test]
    fn an_explicit_never_anywhere_wins_but_a_default_never_does_not() {
        let l = Levels {
            users: [Some(Always), None],
            trunk: Some(Never),
            ..Levels::default()
        };
        assert_eq!(resolve(Always, &l), Never);
        let l = Levels {
            users: [None, Some(Never)],
            queue: Some(Always),
            ..Levels::default()
        };
        assert_eq!(resolve(Always, &l), Never, "the caller's never counts too");
        let l = Levels {
            queue: Some(Always),
            ..Levels::default()
        };
        assert_eq!(resolve(Never, &l), Always);
    }

    #[test]
    fn parses_config_words() {
        assert_eq!(Policy::parse("on-demand"), Some(OnDemand));
        assert_eq!(Policy::parse("sometimes"), None);
    }
}
