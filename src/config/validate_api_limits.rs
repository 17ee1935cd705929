//! `[api]`'s protections: connection caps, the HTTP/2 preface deadline, and `[api.security]`
//! (bans for repeated invalid bearer tokens). Each has a default, so an `[api]` without them
//! is protected too.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::Collector;

/// `[api.security]` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawApiSecurity {
    pub auth_failures: Option<Spanned<u64>>,
    pub window_secs: Option<Spanned<u64>>,
    pub ban_secs: Option<Spanned<u64>>,
}

/// Connections to the API port.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiLimits {
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one IP address.
    pub max_connections_per_ip: usize,
    /// From accept until the HTTP/2 client preface has arrived (after the TLS handshake
    /// with TLS); a connection that has not sent it by then is closed.
    pub preface_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_connections: 1024,
            max_connections_per_ip: 32,
            preface_timeout: Duration::from_secs(5),
        }
    }
}

/// Invalid bearer tokens: `auth_failures` within `window` from one IP ban it for `ban`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSecurity {
    pub auth_failures: u32,
    pub window: Duration,
    pub ban: Duration,
}

impl Default for ApiSecurity {
    fn default() -> Self {
        ApiSecurity {
            auth_failures: 10,
            window: Duration::from_secs(60),
            ban: Duration::from_secs(300),
        }
    }
}

/// `value` (or `default` when unset) if it lies in `range`; an error at its span otherwise.
fn bounded(
    c: &mut Collector<'_>,
    value: &Option<Spanned<u64>>,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> u64 {
    let Some(v) = value else {
        return default;
    };
    if range.contains(v.get_ref()) {
        *v.get_ref()
    } else {
        c.at(
            v.span(),
            format!(
                "{name} must be {}..={} (got {})",
                range.start(),
                range.end(),
                v.get_ref()
            ),
        );
        default
    }
}

pub fn limits(
    c: &mut Collector<'_>,
    max_connections: &Option<Spanned<u64>>,
    per_ip: &Option<Spanned<u64>>,
    preface_timeout_secs: &Option<Spanned<u64>>,
) -> ApiLimits {
    let d = ApiLimits::default();
    ApiLimits {
        max_connections: bounded(
            c,
            max_connections,
            "api.max_connections",
            1..=1_000_000,
            d.max_connections as u64,
        ) as usize,
        max_connections_per_ip: bounded(
            c,
            per_ip,
            "api.max_connections_per_ip",
            1..=1_000_000,
            d.max_connections_per_ip as u64,
        ) as usize,
        preface_timeout: Duration::from_secs(bounded(
            c,
            preface_timeout_secs,
            "api.preface_timeout_secs",
            1..=300,
            d.preface_timeout.as_secs(),
        )),
    }
}

pub fn security(c: &mut Collector<'_>, raw: &RawApiSecurity) -> ApiSecurity {
    let d = ApiSecurity::default();
    ApiSecurity {
        auth_failures: bounded(
            c,
            &raw.auth_failures,
            "api.security.auth_failures",
            1..=1_000_000,
            d.auth_failures as u64,
        ) as u32,
        window: Duration::from_secs(bounded(
            c,
            &raw.window_secs,
            "api.security.window_secs",
            1..=86_400,
            d.window.as_secs(),
        )),
        ban: Duration::from_secs(bounded(
            c,
            &raw.ban_secs,
            "api.security.ban_secs",
            1..=604_800,
            d.ban.as_secs(),
        )),
    }
}
