//! `[api]`: the gRPC API's address and its bearer tokens with their scopes (its connection
//! limits and bans: `validate_api_limits`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::Collector;
use super::validate_api_limits::{ApiLimits, ApiSecurity, RawApiSecurity};

/// `[api]` as written. Without `listen` the API is off.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    #[serde(default)]
    pub listen: Option<Spanned<String>>,
    #[serde(default)]
    pub tokens: Vec<Spanned<RawToken>>,
    /// Serve TLS (rustls) with this certificate chain and key; plaintext without it.
    #[serde(default)]
    pub tls: Option<RawTls>,
    #[serde(default)]
    pub max_connections: Option<Spanned<u64>>,
    #[serde(default)]
    pub max_connections_per_ip: Option<Spanned<u64>>,
    #[serde(default)]
    pub preface_timeout_secs: Option<Spanned<u64>>,
    /// `[api.security]`: bans for invalid bearer tokens.
    #[serde(default)]
    pub security: RawApiSecurity,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain (leaf first), relative to the config file.
    pub cert: Spanned<String>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1), relative to the config file.
    pub key: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub token: Spanned<String>,
    pub scopes: Spanned<Vec<Spanned<String>>>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiScope {
    /// Subscribe and the List* calls.
    Read,
    /// Every command (hang up, agent states, monitoring).
    Control,
    /// Everything.
    Admin,
}

impl ApiScope {
    pub fn name(self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::Control => "control",
            ApiScope::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub token: String,
    pub scopes: Vec<ApiScope>,
}

/// The certificate and key, read at load time (a reload re-reads them; the running server
/// keeps the ones it started with).
#[derive(Clone, PartialEq)]
pub struct ApiTls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for ApiTls {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiTls")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .finish_non_exhaustive()
    }
}

/// The validated `[api]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    pub tokens: Vec<ApiToken>,
    pub tls: Option<ApiTls>,
    pub limits: ApiLimits,
    pub security: ApiSecurity,
}

/// Tokens shorter than this are guessable: refused.
const MIN_TOKEN_LEN: usize = 16;

/// Read a PEM file named in the config; an error at its span when it is missing or not PEM.
fn read_pem(
    c: &mut Collector<'_>,
    base: &Path,
    name: &Spanned<String>,
    what: &str,
    marker: &str,
) -> Option<Vec<u8>> {
    let path = base.join(name.get_ref());
    match std::fs::read(&path) {
        Ok(bytes) if String::from_utf8_lossy(&bytes).contains(marker) => Some(bytes),
        Ok(_) => {
            c.at(
                name.span(),
                format!("{} is not a PEM {what} (no `{marker}`)", path.display()),
            );
            None
        }
        Err(e) => {
            c.at(
                name.span(),
                format!("cannot read {what} {}: {e}", path.display()),
            );
            None
        }
    }
}

pub fn api(c: &mut Collector<'_>, raw: &RawApi, base: &Path) -> Option<ApiConfig> {
    let mut tokens = Vec::new();
    let mut seen = HashSet::new();
    for t in &raw.tokens {
        let t = t.get_ref();
        let token = t.token.get_ref();
        if token.len() < MIN_TOKEN_LEN || token.contains(char::is_whitespace) {
            c.at(
                t.token.span(),
                format!("api token must be at least {MIN_TOKEN_LEN} characters without spaces (e.g. `openssl rand -hex 24`)"),
            );
        } else if !seen.insert(token.clone()) {
            c.at(t.token.span(), "api token listed twice");
        }
        if t.scopes.get_ref().is_empty() {
            c.at(
                t.scopes.span(),
                "api token needs at least one scope: \"read\", \"control\" or \"admin\"",
            );
        }
        let mut scopes = Vec::new();
        for s in t.scopes.get_ref() {
            match s.get_ref().as_str() {
                "read" => scopes.push(ApiScope::Read),
                "control" => scopes.push(ApiScope::Control),
                "admin" => scopes.push(ApiScope::Admin),
                other => c.at(
                    s.span(),
                    format!("unknown scope `{other}`, expected \"read\", \"control\" or \"admin\""),
                ),
            }
        }
        tokens.push(ApiToken {
            token: token.clone(),
            scopes,
        });
    }
    let tls = raw.tls.as_ref().and_then(|t| {
        let cert = read_pem(
            c,
            base,
            &t.cert,
            "certificate",
            "-----BEGIN CERTIFICATE-----",
        );
        let key = read_pem(c, base, &t.key, "private key", "PRIVATE KEY-----");
        Some(ApiTls {
            cert_pem: cert?,
            key_pem: key?,
        })
    });
    let limits = super::validate_api_limits::limits(
        c,
        &raw.max_connections,
        &raw.max_connections_per_ip,
        &raw.preface_timeout_secs,
    );
    let security = super::validate_api_limits::security(c, &raw.security);
    let listen = raw.listen.as_ref()?;
    let addr = match listen.get_ref().parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            c.at(
                listen.span(),
                format!(
                    "`{}` is not an IP:port address (e.g. \"127.0.0.1:50051\")",
                    listen.get_ref()
                ),
            );
            return None;
        }
    };
    if tokens.is_empty() {
        c.at(
            listen.span(),
            "api.listen is set but api.tokens is empty: every call would be refused; add tokens = [{ token = \"...\", scopes = [\"read\"] }]",
        );
    }
    Some(ApiConfig {
        listen: addr,
        tokens,
        tls,
        limits,
        security,
    })
}
