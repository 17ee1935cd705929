//! The TOML schema as written (serde, unknown keys refused), with spans on values that get
//! semantic checks so each problem points at its line and column.

use serde::Deserialize;
use toml::Spanned;

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub sip: RawSip,
    #[serde(default)]
    pub registrar: RawRegistrar,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub security: RawSecurity,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub media: RawMedia,
    #[serde(default)]
    pub calls: RawCalls,
    #[serde(default)]
    pub dialplan: RawDialplan,
    #[serde(default)]
    pub trunks: Vec<Spanned<RawTrunk>>,
    #[serde(default)]
    pub users: Vec<Spanned<RawUser>>,
    #[serde(default)]
    pub ivr: Vec<Spanned<RawIvr>>,
    #[serde(default)]
    pub acd: RawAcd,
    #[serde(default)]
    pub agents: Vec<Spanned<crate::acd::AgentConfig>>,
    #[serde(default)]
    pub queues: Vec<Spanned<crate::acd::QueueConfig>>,
    #[serde(default)]
    pub recording: RawRecording,
    #[serde(default)]
    pub api: super::validate_api::RawApi,
    #[serde(default)]
    pub metrics: super::validate_metrics::RawMetrics,
    #[serde(default)]
    pub campaigns: Vec<Spanned<super::validate_campaign::RawCampaign>>,
    #[serde(default)]
    pub dispositions: super::validate_dispositions::RawDispositions,
}

/// `[recording]`: where recordings go, their format and name, and the default policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRecording {
    /// Relative to this file.
    pub dir: String,
    pub format: crate::recording::Layout,
    pub file_name: Spanned<String>,
    pub max_concurrent: Spanned<u32>,
    pub policy: crate::recording::Policy,
    pub writer_threads: Spanned<u32>,
}

impl Default for RawRecording {
    fn default() -> Self {
        let d = crate::recording::RecordingConfig::default();
        RawRecording {
            dir: d.dir.display().to_string(),
            format: d.layout,
            file_name: sp(d.file_name),
            max_concurrent: sp(d.max_concurrent as u32),
            policy: d.policy,
            writer_threads: sp(d.writer_threads as u32),
        }
    }
}

/// `[acd]`: engine-wide settings and the agents' feature codes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAcd {
    pub reject_backoff_secs: u64,
    pub handle_time_window: usize,
    /// Asterisk-format queue_log file (relative to this file); none when unset.
    pub queue_log: Option<String>,
    pub login_code: Spanned<String>,
    pub logout_code: Spanned<String>,
    pub ready_code: Spanned<String>,
    pub not_ready_code: Spanned<String>,
    pub monitor_code: Spanned<String>,
}

impl Default for RawAcd {
    fn default() -> Self {
        RawAcd {
            reject_backoff_secs: 10,
            handle_time_window: 50,
            queue_log: None,
            login_code: sp("*71".into()),
            logout_code: sp("*72".into()),
            ready_code: sp("*73".into()),
            not_ready_code: sp("*74".into()),
            monitor_code: sp("*55".into()),
        }
    }
}

/// `[[ivr]]`: one menu.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIvr {
    pub name: Spanned<String>,
    /// Users reach the menu by dialling this.
    #[serde(default)]
    pub extension: Option<Spanned<String>>,
    pub prompt: Spanned<String>,
    #[serde(default)]
    pub invalid_prompt: Option<Spanned<String>>,
    #[serde(default = "five")]
    pub timeout_secs: Spanned<u64>,
    #[serde(default = "three")]
    pub max_invalid: u32,
    #[serde(default = "hangup")]
    pub on_failure: Spanned<String>,
    #[serde(default = "no_options")]
    pub options: Spanned<std::collections::BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    pub collect: Option<Spanned<RawCollect>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCollect {
    pub variable: Spanned<String>,
    pub digits: Spanned<u32>,
    #[serde(default)]
    pub terminator: Option<Spanned<String>>,
    pub then: Spanned<String>,
}

