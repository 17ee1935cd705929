//! Where responses go (RFC 3261 §18.2.2 with RFC 3581) and the headers every answer carries.

use std::net::{IpAddr, SocketAddr};

use super::EndpointConfig;
use crate::sip::message::ParseError;
use crate::sip::rsip;
use crate::sip::{uas, Peer};

/// Sent-by port and whether `rport` is present, from a Via value.
fn via_port_and_rport(via: &str) -> (Option<u16>, bool) {
    let first = via.split(',').next().unwrap_or("");
    let mut parts = first.split(';');
    let head = parts.next().unwrap_or("");
    let rport = parts.any(|p| {
        p.trim()
            .split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("rport"))
    });
    // After "SIP/2.0/UDP" comes whitespace then sent-by.
    let sent_by = head.rsplit([' ', '\t']).next().unwrap_or("").trim();
    let port = if let Some(rest) = sent_by.strip_prefix('[') {
        rest.split_once("]:").and_then(|(_, p)| p.parse().ok())
    } else {
        sent_by.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
    };
    (port, rport)
}

/// The address to answer a request that arrived from `source` with this top Via.
pub fn response_peer(top_via: &str, source: Peer, force_rport: bool) -> Peer {
    if source.transport.is_reliable() {
        return source;
    }
    let (port, rport) = via_port_and_rport(top_via);
    if force_rport || rport {
        return source;
    }
    Peer {
        addr: SocketAddr::new(source.addr.ip(), port.unwrap_or(5060)),
        ..source
    }
}

/// Stamp `received` and `rport` on the request's top Via (RFC 3581 §4) and say where to answer.
pub fn request_response_peer(req: &mut rsip::Request, source: Peer, force_rport: bool) -> Peer {
    let Some(idx) = req
        .headers
        .iter()
        .position(|h| matches!(h, rsip::Header::Via(_)))
    else {
        return source;
    };
    let mut all: Vec<rsip::Header> = std::mem::take(&mut req.headers).into();
    let dest = if let rsip::Header::Via(via) = &all[idx] {
        let value = via.value().to_string();
        let dest = response_peer(&value, source, force_rport);
        all[idx] = rsip::Header::Via(rsip::Via::new(stamp(&value, source.addr)));
        dest
    } else {
        source
    };
    req.headers = all.into();
    dest
}

/// Add `received=<ip>` and fill an empty `rport` with the source port.
fn stamp(via: &str, source: SocketAddr) -> String {
    let (first, rest) = match via.find(',') {
        Some(i) => (&via[..i], &via[i..]),
        None => (via, ""),
    };
    let mut params: Vec<String> = first.split(';').map(str::to_string).collect();
    let mut has_received = false;
    for p in params.iter_mut().skip(1) {
        let name = p
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name == "rport" {
            *p = format!("rport={}", source.port());
        } else if name == "received" {
            has_received = true;
            *p = format!("received={}", ip_text(source.ip()));
        }
    }
    if !has_received {
        params.push(format!("received={}", ip_text(source.ip())));
    }
    format!("{}{}", params.join(";"), rest)
}

fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// Headers to add to a stateless answer for a parse error.
pub fn extra_for_parse_error(
    err: &ParseError,
    cfg: &EndpointConfig,
) -> Vec<(&'static str, String)> {
    let mut extra = vec![("Server", cfg.user_agent.clone())];
    if let ParseError::UnknownMethod(_) = err {
        extra.push(("Allow", uas::allow_header()));
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::TransportKind;

    fn src() -> Peer {
        Peer {
            transport: TransportKind::Udp,
            addr: "127.0.0.1:40000".parse().unwrap(),
            conn: Some(0),
        }
    }

    #[test]
    fn follows_rfc3261_18_2_2_without_rport() {
        let p = response_peer("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1", src(), false);
        assert_eq!(p.addr, "127.0.0.1:5070".parse().unwrap());
        let p = response_peer("SIP/2.0/UDP host.example;branch=z9hG4bK1", src(), false);
        assert_eq!(p.addr, "127.0.0.1:5060".parse().unwrap());
    }

    #[test]
    fn rport_or_force_rport_answers_the_source() {
        let p = response_peer(
            "SIP/2.0/UDP 192.0.2.1:5070;rport;branch=z9hG4bK1",
            src(),
            false,
        );
        assert_eq!(p.addr, src().addr);
        let p = response_peer("SIP/2.0/UDP [2001:db8::1]:5070;branch=z", src(), true);
        assert_eq!(p.addr, src().addr);
        assert_eq!(
            via_port_and_rport("SIP/2.0/UDP [2001:db8::1]:5070;branch=z"),
            (Some(5070), false)
        );
    }

    #[test]
    fn stamps_received_and_rport() {
        let s = stamp("SIP/2.0/UDP h:5070;rport;branch=z9hG4bK1", src().addr);
        assert_eq!(
            s,
            "SIP/2.0/UDP h:5070;rport=40000;branch=z9hG4bK1;received=127.0.0.1"
        );
    }
}
