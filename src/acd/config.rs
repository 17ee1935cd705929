//! Plain config types for `[[agents]]` and `[[queues]]`, meant to be embedded by the TOML layer
//! (`src/config/`) later. Names (agent ids, queue names, skill names) are strings here; the
//! engine resolves them to dense ids once, in `Engine::new`, and reports bad references as a
//! typed `ConfigError`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole ACD section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcdConfig {
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// After an agent rejects an offer or is busy, they stay Ready but get no offer for this
    /// long (so one agent pressing "reject" does not bounce the same call back at once).
    #[serde(default = "default_backoff")]
    pub reject_backoff_secs: u64,
    /// How many completed calls per queue feed the estimated wait time (exact values, a window).
    #[serde(default = "default_window")]
    pub handle_time_window: usize,
}

fn default_backoff() -> u64 {
    10
}
fn default_window() -> usize {
    50
}

/// `[[agents]]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Login id (usually the extension), unique.
    pub id: String,
    pub name: String,
    /// Skill name → proficiency 1–10.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    #[serde(default)]
    pub queues: Vec<MembershipConfig>,
}

/// One queue an agent serves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipConfig {
    pub queue: String,
    /// Lower is offered first when a call arrives (Asterisk's member penalty).
    #[serde(default)]
    pub penalty: u32,
}

/// `[[queues]]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    /// Required skill → minimum proficiency (1–10) before any routing step widens it.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// Queue weight: breaks ties between equally old, equally urgent callers of two queues.
    #[serde(default)]
    pub weight: u32,
    /// "Answered within T" for the service level.
    #[serde(default = "default_sl")]
    pub service_level_secs: u64,
    #[serde(default)]
    pub service_level_formula: ServiceLevelFormula,
    /// Abandons within this many seconds are "short" (excluded by one SL formula).
    #[serde(default = "default_short_abandon")]
    pub short_abandon_secs: u64,
    /// Joins beyond this many callers are refused.
    #[serde(default)]
    pub max_len: Option<usize>,
    /// After this long in the queue the call exits (Output::Exit with `timeout_target`).
    #[serde(default)]
    pub max_wait_secs: Option<u64>,
    #[serde(default)]
    pub timeout_target: Option<Target>,
    /// Accept callers when no member agent is logged in.
    #[serde(default = "yes")]
    pub join_empty: bool,
    /// Send waiting callers out (Output::Exit, reason Empty) when the last member logs out.
    #[serde(default)]
    pub leave_when_empty: bool,
    #[serde(default)]
    pub wrap_up_secs: u64,
    #[serde(default = "default_ring")]
    pub ring_timeout_secs: u64,
    #[serde(default)]
    pub strategy: StrategyKind,
    /// Ring-all: at most this many agents ring at once.
    #[serde(default = "default_ring_all_cap")]
    pub ring_all_cap: usize,
    /// Routing steps, sorted by `after_secs`.
    #[serde(default)]
    pub steps: Vec<StepConfig>,
    /// What the waiting caller hears and may do (the B2BUA's business; the engine ignores it).
    #[serde(default)]
    pub caller: CallerExperience,
    /// Recording policy for calls this queue connects (`always | never | on-demand`): read
    /// by the call layer, ignored by the engine.
    #[serde(default)]
    pub recording: Option<crate::recording::Policy>,
}

/// `[queues.caller]`: music, announcements and keys for a waiting caller. Prompt names are
/// paths to 8 kHz mono WAV files, relative to the config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerExperience {
    /// Played on entry, before the music.
    #[serde(default)]
    pub greeting: Option<String>,
    /// Music on hold, looped. None: silence (comfort is the caller's problem then).
    #[serde(default)]
    pub music: Option<String>,
    /// Played every `announce_every_secs` (music resumes after it).
    #[serde(default)]
    pub announcement: Option<String>,
    #[serde(default = "default_announce_every")]
    pub announce_every_secs: u64,
    /// Tell the caller their position with each announcement.
    #[serde(default)]
    pub announce_position: bool,
    /// Tell the caller the estimated wait with each announcement.
    #[serde(default)]
    pub announce_wait: bool,
    /// Key that asks for a queued callback (keeps the place in line; the caller hangs up).
    #[serde(default)]
    pub callback_key: Option<String>,
    /// Key that leaves the queue for `exit_target`.
    #[serde(default)]
    pub exit_key: Option<String>,
    #[serde(default)]
    pub exit_target: Option<Target>,
}

fn default_announce_every() -> u64 {
    30
}

impl Default for CallerExperience {
    // By hand: a queue without `[queues.caller]` must get the same values serde gives.
    fn default() -> Self {
        CallerExperience {
            greeting: None,
            music: None,
            announcement: None,
            announce_every_secs: default_announce_every(),
            announce_position: false,
            announce_wait: false,
            callback_key: None,
            exit_key: None,
            exit_target: None,
        }
    }
}

