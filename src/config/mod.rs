//! Configuration: one TOML file, parsed with serde (unknown keys refused), validated into
//! typed values. Every problem is reported with file:line:col; semantic checks collect all
//! problems in one pass.

pub mod campaign_rules;
mod cidr;
mod error;
mod schema;
mod validate;
mod validate_acd;
mod validate_api;
mod validate_api_limits;
mod validate_calls;
mod validate_campaign;
mod validate_dispositions;
mod validate_ivr;
mod validate_metrics;
mod validate_recording;
mod validate_tcp;

pub use cidr::Cidr;
pub use error::{line_col, ConfigError, ConfigErrors};
pub use validate_acd::{AcdSettings, FeatureCodes};
pub use validate_api::{ApiConfig, ApiScope, ApiTls, ApiToken};
pub use validate_api_limits::{ApiLimits, ApiSecurity};
pub use validate_campaign::{CampaignConfig, MachineAction};
pub use validate_dispositions::DispositionCode;
pub use validate_ivr::IvrConfig;
pub use validate_metrics::MetricsConfig;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::call::pattern::Pattern;
use crate::sip::TransportKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub sip: SipConfig,
    pub registrar: RegistrarConfig,
    pub auth: AuthConfig,
    pub security: SecurityConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub media: MediaConfig,
    pub calls: CallsConfig,
    pub dialplan: DialplanConfig,
    pub trunks: Vec<TrunkConfig>,
    pub users: Vec<User>,
    pub ivr: IvrConfig,
    pub acd: AcdSettings,
    pub recording: crate::recording::RecordingConfig,
    /// `[api]`: the gRPC API; None when it is off.
    pub api: Option<ApiConfig>,
    /// `[metrics]`: the Prometheus endpoint; None when it is off.
    pub metrics: Option<MetricsConfig>,
    /// `[[campaigns]]`: outbound dialer campaigns (README "Outbound campaigns").
    pub campaigns: Vec<CampaignConfig>,
    /// `[dispositions] codes`: the call results agents may set, in config order.
    pub dispositions: Vec<DispositionCode>,
    /// Every prompt the config names, loaded, by the path as written.
    pub prompts: std::collections::HashMap<String, crate::media::prompt::Prompt>,
}

/// `[media]`: where RTP is anchored and which codecs we speak.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaConfig {
    pub address: IpAddr,
    /// Even ports from this range carry RTP, the odd port above each carries RTCP.
    pub port_min: u16,
    pub port_max: u16,
    /// Upper-case encoding names ("PCMU", "PCMA"), most preferred first.
    pub codecs: Vec<String>,
    pub telephone_event: bool,
    pub ptime_ms: u32,
    /// Hang up a call when no RTP arrived from either side for this long (not on hold).
    pub rtp_timeout: Option<Duration>,
}

