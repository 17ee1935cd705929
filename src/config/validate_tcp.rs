//! Semantic checks for `[sip.tcp]`: connection caps and the timeouts that close idle and
//! slow connections.

use super::error::Collector;
use super::schema::RawTcp;
use super::TcpConfig;

pub fn tcp(c: &mut Collector, t: &RawTcp) -> TcpConfig {
    for (v, name) in [
        (&t.idle_timeout_secs, "idle_timeout_secs"),
        (&t.max_connections_per_ip, "max_connections_per_ip"),
        (&t.message_timeout_secs, "message_timeout_secs"),
    ] {
        if *v.get_ref() == 0 {
            c.at(v.span(), format!("sip.tcp.{name} must be at least 1"));
        }
    }
    if let Some(n) = &t.max_connections {
        if *n.get_ref() == 0 {
            c.at(n.span(), "sip.tcp.max_connections must be at least 1 (leave it out for the default derived from the descriptor limit)");
        }
    }
    if t.message_timeout_max_secs.get_ref() < t.message_timeout_secs.get_ref() {
        c.at(
            t.message_timeout_max_secs.span(),
            "sip.tcp.message_timeout_max_secs must not be below message_timeout_secs",
        );
    }
    TcpConfig {
        idle_timeout_secs: *t.idle_timeout_secs.get_ref(),
        max_connections_per_ip: *t.max_connections_per_ip.get_ref() as usize,
        max_connections: t.max_connections.as_ref().map(|n| *n.get_ref() as usize),
        message_timeout_secs: *t.message_timeout_secs.get_ref(),
        message_timeout_max_secs: *t.message_timeout_max_secs.get_ref(),
        message_min_rate: *t.message_min_rate.get_ref(),
    }
}
