//! Transaction matching (RFC 3261 §17.1.3 and §17.2.3, with the RFC 2543 fallback).

use std::sync::Arc;

use crate::sip::message::header_value;
use crate::sip::rsip;

const MAGIC_COOKIE: &str = "z9hG4bK";

/// Identifies one transaction. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxKey(pub(crate) Arc<str>);

impl std::fmt::Display for TxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no Via header")]
    NoVia,
    #[error("no branch on the top Via")]
    NoBranch,
    #[error("no CSeq header")]
    NoCSeq,
}

/// The top Via value, its branch and its sent-by.
fn top_via(headers: &rsip::Headers) -> Result<(&str, Option<&str>, &str), KeyError> {
    let via = header_value(headers, "Via").ok_or(KeyError::NoVia)?;
    let via = via.split(',').next().unwrap_or(via);
    let mut parts = via.split(';');
    let head = parts.next().unwrap_or("");
    let sent_by = head.trim().rsplit([' ', '\t']).next().unwrap_or("").trim();
    let branch = parts.find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim().eq_ignore_ascii_case("branch").then(|| v.trim())
    });
    Ok((via.trim(), branch.filter(|b| !b.is_empty()), sent_by))
}

fn cseq(headers: &rsip::Headers) -> Result<(&str, &str), KeyError> {
    let v = header_value(headers, "CSeq").ok_or(KeyError::NoCSeq)?;
    let mut it = v.split_whitespace();
    match (it.next(), it.next()) {
        (Some(n), Some(m)) => Ok((n, m)),
        _ => Err(KeyError::NoCSeq),
    }
}

fn tag(value: Option<&str>) -> &str {
    let Some(v) = value else { return "" };
    let params = v.rfind('>').map_or(v, |i| &v[i..]);
    params
        .split(';')
        .skip(1)
        .find_map(|p| {
            let (n, t) = p.split_once('=')?;
            n.trim().eq_ignore_ascii_case("tag").then(|| t.trim())
        })
        .unwrap_or("")
}

/// The server transaction a request belongs to. ACK maps to its INVITE's transaction.
pub fn server_key(req: &rsip::Request) -> Result<TxKey, KeyError> {
    server_key_as(req, &req.method)
}

/// The key `req` would have if its method were `method` (CANCEL → INVITE lookup, §9.2).
pub fn server_key_as(req: &rsip::Request, method: &rsip::Method) -> Result<TxKey, KeyError> {
    let m = match method {
        rsip::Method::Ack => "INVITE".to_string(),
        other => other.to_string(),
    };
    let (via, branch, sent_by) = top_via(&req.headers)?;
    if let Some(b) = branch.filter(|b| b.starts_with(MAGIC_COOKIE)) {
        return Ok(TxKey(
            format!("s|{b}|{}|{m}", sent_by.to_ascii_lowercase()).into(),
        ));
    }
    // RFC 2543 peers: match on Request-URI, From tag, Call-ID, CSeq number and top Via. The To
    // tag is left out because an ACK carries the tag of our response, which the INVITE lacked.
    let (num, _) = cseq(&req.headers)?;
    let call_id = header_value(&req.headers, "Call-ID").unwrap_or("");
    let from_tag = tag(header_value(&req.headers, "From"));
    Ok(TxKey(
        format!("s2543|{}|{from_tag}|{call_id}|{num}|{m}|{via}", req.uri).into(),
    ))
}

/// The client transaction a response belongs to: branch + CSeq method.
pub fn client_key_of_response(resp: &rsip::Response) -> Result<TxKey, KeyError> {
    let (_, branch, _) = top_via(&resp.headers)?;
    let (_, method) = cseq(&resp.headers)?;
    Ok(TxKey(
        format!("c|{}|{method}", branch.ok_or(KeyError::NoBranch)?).into(),
    ))
}

/// The key of a client transaction we start for `req`.
pub fn client_key_of_request(req: &rsip::Request) -> Result<TxKey, KeyError> {
    let (_, branch, _) = top_via(&req.headers)?;
    Ok(TxKey(
        format!("c|{}|{}", branch.ok_or(KeyError::NoBranch)?, req.method).into(),
    ))
}
