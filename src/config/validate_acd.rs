//! Semantic checks for `[acd]`, `[[agents]]` and `[[queues]]`: the engine's own checks
//! (reported at the agent or queue they concern), plus what the B2BUA adds: caller prompts
//! that load, keys that are DTMF keys, targets that exist, feature codes that collide with
//! nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use toml::Spanned;

use super::error::Collector;
use super::schema::RawConfig;
use super::validate_ivr::load_prompt;
use crate::acd::{AcdConfig, ConfigError as AcdConfigError, Engine, Target};
use crate::media::prompt::Prompt;

/// Dialled codes agents use from their desk phones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureCodes {
    pub login: String,
    pub logout: String,
    pub ready: String,
    pub not_ready: String,
    /// Followed by an agent id: listen in on that agent's call (users with the `monitor`
    /// permission).
    pub monitor: String,
}

impl Default for FeatureCodes {
    fn default() -> Self {
        FeatureCodes {
            login: "*71".into(),
            logout: "*72".into(),
            ready: "*73".into(),
            not_ready: "*74".into(),
            monitor: "*55".into(),
        }
    }
}

/// The ACD as typed config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AcdSettings {
    pub engine: AcdConfig,
    pub features: FeatureCodes,
    pub queue_log: Option<PathBuf>,
}

/// Prompt names used to announce position and wait, from the queue's `announcements_dir`.
pub const NUMBER_PROMPTS: &[&str] = &[
    "position",
    "wait-about",
    "minutes",
    "less-than-a-minute",
    "n1",
    "n2",
    "n3",
    "n4",
    "n5",
    "n6",
    "n7",
    "n8",
    "n9",
    "n10",
];

/// Confirmations for the agents' feature codes, from `prompts/` beside the config.
pub const FEATURE_PROMPTS: &[&str] = &[
    "agent-logged-in",
    "agent-logged-out",
    "agent-ready",
    "agent-not-ready",
    "agent-refused",
];

