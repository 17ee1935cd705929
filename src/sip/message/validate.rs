//! Second pass: the checks RFC 3261 and RFC 4475 require, then the rsip model.

use super::{raw::RawMessage, ParseError};
use crate::sip::rsip;

/// Headers that may appear once only (RFC 3261 §7.3.1 and the grammar of §25).
const SINGLE: &[&str] = &[
    "To",
    "From",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
];

/// URI schemes a Request-URI may use with us.
const SCHEMES: &[&str] = &["sip", "sips", "tel"];

pub fn build(raw: &RawMessage) -> Result<rsip::SipMessage, ParseError> {
    if raw.is_response() {
        return build_response(raw);
    }
    let (method, uri) = request_line(&raw.start_line)?;
    check_headers(raw)?;
    let cseq = raw.first("CSeq").ok_or(ParseError::Missing("CSeq"))?;
    let cseq_method = cseq_method(cseq)?;
    // mismatch02: a CSeq mismatch is a 400 even for a method we do not know.
    if cseq_method != method {
        return Err(ParseError::CSeqMismatch);
    }
    check_request_uri(uri)?;
    let method = known_method(method)?;
    let uri = rsip::Uri::try_from(uri).map_err(|_| ParseError::RequestUri)?;
    let body = body(raw)?;
    Ok(rsip::SipMessage::Request(rsip::Request {
        method,
        uri,
        version: rsip::Version::V2,
        headers: headers(raw),
        body,
    }))
}

/// `Method SP Request-URI SP SIP-Version`, exactly one SP each, nothing after the version.
fn request_line(line: &str) -> Result<(&str, &str), ParseError> {
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::StartLine(
            "expected Method SP Request-URI SP SIP/2.0",
        ));
    };
    if !super::compact::is_token(method) {
        return Err(ParseError::StartLine("method is not a token"));
    }
    check_version(version)?;
    if uri.is_empty() {
        return Err(ParseError::StartLine("empty Request-URI"));
    }
    Ok((method, uri))
}

fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    // `get` rather than slicing: the input may be any UTF-8 (found by fuzzing).
    let number = match (version.get(..4), version.get(4..)) {
        (Some(p), Some(n)) if p.eq_ignore_ascii_case("SIP/") => n,
        _ => "",
    };
    let looks_like_sip = number.split('.').count() == 2
        && number
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if looks_like_sip {
        Err(ParseError::Version(version.to_string()))
    } else {
        Err(ParseError::StartLine("bad SIP version"))
    }
}

fn check_headers(raw: &RawMessage) -> Result<(), ParseError> {
    if raw.no_header_end {
        return Err(ParseError::NoHeaderEnd);
    }
    if raw.malformed {
        return Err(ParseError::HeaderLine);
    }
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if raw.first(name).is_none() {
            return Err(ParseError::Missing(name));
        }
    }
    for name in SINGLE {
        if raw.values(name).nth(1).is_some() {
            return Err(ParseError::Duplicate(name));
        }
    }
    if let Some(mf) = raw.first("Max-Forwards") {
        parse_scalar(mf, 255).ok_or(ParseError::BadHeader("Max-Forwards"))?;
    }
    if let Some(exp) = raw.first("Expires") {
        parse_scalar(exp, u32::MAX as u64).ok_or(ParseError::BadHeader("Expires"))?;
    }
    for via in raw.values("Via") {
        check_via(via)?;
    }
    for name in ["From", "To", "Contact"] {
        for value in raw.values(name) {
            if !quotes_balanced(value) {
                return Err(ParseError::BadHeader(static_name(name)));
            }
        }
    }
    if raw
        .first("Call-ID")
        .is_some_and(|v| v.is_empty() || v.contains(char::is_whitespace))
    {
        return Err(ParseError::BadHeader("Call-ID"));
    }
    Ok(())
}

fn static_name(name: &str) -> &'static str {
    match name {
        "From" => "From",
        "To" => "To",
        _ => "Contact",
    }
}

/// A decimal scalar of at most `max`.
pub fn parse_scalar(v: &str, max: u64) -> Option<u64> {
    if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u64>().ok().filter(|n| *n <= max)
}

/// `CSeq: 1*DIGIT LWS Method`; the number must be below 2^31 (RFC 3261 §8.1.1.5).
fn cseq_method(v: &str) -> Result<&str, ParseError> {
    let mut it = v.split_whitespace();
    let (Some(num), Some(method), None) = (it.next(), it.next(), it.next()) else {
        return Err(ParseError::BadHeader("CSeq"));
    };
    parse_scalar(num, (1 << 31) - 1).ok_or(ParseError::BadHeader("CSeq"))?;
    Ok(method)
}