fn default_sl() -> u64 {
    20
}
fn default_short_abandon() -> u64 {
    5
}
fn yes() -> bool {
    true
}
fn default_ring() -> u64 {
    15
}
fn default_ring_all_cap() -> usize {
    3
}

/// One widening step, applied once the caller has waited `after_secs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    pub after_secs: u64,
    /// Every required skill now needs only this level.
    #[serde(default)]
    pub min_level: Option<u8>,
    /// Any agent with each required skill at any level.
    #[serde(default)]
    pub any_with_skill: bool,
    /// Leave the queue for this target (the driver moves the call).
    #[serde(default)]
    pub overflow: Option<Target>,
}

/// Where a call goes when it leaves a queue without an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Target {
    /// Another queue: the driver calls `handle_call_arrived` there.
    Queue {
        queue: String,
    },
    Voicemail {
        mailbox: String,
    },
    /// Offer the caller a queued callback (the driver then calls `handle_callback_requested`
    /// on a queue of its choice, or re-enqueues).
    Callback,
    Extension {
        extension: String,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    #[default]
    LongestIdle,
    BestFit,
    RoundRobin,
    FewestCalls,
    LeastTalkTime,
    RingAll,
}

/// How the service level is computed (see `kpi`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceLevelFormula {
    /// answered within T / answered
    #[default]
    Answered,
    /// answered within T / (answered + abandoned)
    AnsweredAndAbandoned,
    /// answered within T / (answered + abandoned after the short-abandon threshold)
    ExcludeShortAbandons,
}

impl Default for AcdConfig {
    fn default() -> Self {
        AcdConfig {
            agents: Vec::new(),
            queues: Vec::new(),
            reject_backoff_secs: default_backoff(),
            handle_time_window: default_window(),
        }
    }
}

impl QueueConfig {
    /// A queue with every option at its default (handy for tests and tools).
    pub fn named(name: &str) -> Self {
        QueueConfig {
            name: name.to_string(),
            skills: BTreeMap::new(),
            weight: 0,
            service_level_secs: default_sl(),
            service_level_formula: ServiceLevelFormula::default(),
            short_abandon_secs: default_short_abandon(),
            max_len: None,
            recording: None,
            max_wait_secs: None,
            timeout_target: None,
            join_empty: true,
            leave_when_empty: false,
            wrap_up_secs: 0,
            ring_timeout_secs: default_ring(),
            strategy: StrategyKind::default(),
            ring_all_cap: default_ring_all_cap(),
            steps: Vec::new(),
            caller: CallerExperience::default(),
        }
    }
}

/// Bad references or values in the ACD config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("duplicate agent id {0:?}")]
    DuplicateAgent(String),
    #[error("duplicate queue {0:?}")]
    DuplicateQueue(String),
    #[error("agent {agent:?} serves unknown queue {queue:?}")]
    UnknownQueue { agent: String, queue: String },
    #[error("agent {agent:?} lists queue {queue:?} twice")]
    DuplicateMembership { agent: String, queue: String },
    #[error("{owner:?}: skill {skill:?} level {level} is outside 1-10")]
    BadLevel {
        owner: String,
        skill: String,
        level: u8,
    },
    #[error("queue {0:?}: steps must be sorted by after_secs")]
    StepsNotSorted(String),
    #[error("queue {0:?}: ring_timeout_secs and ring_all_cap must be at least 1")]
    Zero(String),
    #[error("queue {queue:?} sends calls to unknown queue {target:?}")]
    UnknownTarget { queue: String, target: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_unknown_fields() {
        let text = r#"
            reject_backoff_secs = 5
            [[agents]]
            id = "1001"
            name = "Ann"
            skills = { billing = 8, english = 5 }
            queues = [{ queue = "billing", penalty = 1 }]
            [[queues]]
            name = "billing"
            skills = { billing = 8 }
            strategy = "best-fit"
            steps = [{ after_secs = 30, min_level = 5 }, { after_secs = 120, overflow = { kind = "voicemail", mailbox = "900" } }]
        "#;
        let cfg: AcdConfig = toml::from_str(text).expect("valid");
        assert_eq!(cfg.agents[0].skills["billing"], 8);
        assert_eq!(cfg.queues[0].strategy, StrategyKind::BestFit);
        assert_eq!(
            cfg.queues[0].steps[1].overflow,
            Some(Target::Voicemail {
                mailbox: "900".into()
            })
        );
        let bad = "[[queues]]\nname = \"q\"\nmax_lenn = 3\n";
        assert!(toml::from_str::<AcdConfig>(bad).is_err());
    }
}