pub fn acd(
    c: &mut Collector,
    raw: &RawConfig,
    extensions: &HashSet<String>,
    base: &Path,
    prompts: &mut HashMap<String, Prompt>,
) -> AcdSettings {
    let engine = AcdConfig {
        agents: raw.agents.iter().map(|a| a.get_ref().clone()).collect(),
        queues: raw.queues.iter().map(|q| q.get_ref().clone()).collect(),
        reject_backoff_secs: raw.acd.reject_backoff_secs,
        handle_time_window: raw.acd.handle_time_window.max(1),
    };
    if let Err(e) = Engine::new(&engine, Instant::now(), 0) {
        let span = error_span(raw, &e);
        c.at(span, e.to_string());
    }
    if let Some(first) = raw.agents.first() {
        // Agents confirm their feature codes by ear.
        for n in FEATURE_PROMPTS {
            let name = format!("prompts/{n}.wav");
            load_prompt(c, &Spanned::new(first.span(), name), base, prompts);
        }
    }
    let queue_names: HashSet<&str> = engine.queues.iter().map(|q| q.name.as_str()).collect();
    for (q, raw_q) in engine.queues.iter().zip(&raw.queues) {
        let span = raw_q.span();
        let x = &q.caller;
        for p in [&x.greeting, &x.music, &x.announcement]
            .into_iter()
            .flatten()
        {
            load_prompt(c, &Spanned::new(span.clone(), p.clone()), base, prompts);
        }
        if x.announce_position || x.announce_wait {
            for n in NUMBER_PROMPTS {
                let name = format!("prompts/{n}.wav");
                load_prompt(c, &Spanned::new(span.clone(), name), base, prompts);
            }
        }
        if x.callback_key.is_some() {
            let name = "prompts/callback-confirmed.wav".to_string();
            load_prompt(c, &Spanned::new(span.clone(), name), base, prompts);
        }
        if x.announce_every_secs < 5 {
            c.at(
                span.clone(),
                format!(
                    "queue `{}`: caller.announce_every_secs must be at least 5",
                    q.name
                ),
            );
        }
        for (what, key) in [("callback_key", &x.callback_key), ("exit_key", &x.exit_key)] {
            if let Some(k) = key {
                let mut chars = k.chars();
                let ok = matches!((chars.next(), chars.next()), (Some(ch), None) if ch.is_ascii_digit() || ch == '*' || ch == '#');
                if !ok {
                    c.at(
                        span.clone(),
                        format!(
                            "queue `{}`: caller.{what} must be one key (0-9, *, #)",
                            q.name
                        ),
                    );
                }
            }
        }
        if x.callback_key.is_some() && x.callback_key == x.exit_key {
            c.at(
                span.clone(),
                format!(
                    "queue `{}`: callback_key and exit_key are the same key",
                    q.name
                ),
            );
        }
        if x.exit_key.is_some() != x.exit_target.is_some() {
            c.at(
                span.clone(),
                format!(
                    "queue `{}`: caller.exit_key and caller.exit_target go together",
                    q.name
                ),
            );
        }
        let targets = q
            .steps
            .iter()
            .filter_map(|s| s.overflow.as_ref())
            .chain(q.timeout_target.as_ref())
            .chain(x.exit_target.as_ref());
        for t in targets {
            match t {
                Target::Extension { extension } if !extensions.contains(extension) => c.at(
                    span.clone(),
                    format!(
                        "queue `{}` sends calls to unknown extension `{extension}`",
                        q.name
                    ),
                ),
                Target::Queue { queue } if !queue_names.contains(queue.as_str()) => c.at(
                    span.clone(),
                    format!("queue `{}` sends calls to unknown queue `{queue}`", q.name),
                ),
                _ => {}
            }
        }
    }

    let a = &raw.acd;
    let codes = [
        &a.login_code,
        &a.logout_code,
        &a.ready_code,
        &a.not_ready_code,
        &a.monitor_code,
    ];
    let mut seen = HashSet::new();
    for code in codes {
        let v = code.get_ref();
        let ok = v.len() >= 2 && v.starts_with('*') && v[1..].chars().all(|ch| ch.is_ascii_digit());
        if !ok {
            c.at(
                code.span(),
                "feature codes are `*` and digits, like \"*71\"",
            );
        } else if !seen.insert(v.clone()) {
            c.at(code.span(), format!("feature code `{v}` is used twice"));
        }
    }
    let queue_log = a.queue_log.as_ref().map(|p| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    });
    AcdSettings {
        engine,
        features: FeatureCodes {
            login: a.login_code.get_ref().clone(),
            logout: a.logout_code.get_ref().clone(),
            ready: a.ready_code.get_ref().clone(),
            not_ready: a.not_ready_code.get_ref().clone(),
            monitor: a.monitor_code.get_ref().clone(),
        },
        queue_log,
    }
}

/// The agent or queue an engine config error is about.
fn error_span(raw: &RawConfig, e: &AcdConfigError) -> std::ops::Range<usize> {
    let agent = |id: &str| {
        raw.agents
            .iter()
            .rev()
            .find(|a| a.get_ref().id == id)
            .map(|a| a.span())
    };
    let queue = |name: &str| {
        raw.queues
            .iter()
            .rev()
            .find(|q| q.get_ref().name == name)
            .map(|q| q.span())
    };
    let found = match e {
        AcdConfigError::DuplicateAgent(id) => agent(id),
        AcdConfigError::UnknownQueue { agent: id, .. }
        | AcdConfigError::DuplicateMembership { agent: id, .. } => agent(id),
        AcdConfigError::BadLevel { owner, .. } => agent(owner).or_else(|| queue(owner)),
        AcdConfigError::DuplicateQueue(name)
        | AcdConfigError::StepsNotSorted(name)
        | AcdConfigError::Zero(name)
        | AcdConfigError::UnknownTarget { queue: name, .. } => queue(name),
    };
    found.unwrap_or(0..0)
}
