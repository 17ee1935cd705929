//! Building responses to requests (RFC 3261 §8.2.6).

use super::raw::RawContext;
use crate::sip::rsip;

/// A response to `req` copying Via, From, To, Call-ID and CSeq; a To tag is added when the
/// request had none and the response is not 100 (§8.2.6.2).
pub fn response_to(req: &rsip::Request, code: u16, to_tag: Option<&str>) -> rsip::Response {
    let mut headers = rsip::Headers::default();
    for h in req.headers.iter() {
        match h {
            rsip::Header::Via(_)
            | rsip::Header::From(_)
            | rsip::Header::CallId(_)
            | rsip::Header::CSeq(_) => headers.push(h.clone()),
            rsip::Header::To(to) => {
                let value = to.value().to_string();
                headers.push(rsip::Header::To(rsip::To::new(with_tag(
                    &value, code, to_tag,
                ))));
            }
            _ => {}
        }
    }
    let status_code = rsip::StatusCode::from(code);
    rsip::Response {
        status_code,
        wire_reason: None,
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

fn with_tag(to: &str, code: u16, tag: Option<&str>) -> String {
    match tag {
        Some(tag) if code > 100 && !has_tag(to) => format!("{to};tag={tag}"),
        _ => to.to_string(),
    }
}

/// Whether a From/To value carries a tag parameter (outside the URI's angle brackets).
pub fn has_tag(value: &str) -> bool {
    let params = match value.rfind('>') {
        Some(i) => &value[i..],
        None => value,
    };
    params.split(';').skip(1).any(|p| {
        p.trim()
            .split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("tag"))
    })
}

/// A stateless response built from the raw header lines of a request we could not model
/// (bad syntax, unknown method, unknown URI scheme). Returned as wire bytes.
pub fn response_from_raw(
    ctx: &RawContext,
    code: u16,
    reason: &str,
    extra: &[(&str, String)],
    to_tag: &str,
) -> Vec<u8> {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for via in &ctx.vias {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    if let Some(from) = &ctx.from {
        out.push_str(&format!("From: {from}\r\n"));
    }
    if let Some(to) = &ctx.to {
        out.push_str(&format!("To: {}\r\n", with_tag(to, code, Some(to_tag))));
    }
    if let Some(call_id) = &ctx.call_id {
        out.push_str(&format!("Call-ID: {call_id}\r\n"));
    }
    if let Some(cseq) = &ctx.cseq {
        out.push_str(&format!("CSeq: {cseq}\r\n"));
    }
    for (name, value) in extra {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_detection_ignores_uri_params() {
        assert!(has_tag("<sip:a@b>;tag=1"));
        assert!(!has_tag("<sip:a@b;tag=1>"));
        assert!(has_tag("sip:a@b;TAG=1"));
        assert!(!has_tag("sip:a@b"));
    }

    #[test]
    fn raw_response_copies_headers_and_adds_tag() {
        let ctx = RawContext {
            vias: vec![
                "SIP/2.0/UDP a;branch=z9hG4bK1".into(),
                "SIP/2.0/UDP b".into(),
            ],
            from: Some("<sip:x@y>;tag=9".into()),
            to: Some("<sip:u@v>".into()),
            call_id: Some("c1".into()),
            cseq: Some("1 FOO".into()),
        };
        let text =
            String::from_utf8(response_from_raw(&ctx, 501, "Not Implemented", &[], "t1")).unwrap();
        assert!(text.starts_with("SIP/2.0 501 Not Implemented\r\n"));
        assert!(text.contains("Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b\r\n"));
        assert!(text.contains("To: <sip:u@v>;tag=t1\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    }
}