fn no_options() -> Spanned<std::collections::BTreeMap<String, Spanned<String>>> {
    sp(Default::default())
}

fn five() -> Spanned<u64> {
    sp(5)
}

fn three() -> u32 {
    3
}

fn hangup() -> Spanned<String> {
    sp("hangup".into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMedia {
    pub address: Spanned<String>,
    pub port_min: Spanned<u16>,
    pub port_max: Spanned<u16>,
    pub codecs: Spanned<Vec<Spanned<String>>>,
    pub telephone_event: bool,
    pub ptime_ms: Spanned<u32>,
    pub rtp_timeout_secs: u64,
}

impl Default for RawMedia {
    fn default() -> Self {
        RawMedia {
            address: sp("127.0.0.1".into()),
            port_min: sp(20000),
            port_max: sp(29999),
            codecs: sp(vec![sp("PCMU".into()), sp("PCMA".into())]),
            telephone_event: true,
            ptime_ms: sp(20),
            rtp_timeout_secs: 60,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCalls {
    pub ring_timeout_secs: Spanned<u64>,
    pub session_expires_secs: Spanned<u32>,
    pub min_se_secs: Spanned<u32>,
    pub max_calls: Spanned<u32>,
    /// What a caller put on hold through the API hears (a prompt file); unset: a built-in
    /// tone pattern.
    pub hold_music: Option<Spanned<String>>,
}

impl Default for RawCalls {
    fn default() -> Self {
        RawCalls {
            ring_timeout_secs: sp(60),
            session_expires_secs: sp(1800),
            min_se_secs: sp(90),
            max_calls: sp(10000),
            hold_music: None,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawDialplan {
    pub blocked: Vec<Spanned<String>>,
    pub routes: Vec<Spanned<RawRoute>>,
    pub inbound: Vec<Spanned<RawInbound>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub pattern: Spanned<String>,
    pub trunk: Spanned<String>,
    #[serde(default = "national")]
    pub class: Spanned<String>,
    #[serde(default = "zero")]
    pub strip: Spanned<u32>,
    #[serde(default = "empty")]
    pub prepend: Spanned<String>,
    /// Recording policy for calls out through this route (see `[recording]`).
    #[serde(default)]
    pub recording: Option<crate::recording::Policy>,
}

fn zero() -> Spanned<u32> {
    sp(0)
}

fn empty() -> Spanned<String> {
    sp(String::new())
}

fn national() -> Spanned<String> {
    sp("national".into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbound {
    pub number: Spanned<String>,
    /// Exactly one of these: where the DID goes.
    #[serde(default)]
    pub extension: Option<Spanned<String>>,
    #[serde(default)]
    pub ivr: Option<Spanned<String>>,
    #[serde(default)]
    pub queue: Option<Spanned<String>>,
    /// Callers on this number wait with this priority (higher first) in any queue.
    #[serde(default)]
    pub priority: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrunk {
    pub name: Spanned<String>,
    pub address: Spanned<String>,
    #[serde(default)]
    pub inbound_from: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub caller_id: Option<Spanned<String>>,
    #[serde(default)]
    pub caller_name: Option<String>,
    #[serde(default)]
    pub register: Option<Spanned<RawTrunkRegister>>,
    /// Recording policy for calls in or out through this trunk.
    #[serde(default)]
    pub recording: Option<crate::recording::Policy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrunkRegister {
    pub username: Spanned<String>,
    pub password: Spanned<String>,
    #[serde(default)]
    pub domain: Option<Spanned<String>>,
    #[serde(default = "register_expires")]
    pub expires_secs: Spanned<u32>,
}

fn register_expires() -> Spanned<u32> {
    sp(600)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSip {
    pub domain: Spanned<String>,
    pub realm: Option<Spanned<String>>,
    pub listen: Spanned<Vec<Spanned<RawListen>>>,
    pub user_agent: String,
    pub force_rport: bool,
    pub timers: RawTimers,
    pub tcp: RawTcp,
}

impl Default for RawSip {
    fn default() -> Self {
        RawSip {
            domain: sp("switchboard.local".into()),
            realm: None,
            listen: sp(vec![
                sp(RawListen {
                    transport: sp("udp".into()),
                    addr: sp("127.0.0.1:5060".into()),
                }),
                sp(RawListen {
                    transport: sp("tcp".into()),
                    addr: sp("127.0.0.1:5060".into()),
                }),
            ]),
            user_agent: "switchboard".into(),
            force_rport: true,
            timers: RawTimers::default(),
            tcp: RawTcp::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    pub transport: Spanned<String>,
    pub addr: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTimers {
    pub t1_ms: Spanned<u64>,
    pub t2_ms: Spanned<u64>,
    pub t4_ms: Spanned<u64>,
}

impl Default for RawTimers {
    fn default() -> Self {
        RawTimers {
            t1_ms: sp(500),
            t2_ms: sp(4000),
            t4_ms: sp(5000),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTcp {
    pub idle_timeout_secs: Spanned<u64>,
    pub max_connections_per_ip: Spanned<u64>,
    /// None: derived at start from the descriptor limit.
    pub max_connections: Option<Spanned<u64>>,
    pub message_timeout_secs: Spanned<u64>,
    pub message_timeout_max_secs: Spanned<u64>,
    pub message_min_rate: Spanned<u64>,
}

impl Default for RawTcp {
    fn default() -> Self {
        RawTcp {
            idle_timeout_secs: sp(600),
            max_connections_per_ip: sp(64),
            max_connections: None,
            message_timeout_secs: sp(10),
            message_timeout_max_secs: sp(30),
            message_min_rate: sp(500),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRegistrar {
    pub min_expires: Spanned<u32>,
    pub default_expires: Spanned<u32>,
    pub max_expires: Spanned<u32>,
    pub max_contacts_per_aor: Spanned<u32>,
}

impl Default for RawRegistrar {
    fn default() -> Self {
        RawRegistrar {
            min_expires: sp(60),
            default_expires: sp(3600),
            max_expires: sp(7200),
            max_contacts_per_aor: sp(5),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuth {
    pub nonce_ttl_secs: Spanned<u64>,
    pub algorithms: Spanned<Vec<Spanned<String>>>,
    pub secret: Option<Spanned<String>>,
}

impl Default for RawAuth {
    fn default() -> Self {
        RawAuth {
            nonce_ttl_secs: sp(300),
            algorithms: sp(vec![sp("SHA-256".into()), sp("MD5".into())]),
            secret: None,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawSecurity {
    pub rate_limit: RawRateLimit,
    pub auth_failures: RawAuthFailures,
    pub trusted: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRateLimit {
    pub requests: Spanned<u32>,
    pub window_secs: Spanned<u64>,
    pub ban_secs: Spanned<u64>,
}

impl Default for RawRateLimit {
    fn default() -> Self {
        RawRateLimit {
            requests: sp(30),
            window_secs: sp(2),
            ban_secs: sp(300),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuthFailures {
    pub max: Spanned<u32>,
    pub max_per_source: Spanned<u32>,
    pub window_secs: Spanned<u64>,
}

impl Default for RawAuthFailures {
    fn default() -> Self {
        RawAuthFailures {
            max: sp(10),
            max_per_source: sp(30),
            window_secs: sp(60),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub path: String,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            path: "var/switchboard.db".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub format: Spanned<String>,
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: sp("human".into()),
            level: "info".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    pub extension: Spanned<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub password: Option<Spanned<String>>,
    #[serde(default)]
    pub ha1_md5: Option<Spanned<String>>,
    #[serde(default)]
    pub ha1_sha256: Option<Spanned<String>>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub permissions: Option<Vec<Spanned<String>>>,
    /// Recording policy for this user's calls (as caller or callee/agent).
    #[serde(default)]
    pub recording: Option<crate::recording::Policy>,
}

fn yes() -> bool {
    true
}
