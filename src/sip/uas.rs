//! What a UAS owes every request before looking at what it asks for (RFC 3261 §8.2):
//! method support (405), Require (420), Content-Type (415), Accept (406), Max-Forwards (483).

use crate::sip::message::{header_value, list_values};
use crate::sip::rsip;

/// Methods we implement. Known methods not listed get 405 with this Allow list.
pub const ALLOW: &[rsip::Method] = &[
    rsip::Method::Invite,
    rsip::Method::Ack,
    rsip::Method::Cancel,
    rsip::Method::Bye,
    rsip::Method::Options,
    rsip::Method::Register,
    rsip::Method::Info,
];

/// Extensions (option tags) we support; a Require naming anything else gets 420.
pub const SUPPORTED: &[&str] = &["timer"];

/// Bodies we understand in INVITE-family requests.
pub const ACCEPT: &[&str] = &["application/sdp", "multipart/mixed"];

/// A refusal: status, reason, and extra headers to put in the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

impl Refusal {
    fn new(code: u16, reason: &'static str) -> Self {
        Refusal {
            code,
            reason,
            headers: Vec::new(),
        }
    }
}

pub fn allow_header() -> String {
    ALLOW
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn accept_header() -> String {
    ACCEPT.join(", ")
}

pub fn supported_header() -> String {
    SUPPORTED.join(", ")
}

/// Checks in the order RFC 3261 §8.2 gives them. `Ok` means: go on to the method's handler.
pub fn check(req: &rsip::Request) -> Result<(), Refusal> {
    if !ALLOW.contains(&req.method) {
        let mut r = Refusal::new(405, "Method Not Allowed");
        r.headers.push(("Allow", allow_header()));
        return Err(r);
    }
    // ACK and CANCEL carry no Require processing (§8.2.2.3).
    if !matches!(req.method, rsip::Method::Ack | rsip::Method::Cancel) {
        let unknown: Vec<&str> = list_values(&req.headers, "Require")
            .chain(list_values(&req.headers, "Proxy-Require"))
            .filter(|tag| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)))
            .collect();
        if !unknown.is_empty() {
            let mut r = Refusal::new(420, "Bad Extension");
            r.headers.push(("Unsupported", unknown.join(", ")));
            return Err(r);
        }
    }
    if req.method == rsip::Method::Invite {
        check_invite_bodies(req)?;
    }
    Ok(())
}

fn check_invite_bodies(req: &rsip::Request) -> Result<(), Refusal> {
    if !req.body.is_empty() {
        let ctype = header_value(&req.headers, "Content-Type").unwrap_or("application/sdp");
        let media = ctype.split(';').next().unwrap_or("").trim();
        if !ACCEPT.iter().any(|a| a.eq_ignore_ascii_case(media)) {
            let mut r = Refusal::new(415, "Unsupported Media Type");
            r.headers.push(("Accept", accept_header()));
            return Err(r);
        }
    }
    // §8.2.3: an Accept that excludes SDP means we cannot answer in a form it takes.
    let accepts: Vec<&str> = list_values(&req.headers, "Accept").collect();
    if header_value(&req.headers, "Accept").is_some() {
        let ok = accepts.iter().any(|a| {
            let media = a.split(';').next().unwrap_or("").trim();
            ["application/sdp", "application/*", "*/*"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(media))
        });
        if !ok {
            let mut r = Refusal::new(406, "Not Acceptable");
            r.headers.push(("Accept", "application/sdp".into()));
            return Err(r);
        }
    }
    Ok(())
}

/// Max-Forwards of a request we would forward (§16.3 step 2 applied by our B2BUA to INVITE):
/// zero earns 483. Requests addressed to us (OPTIONS, REGISTER) are processed (RFC 4475 zeromf).
pub fn check_max_forwards(req: &rsip::Request) -> Result<(), Refusal> {
    let forwards = req.method == rsip::Method::Invite;
    let mf = header_value(&req.headers, "Max-Forwards").and_then(|v| v.trim().parse::<u32>().ok());
    if forwards && mf == Some(0) {
        return Err(Refusal::new(483, "Too Many Hops"));
    }
    Ok(())
}
