//! Scenario validation: every non-finite, negative or absurd value is an error naming its
//! key, and [`locate`] turns the key into `file:line:col` (as the daemon's config does), so
//! a scenario can never make the simulator print impossible figures or allocate without
//! bound. TOML admits `inf` and `nan` as floats, so every float is checked for finiteness.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::scenario::Scenario;
use crate::config::{ConfigError, ConfigErrors};

/// Most agents a scenario may log in (the grid goes to 2,000; memory per agent is
/// small, but the simulated dials grow with agents × hours).
pub const MAX_AGENTS: u32 = 10_000;
/// Most agent-hours of one shift: every dial keeps a record for the shift (about 30 bytes,
/// ~110 dials per agent-hour), so this bounds a seed's memory to a few hundred MB.
pub const MAX_AGENT_HOURS: f64 = 100_000.0;
pub const MAX_SHIFT_HOURS: f64 = 168.0;
pub const MAX_SEEDS: u32 = 10_000;
/// Schedule steps and drift values (each ramp step is one event per agent changed).
pub const MAX_STEPS: usize = 10_000;
pub const MAX_POLICIES: usize = 100;
/// No modelled duration (answer, talk, busy, wrap, machine on an agent) exceeds a day.
const MAX_SECS: f64 = 86_400.0;

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg {
    Key(&'static str),
    Idx(usize),
}

/// A problem with the value at `key` (empty: the document).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: Vec<Seg>,
    pub message: String,
}

impl Problem {
    /// `schedule[2].agents`.
    pub fn key_text(&self) -> String {
        let mut s = String::new();
        for seg in &self.key {
            match seg {
                Seg::Key(k) if s.is_empty() => s.push_str(k),
                Seg::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Seg::Idx(i) => s.push_str(&format!("[{i}]")),
            }
        }
        if s.is_empty() {
            s.push_str("scenario");
        }
        s
    }
}

struct Checker {
    out: Vec<Problem>,
}

impl Checker {
    fn bad(&mut self, key: &[Seg], message: impl Into<String>) {
        self.out.push(Problem {
            key: key.to_vec(),
            message: message.into(),
        });
    }

    /// A finite value within `lo..=hi`.
    fn range(&mut self, key: &[Seg], v: f64, lo: f64, hi: f64) -> bool {
        if !v.is_finite() {
            self.bad(key, format!("must be a finite number, got {v}"));
            false
        } else if v < lo || v > hi {
            self.bad(key, format!("must be within {lo}..={hi}, got {v}"));
            false
        } else {
            true
        }
    }

    /// A finite value within `(0, hi]`.
    fn positive(&mut self, key: &[Seg], v: f64, hi: f64) -> bool {
        if v.is_finite() && v <= 0.0 {
            self.bad(key, format!("must be > 0, got {v}"));
            return false;
        }
        self.range(key, v, 0.0, hi)
    }
}

use Seg::{Idx, Key};

