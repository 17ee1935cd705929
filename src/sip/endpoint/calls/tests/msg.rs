//! SIP text as the test's caller and trunk see it: reading what the endpoint sent, and
//! writing responses to it.

use std::time::Instant;

/// One message the endpoint transmitted, and when.
#[derive(Debug, Clone)]
pub struct Msg {
    pub at: Instant,
    pub text: String,
}

impl Msg {
    fn head(&self) -> &str {
        self.text.split("\r\n\r\n").next().unwrap_or("")
    }

    pub fn body(&self) -> &str {
        self.text.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    pub fn status(&self) -> Option<u16> {
        self.text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
    }

    /// The request method (None for a response).
    pub fn method(&self) -> Option<&str> {
        if self.text.starts_with("SIP/2.0") {
            return None;
        }
        self.text.split(' ').next()
    }

    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.head()
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers(name).first().copied()
    }

    /// The method named in CSeq (what a response answers).
    pub fn cseq_method(&self) -> &str {
        self.header("CSeq")
            .and_then(|v| v.split_whitespace().nth(1))
            .unwrap_or("")
    }

    pub fn to_tag(&self) -> Option<String> {
        param(self.header("To")?, "tag")
    }
}

/// A `name=value` or `name="value"` parameter inside a header value.
pub fn param(value: &str, name: &str) -> Option<String> {
    value
        .split([';', ','])
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| {
            // The first parameter follows the scheme ("Digest realm=...").
            n.split_whitespace()
                .last()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

/// A response to `req`: its Via, From, To (with `tag` added if it has none), Call-ID, CSeq.
pub fn respond(req: &Msg, code: u16, tag: &str, extra: &str, body: Option<&str>) -> String {
    let mut text = format!("SIP/2.0 {code} Whatever\r\n");
    for v in req.headers("Via") {
        text.push_str(&format!("Via: {v}\r\n"));
    }
    let to = req.header("To").unwrap_or("");
    let to = if code > 100 && param(to, "tag").is_none() {
        format!("{to};tag={tag}")
    } else {
        to.to_string()
    };
    text.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}",
        req.header("From").unwrap_or(""),
        req.header("Call-ID").unwrap_or(""),
        req.header("CSeq").unwrap_or("")
    ));
    match body {
        Some(b) => text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => text.push_str("Content-Length: 0\r\n\r\n"),
    }
    text
}

/// What each message is, in order ("200", "BYE", ...): for exact assertions.
pub fn kinds(msgs: &[Msg]) -> Vec<String> {
    msgs.iter()
        .map(|m| match m.status() {
            Some(c) => c.to_string(),
            None => m.method().unwrap_or("?").to_string(),
        })
        .collect()
}