/// `SIP / 2.0 / transport sent-by *(; via-params)`, comma-separated values allowed.
fn check_via(value: &str) -> Result<(), ParseError> {
    let bad = ParseError::BadHeader("Via");
    for item in split_commas(value) {
        let item = item.trim();
        let mut params = item.split(';');
        let head = params.next().unwrap_or("").trim();
        // The protocol part may carry LWS around the slashes (wsinv).
        let mut slash = head.splitn(3, '/');
        let (Some(name), Some(ver), Some(rest)) = (slash.next(), slash.next(), slash.next()) else {
            return Err(bad);
        };
        if !name.trim().eq_ignore_ascii_case("SIP") || ver.trim() != "2.0" {
            return Err(bad);
        }
        let rest = rest.trim_start();
        let transport_end = rest.find([' ', '\t']).ok_or(bad.clone())?;
        let transport = &rest[..transport_end];
        let sent_by = rest[transport_end..].trim();
        if !super::compact::is_token(transport) || sent_by.is_empty() {
            return Err(bad);
        }
        for p in params {
            let p = p.trim();
            let name = p.split('=').next().unwrap_or("").trim();
            if !super::compact::is_token(name) {
                return Err(bad);
            }
        }
    }
    Ok(())
}

/// Split on commas that are outside quotes and angle brackets.
pub fn split_commas(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

fn quotes_balanced(value: &str) -> bool {
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ => {}
        }
    }
    !quoted
}

/// RFC 3261 §19.1.1: no headers in a Request-URI; no brackets or whitespace; a scheme we serve.
fn check_request_uri(uri: &str) -> Result<(), ParseError> {
    if uri.contains(['<', '>', '"']) || uri.contains(char::is_whitespace) {
        return Err(ParseError::RequestUri);
    }
    // `?` may appear in the user part (user-unreserved) but not after the host (headers).
    let host_part = uri.rsplit_once('@').map_or(uri, |(_, host)| host);
    if host_part.contains('?') {
        return Err(ParseError::RequestUri);
    }
    let Some(colon) = uri.find(':') else {
        return Err(ParseError::RequestUri);
    };
    let scheme = &uri[..colon];
    let scheme_ok = !scheme.is_empty()
        && scheme.as_bytes()[0].is_ascii_alphabetic()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return Err(ParseError::RequestUri);
    }
    if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(ParseError::UriScheme(scheme.to_string()));
    }
    Ok(())
}

/// Methods are case-sensitive (RFC 3261 §7.1): `invite` is an unknown method.
fn known_method(m: &str) -> Result<rsip::Method, ParseError> {
    rsip::Method::all()
        .into_iter()
        .find(|k| k.to_string() == m)
        .ok_or_else(|| ParseError::UnknownMethod(m.to_string()))
}

/// The body as Content-Length says (§18.3): a shorter datagram is an error, extra octets are
/// ignored. Without Content-Length (allowed on UDP) the body is the rest of the datagram.
fn body(raw: &RawMessage) -> Result<Vec<u8>, ParseError> {
    match raw.first("Content-Length") {
        None => Ok(raw.body.clone()),
        Some(v) => {
            let len = parse_scalar(v, super::MAX_MESSAGE_BYTES as u64)
                .ok_or(ParseError::BadHeader("Content-Length"))? as usize;
            if len > raw.body.len() {
                return Err(ParseError::Truncated);
            }
            Ok(raw.body[..len].to_vec())
        }
    }
}

/// Content-Length says where this message ends in its buffer.
pub fn consumed(raw: &RawMessage) -> usize {
    match raw
        .first("Content-Length")
        .and_then(|v| parse_scalar(v, u32::MAX as u64))
    {
        Some(len) => (raw.body_offset + len as usize).min(raw.consumed),
        None => raw.consumed,
    }
}

fn headers(raw: &RawMessage) -> rsip::Headers {
    let mut headers = rsip::Headers::default();
    for (name, value) in &raw.headers {
        headers.push(rsip::headers::make_header(name, value.clone()));
    }
    headers
}

fn build_response(raw: &RawMessage) -> Result<rsip::SipMessage, ParseError> {
    let mut parts = raw.start_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(ParseError::StatusLine);
    };
    let reason = parts.next().unwrap_or("").trim();
    check_version(version)?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::StatusLine);
    }
    let code: u16 = code.parse().map_err(|_| ParseError::StatusLine)?;
    if !(100..=699).contains(&code) {
        return Err(ParseError::StatusLine);
    }
    check_headers(raw)?;
    cseq_method(raw.first("CSeq").unwrap_or_default())?;
    let status_code =
        rsip::StatusCode::try_from((code, reason)).map_err(|_| ParseError::StatusLine)?;
    Ok(rsip::SipMessage::Response(rsip::Response {
        status_code,
        wire_reason: None,
        version: rsip::Version::V2,
        headers: headers(raw),
        body: body(raw)?,
    }))
}
