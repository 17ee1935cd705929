//! One SIP dialog as a B2BUA leg sees it, and the requests we send inside it.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::sip::{message, rsip, Peer, TransportKind};

/// Our side of a dialog (RFC 3261 §12). For the caller's leg we are the UAS; for the
/// callee's leg the UAC.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: Option<String>,
    /// From (UAC leg) or To (UAS leg) value as we present it, without tag.
    pub local_uri: String,
    /// The other party's name-addr, without tag.
    pub remote_uri: String,
    pub local_cseq: u32,
    /// Remote target: the Contact URI.
    pub remote_target: String,
    /// Route headers to put on requests (Record-Route, in request order).
    pub route_set: Vec<String>,
    /// Where requests go: the address we heard the other party from (NAT-friendly).
    pub peer: Peer,
}

/// Where we are reachable, for Via and Contact.
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr {
    pub udp: SocketAddr,
    pub tcp: Option<SocketAddr>,
}

impl LocalAddr {
    pub fn for_transport(&self, t: TransportKind) -> SocketAddr {
        match t {
            TransportKind::Tcp => self.tcp.unwrap_or(self.udp),
            TransportKind::Udp => self.udp,
        }
    }

    pub fn contact(&self, t: TransportKind) -> String {
        let a = self.for_transport(t);
        format!(
            "<sip:switchboard@{}:{};transport={}>",
            host(a),
            a.port(),
            t.as_via_str().to_ascii_lowercase()
        )
    }
}

pub fn host(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => v.ip().to_string(),
        SocketAddr::V6(v) => format!("[{}]", v.ip()),
    }
}

/// A request we originate, written as text and run through our own parser so it is a
/// well-formed `rsip::Request` for the transaction layer.
pub struct RequestText {
    text: String,
}

impl RequestText {
    pub fn new(
        method: &str,
        ruri: &str,
        local: &LocalAddr,
        transport: TransportKind,
        branch: &str,
    ) -> Self {
        let via_addr = local.for_transport(transport);
        let mut text = String::with_capacity(768);
        let _ = write!(
            text,
            "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/{} {}:{};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\n",
            transport.as_via_str(),
            host(via_addr),
            via_addr.port()
        );
        RequestText { text }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        let _ = write!(self.text, "{name}: {value}\r\n");
        self
    }

    pub fn build(self, content_type: Option<&str>, body: &[u8]) -> Option<rsip::Request> {
        let mut bytes = self.text.into_bytes();
        if let Some(ct) = content_type {
            bytes.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(body);
        match message::parse(&bytes) {
            Ok(p) => match p.message {
                rsip::SipMessage::Request(r) => Some(r),
                rsip::SipMessage::Response(_) => None,
            },
            Err(e) => {
                // Only reachable if a peer smuggled something unparsable into a value we
                // copy (we sanitize what we copy): refuse to send rather than send garbage.
                tracing::warn!(error = %e.error, "could not build a request");
                None
            }
        }
    }
}

impl Dialog {
    /// A new in-dialog request (not ACK/CANCEL): next CSeq, route set, our tags.
    pub fn request(
        &mut self,
        method: &str,
        local: &LocalAddr,
        branch: &str,
        user_agent: &str,
    ) -> RequestText {
        self.local_cseq += 1;
        let cseq = self.local_cseq;
        self.request_with_cseq(method, cseq, local, branch, user_agent)
    }

    /// ACK for a 2xx: same CSeq number as the INVITE (§13.2.2.4).
    pub fn ack(
        &self,
        invite_cseq: u32,
        local: &LocalAddr,
        branch: &str,
        user_agent: &str,
    ) -> RequestText {
        self.request_with_cseq("ACK", invite_cseq, local, branch, user_agent)
    }

    fn request_with_cseq(
        &self,
        method: &str,
        cseq: u32,
        local: &LocalAddr,
        branch: &str,
        user_agent: &str,
    ) -> RequestText {
        let mut r = RequestText::new(
            method,
            &self.remote_target,
            local,
            self.peer.transport,
            branch,
        );
        for route in &self.route_set {
            r = r.header("Route", route);
        }
        let to = match &self.remote_tag {
            Some(t) => format!("{};tag={t}", self.remote_uri),
            None => self.remote_uri.clone(),
        };
        r.header(
            "From",
            &format!("{};tag={}", self.local_uri, self.local_tag),
        )
        .header("To", &to)
        .header("Call-ID", &self.call_id)
        .header("CSeq", &format!("{cseq} {method}"))
        .header("Contact", &local.contact(self.peer.transport))
        .header("User-Agent", user_agent)
    }
}