/// Every problem with `sc`, in key order of the checks.
pub fn check(sc: &Scenario) -> Vec<Problem> {
    let mut c = Checker { out: Vec::new() };
    if sc.agents > MAX_AGENTS {
        c.bad(&[Key("agents")], format!("must be at most {MAX_AGENTS}"));
    }
    c.positive(&[Key("shift_hours")], sc.shift_hours, MAX_SHIFT_HOURS);
    if !(1..=MAX_SEEDS).contains(&sc.seeds) {
        c.bad(&[Key("seeds")], format!("must be within 1..={MAX_SEEDS}"));
    }
    let mut probs_ok = true;
    for (k, v) in [
        ("p_human", sc.p_human),
        ("p_machine", sc.p_machine),
        ("p_busy", sc.p_busy),
    ] {
        probs_ok &= c.range(&[Key(k)], v, 0.0, 1.0);
    }
    for (k, d) in [
        ("human_answer", sc.human_answer),
        ("machine_answer", sc.machine_answer),
    ] {
        c.positive(&[Key(k), Key("mean")], d.mean, MAX_SECS);
        c.positive(&[Key(k), Key("sd")], d.sd, MAX_SECS);
    }
    let lo_ok = c.range(&[Key("busy_min_secs")], sc.busy_min_secs, 0.0, MAX_SECS);
    let hi_ok = c.range(&[Key("busy_max_secs")], sc.busy_max_secs, 0.0, MAX_SECS);
    if lo_ok && hi_ok && sc.busy_min_secs > sc.busy_max_secs {
        c.bad(&[Key("busy_min_secs")], "must be ≤ busy_max_secs");
    }
    c.range(
        &[Key("ring_timeout_secs")],
        sc.ring_timeout_secs,
        15.0,
        300.0,
    );
    c.positive(&[Key("talk"), Key("mean")], sc.talk.mean, MAX_SECS);
    c.positive(&[Key("talk"), Key("cv")], sc.talk.cv, 10.0);
    c.range(&[Key("wrap_secs")], sc.wrap_secs, 0.0, MAX_SECS);
    c.range(&[Key("agent_reach_secs")], sc.agent_reach_secs, 0.0, 60.0);
    let mut max_p = sc.p_human;
    if let Some(d) = &sc.drift {
        let k = Key("drift");
        match (d.every_min, &d.at_min) {
            (Some(e), None) => {
                c.positive(&[k, Key("every_min")], e, MAX_SHIFT_HOURS * 60.0);
            }
            (None, Some(at)) => {
                if at.len() != d.p_human.len() {
                    c.bad(&[k, Key("at_min")], "needs one start per p_human value");
                }
                for (i, &m) in at.iter().enumerate() {
                    let key = [k, Key("at_min"), Idx(i)];
                    if c.range(&key, m, 0.0, MAX_SHIFT_HOURS * 60.0)
                        && i > 0
                        && at[i - 1].is_finite()
                        && m <= at[i - 1]
                    {
                        c.bad(&key, "starts must increase");
                    }
                }
                if at.first().is_some_and(|&m| m != 0.0) {
                    c.bad(&[k, Key("at_min"), Idx(0)], "the first start must be 0");
                }
            }
            _ => c.bad(&[k], "needs exactly one of every_min and at_min"),
        }
        if d.p_human.is_empty() || d.p_human.len() > MAX_STEPS {
            c.bad(
                &[k, Key("p_human")],
                format!("needs 1..={MAX_STEPS} values"),
            );
        }
        for (i, &p) in d.p_human.iter().enumerate() {
            probs_ok &= c.range(&[k, Key("p_human"), Idx(i)], p, 0.0, 1.0);
            max_p = max_p.max(p);
        }
    }
    if probs_ok && max_p + sc.p_machine + sc.p_busy > 1.0 + 1e-9 {
        c.bad(
            &[Key("p_human")],
            "p_human (incl. drift) + p_machine + p_busy exceeds 1",
        );
    }
    check_schedule(&mut c, sc);
    if let Some(ch) = &sc.churn {
        c.range(
            &[Key("churn"), Key("per_agent_hour")],
            ch.per_agent_hour,
            0.0,
            60.0,
        );
        c.range(
            &[Key("churn"), Key("replace_after_min")],
            ch.replace_after_min,
            0.0,
            MAX_SHIFT_HOURS * 60.0,
        );
    }
    if let Some(a) = &sc.amd {
        let k = Key("amd");
        c.range(&[k, Key("false_positive")], a.false_positive, 0.0, 1.0);
        c.range(&[k, Key("machine_to_agent")], a.machine_to_agent, 0.0, 1.0);
        c.range(
            &[k, Key("machine_agent_secs")],
            a.machine_agent_secs,
            0.0,
            MAX_SECS,
        );
    }
    if sc.policies.is_empty() || sc.policies.len() > MAX_POLICIES {
        c.bad(
            &[Key("policies")],
            format!("needs 1..={MAX_POLICIES} [[policies]] entries"),
        );
    }
    for (i, p) in sc.policies.iter().enumerate() {
        let key = [Key("policies"), Idx(i)];
        if let Some(r) = p.ratio {
            c.range(&[key[0], key[1], Key("ratio")], r, 0.0, 50.0);
        }
        if let Some(s) = p.surplus_hangup_secs {
            if !(s == 0.0 || (s.is_finite() && (15.0..=300.0).contains(&s))) {
                c.bad(
                    &[key[0], key[1], Key("surplus_hangup_secs")],
                    format!("must be 0 (never) or within 15..=300, got {s}"),
                );
            }
        }
        if let Some(l) = p.lead_cost {
            c.range(&[key[0], key[1], Key("lead_cost")], l, 0.0, 100.0);
        }
        if let Err(e) = sc.pacing_config(p) {
            c.bad(&key, format!("policy {}: {e}", p.name));
        }
    }
    c.out
}

