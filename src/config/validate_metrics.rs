//! `[metrics]`: the Prometheus endpoint's address.

use std::net::SocketAddr;

use serde::Deserialize;
use toml::Spanned;

use super::error::Collector;

/// `[metrics]` as written. Without `listen` the endpoint is off.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    #[serde(default)]
    pub listen: Option<Spanned<String>>,
}

/// The validated `[metrics]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// `GET /metrics` is served over plain HTTP here.
    pub listen: SocketAddr,
}

pub fn metrics(c: &mut Collector<'_>, raw: &RawMetrics) -> Option<MetricsConfig> {
    let listen = raw.listen.as_ref()?;
    match listen.get_ref().parse::<SocketAddr>() {
        Ok(listen) => Some(MetricsConfig { listen }),
        Err(_) => {
            c.at(
                listen.span(),
                format!(
                    "`{}` is not an IP:port address (e.g. \"127.0.0.1:9090\")",
                    listen.get_ref()
                ),
            );
            None
        }
    }
}