/// `[calls]`: B2BUA limits and RFC 4028 session timers.
#[derive(Debug, Clone, PartialEq)]
pub struct CallsConfig {
    pub ring_timeout: Duration,
    /// None: no session timers.
    pub session_expires: Option<u32>,
    pub min_se: u32,
    pub max_calls: usize,
    /// The prompt played to a side put on hold through the API (when the call is in no
    /// queue with music of its own).
    pub hold_music: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DialplanConfig {
    /// Calls from a caller number matching any of these are refused (603).
    pub blocked: Vec<Pattern>,
    /// Outbound routes, tried in order.
    pub routes: Vec<Route>,
    /// DIDs: a number dialled from a trunk, routed to an extension.
    pub inbound: Vec<Inbound>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub pattern: Pattern,
    pub trunk: String,
    /// Permission a user needs to use this route ("national", "international", ...).
    pub class: String,
    pub strip: usize,
    pub prepend: String,
    pub recording: Option<crate::recording::Policy>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub number: Pattern,
    pub target: InboundTarget,
    /// Queue priority of callers on this number (higher is served first).
    pub priority: u8,
}

/// Where a DID goes.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundTarget {
    Extension(String),
    Ivr(String),
    Queue(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrunkConfig {
    pub name: String,
    pub address: SocketAddr,
    /// Sources whose INVITEs are this trunk's inbound calls (default: exactly `address`).
    pub inbound_from: Vec<TrunkSource>,
    /// Number presented as caller on outbound calls (None: the caller's own).
    pub caller_id: Option<String>,
    pub caller_name: Option<String>,
    pub register: Option<TrunkRegister>,
    pub recording: Option<crate::recording::Policy>,
}

/// An inbound source: a network, or one exact IP:port.
#[derive(Debug, Clone, PartialEq)]
pub enum TrunkSource {
    Net(Cidr),
    Addr(SocketAddr),
}

impl TrunkConfig {
    pub fn accepts_from(&self, source: SocketAddr) -> bool {
        self.inbound_from.iter().any(|s| match s {
            TrunkSource::Net(n) => n.contains(source.ip()),
            TrunkSource::Addr(a) => *a == source,
        })
    }
}

/// Our own registration with the carrier (we act as a UA).
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkRegister {
    pub username: String,
    pub password: String,
    pub domain: String,
    pub expires_secs: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SipConfig {
    pub domain: String,
    pub realm: String,
    pub listen: Vec<(TransportKind, SocketAddr)>,
    pub user_agent: String,
    pub force_rport: bool,
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
    pub tcp: TcpConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TcpConfig {
    pub idle_timeout_secs: u64,
    pub max_connections_per_ip: usize,
    /// None: as many as the descriptor limit affords (`sip::transport::Budget`).
    pub max_connections: Option<usize>,
    /// A message must be complete this long after its first byte ...
    pub message_timeout_secs: u64,
    /// ... plus a second per `message_min_rate` bytes received, up to this long.
    pub message_timeout_max_secs: u64,
    pub message_min_rate: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegistrarConfig {
    pub min_expires: u32,
    pub default_expires: u32,
    pub max_expires: u32,
    pub max_contacts_per_aor: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Md5,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    pub nonce_ttl: Duration,
    /// Offered in this order (RFC 8760: most preferred first).
    pub algorithms: Vec<DigestAlgorithm>,
    pub secret: Option<[u8; 32]>,
}

/// Per-source rate limit and bans (`[security]`), used as is by `sip::ratelimit`.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityConfig {
    pub requests: u32,
    pub window: Duration,
    pub ban: Duration,
    /// Failed authentications of one user from one source before that pair is banned.
    pub auth_failures: u32,
    /// Failed authentications from one source (any users) before the source is banned.
    pub auth_failures_per_source: u32,
    pub auth_failure_window: Duration,
    pub trusted: Vec<Cidr>,
}

impl Default for SecurityConfig {
    /// Kamailio pike-like defaults: 30 requests / 2 s, ban 300 s; 10 failed logins of a
    /// user (30 of any users) from one source / 60 s.
    fn default() -> Self {
        SecurityConfig {
            requests: 30,
            window: Duration::from_secs(2),
            ban: Duration::from_secs(300),
            auth_failures: 10,
            auth_failures_per_source: 30,
            auth_failure_window: Duration::from_secs(60),
            trusted: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Resolved: a relative path in the file is relative to the config file's directory.
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub json: bool,
    pub level: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub extension: String,
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
    pub enabled: bool,
    /// Route classes this user may dial (default `["national"]`).
    pub permissions: Vec<String>,
    pub recording: Option<crate::recording::Policy>,
}

impl Config {
    pub fn listen_addrs(&self) -> Vec<(TransportKind, SocketAddr)> {
        self.sip.listen.clone()
    }
}

/// Read, parse and validate a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: name.clone(),
            line: 1,
            col: 1,
            message: format!("cannot read: {e}"),
        }])
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_with_base(&text, &name, base)
}

/// Parse and validate config text; relative store paths resolve against the current directory.
pub fn parse_str(text: &str, file_name: &str) -> Result<Config, ConfigErrors> {
    parse_with_base(text, file_name, Path::new("."))
}

fn parse_with_base(text: &str, file_name: &str, base: &Path) -> Result<Config, ConfigErrors> {
    let raw: schema::RawConfig = toml::from_str(text).map_err(|e| {
        let mut c = error::Collector::new(file_name, text);
        c.at(e.span().unwrap_or(0..0), e.message().trim().to_string());
        ConfigErrors(c.errors)
    })?;
    validate::validate(raw, text, file_name, base)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_campaign;
#[cfg(test)]
mod tests_ivr;