fn check_schedule(c: &mut Checker, sc: &Scenario) {
    if sc.schedule.len() > MAX_STEPS {
        c.bad(
            &[Key("schedule")],
            format!("at most {MAX_STEPS} [[schedule]] steps"),
        );
    }
    let mut prev = f64::NEG_INFINITY;
    for (i, s) in sc.schedule.iter().enumerate() {
        let k = [Key("schedule"), Idx(i)];
        if c.range(
            &[k[0], k[1], Key("at_min")],
            s.at_min,
            0.0,
            MAX_SHIFT_HOURS * 60.0,
        ) {
            if s.at_min < prev {
                c.bad(&[k[0], k[1], Key("at_min")], "steps must be in time order");
            }
            prev = s.at_min;
        }
        if s.agents > MAX_AGENTS {
            c.bad(
                &[k[0], k[1], Key("agents")],
                format!("must be at most {MAX_AGENTS}"),
            );
        }
        c.range(
            &[k[0], k[1], Key("ramp_min")],
            s.ramp_min,
            0.0,
            MAX_SHIFT_HOURS * 60.0,
        );
    }
    if sc.agents == 0 && sc.schedule.iter().all(|s| s.agents == 0) {
        c.bad(&[Key("agents")], "no agents ever log in");
    }
    let peak = sc
        .schedule
        .iter()
        .map(|s| s.agents)
        .fold(sc.agents, u32::max);
    if sc.shift_hours.is_finite() && f64::from(peak) * sc.shift_hours > MAX_AGENT_HOURS {
        c.bad(
            &[Key("shift_hours")],
            format!(
                "{peak} agents × {} h exceeds {MAX_AGENT_HOURS} agent-hours (every dial of \
                 a shift is kept in memory)",
                sc.shift_hours
            ),
        );
    }
}

/// The byte span of the value at `key` in `text` (the nearest existing parent's when the
/// key is absent, e.g. a default; the document start as a last resort).
fn span_of(text: &str, key: &[Seg]) -> Range<usize> {
    let Ok(doc) = DeTable::parse(text) else {
        return 0..0;
    };
    let mut span = 0..0;
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    for seg in key {
        let found = match (seg, table, array) {
            (Key(k), Some(t), _) => t
                .iter()
                .find(|(name, _)| name.get_ref().as_ref() == *k)
                .map(|(name, v)| (name.span(), v)),
            (Idx(i), _, Some(a)) => a.get(*i).map(|v| (v.span(), v)),
            _ => None,
        };
        let Some((key_span, v)) = found else {
            break;
        };
        // A table's or array-of-tables' own span can be the whole section: point at the key.
        span = match v.get_ref() {
            DeValue::Table(_) | DeValue::Array(_) => key_span,
            _ => v.span(),
        };
        (table, array) = match v.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(a) => (None, Some(a.as_ref())),
            _ => (None, None),
        };
    }
    span
}

/// `file:line:col: key: message` for each problem.
pub fn locate(file: &str, text: &str, problems: &[Problem]) -> ConfigErrors {
    let mut errors: Vec<ConfigError> = problems
        .iter()
        .map(|p| {
            let (line, col) = crate::config::line_col(text, span_of(text, &p.key).start);
            ConfigError {
                file: file.to_string(),
                line,
                col,
                message: format!("{}: {}", p.key_text(), p.message),
            }
        })
        .collect();
    errors.sort_by_key(|e| (e.line, e.col));
    ConfigErrors(errors)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::scenario::{Scenario, ScenarioError};

    const BASE: &str = "agents = 20\np_human = 0.25\n\
                        [[policies]]\nname = \"predictive\"\nmode = \"predictive\"\n";

    /// The errors of `extra` (top-level keys: placed first; tables: after the 5 lines of
    /// `BASE`), as `file:line:col: message` lines.
    fn errors(extra: &str) -> Vec<String> {
        let text = if extra.starts_with('[') {
            format!("{BASE}{extra}")
        } else {
            format!("{extra}\n{BASE}")
        };
        match Scenario::load_str(&text, "s.toml", Path::new("s.toml")) {
            Ok(_) => Vec::new(),
            Err(ScenarioError::Invalid(e)) => e.errors().iter().map(|e| e.to_string()).collect(),
            Err(e) => vec![format!("not a validation error: {e}")],
        }
    }

    fn one(extra: &str, at: &str, words: &str) {
        let e = errors(extra);
        assert!(
            e.iter().any(|m| m.starts_with(at) && m.contains(words)),
            "{extra:?}: wanted {at} … {words}, got {e:?}"
        );
    }

    #[test]
    fn non_finite_values_are_errors_with_their_place() {
        one(
            "talk = { mean = inf, cv = 1.0 }",
            "s.toml:1:17",
            "talk.mean: must be a finite",
        );
        one(
            "wrap_secs = nan",
            "s.toml:1:13",
            "wrap_secs: must be a finite",
        );
        one(
            "busy_max_secs = inf",
            "s.toml:1:17",
            "busy_max_secs: must be a finite",
        );
        one("shift_hours = -inf", "s.toml:1:15", "shift_hours");
        one(
            "human_answer = { mean = 9.0, sd = nan }",
            "s.toml:1:35",
            "human_answer.sd",
        );
        one("agent_reach_secs = -1.0", "s.toml:1:20", "within 0..=60");
    }

    #[test]
    fn absurd_values_and_sizes_are_errors() {
        // The base file's own `agents = 20` sits after the extra line: replace it instead.
        let e = Scenario::load_str(
            &BASE.replace("agents = 20", "agents = 4000000000"),
            "s.toml",
            Path::new("s.toml"),
        )
        .expect_err("four billion agents");
        assert!(
            e.to_string()
                .contains("s.toml:1:10: agents: must be at most"),
            "{e}"
        );
        let e = Scenario::load_str(
            &format!("shift_hours = 30.0\n{}", BASE.replace("20", "5000")),
            "s.toml",
            Path::new("s.toml"),
        )
        .expect_err("150,000 agent-hours");
        assert!(
            e.to_string()
                .contains("s.toml:1:15: shift_hours: 5000 agents × 30 h"),
            "{e}"
        );
        one("seeds = 0", "s.toml:1:9", "seeds");
        one(
            "talk = { mean = 120.0, cv = 50.0 }",
            "s.toml:1:29",
            "talk.cv",
        );
        one("ring_timeout_secs = 10.0", "s.toml:1:21", "within 15");
        one(
            "[[schedule]]\nat_min = 10.0\nagents = 50000",
            "s.toml:8:10",
            "schedule[0].agents",
        );
        one(
            "[[schedule]]\nat_min = 10.0\nagents = 5\n[[schedule]]\nat_min = 5.0\nagents = 6",
            "s.toml:10:10",
            "time order",
        );
        one(
            "[drift]\nevery_min = 30.0\np_human = [0.2, 1.5]",
            "s.toml:8:17",
            "drift.p_human[1]",
        );
        one(
            "[drift]\nevery_min = 30.0\nat_min = [0.0]\np_human = [0.2]",
            "s.toml:6:2",
            "exactly one",
        );
        one(
            "[churn]\nper_agent_hour = inf",
            "s.toml:7:18",
            "churn.per_agent_hour",
        );
        one(
            "[amd]\nfalse_positive = -0.1",
            "s.toml:7:18",
            "amd.false_positive",
        );
    }

    #[test]
    fn every_problem_is_reported_in_file_order() {
        let e = errors("wrap_secs = nan\ntalk = { mean = -1.0, cv = 1.0 }");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("s.toml:1:"), "{e:?}");
        assert!(e[1].starts_with("s.toml:2:"), "{e:?}");
        assert!(errors("").is_empty());
    }

    #[test]
    fn policy_values_are_checked() {
        let text = BASE.replace(
            "mode = \"predictive\"\n",
            "mode = \"predictive\"\nsurplus_hangup_secs = 5.0\nlead_cost = nan\n",
        );
        let e = Scenario::load_str(&text, "s.toml", Path::new("s.toml"))
            .expect_err("bad policy")
            .to_string();
        assert!(
            e.contains("s.toml:6:23: policies[0].surplus_hangup_secs"),
            "{e}"
        );
        assert!(e.contains("s.toml:7:13: policies[0].lead_cost"), "{e}");
    }
}
