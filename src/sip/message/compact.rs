//! Header names: compact forms (RFC 3261 §7.3.3 and later RFCs) and canonical spelling.

/// The canonical name for a header as written on the wire (compact forms expanded, known
/// names in their usual case), so later code compares one spelling.
pub fn canonical(name: &str) -> String {
    if name.len() == 1 {
        let full = match name.as_bytes()[0].to_ascii_lowercase() {
            b'a' => "Accept-Contact",
            b'b' => "Referred-By",
            b'c' => "Content-Type",
            b'd' => "Request-Disposition",
            b'e' => "Content-Encoding",
            b'f' => "From",
            b'i' => "Call-ID",
            b'j' => "Reject-Contact",
            b'k' => "Supported",
            b'l' => "Content-Length",
            b'm' => "Contact",
            b'o' => "Event",
            b'r' => "Refer-To",
            b's' => "Subject",
            b't' => "To",
            b'u' => "Allow-Events",
            b'v' => "Via",
            b'x' => "Session-Expires",
            b'y' => "Identity",
            _ => return name.to_string(),
        };
        return full.to_string();
    }
    for known in KNOWN {
        if known.eq_ignore_ascii_case(name) {
            return (*known).to_string();
        }
    }
    name.to_string()
}

const KNOWN: &[&str] = &[
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Authorization",
    "Proxy-Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Require",
    "Proxy-Require",
    "Supported",
    "Accept",
    "Allow",
    "Route",
    "Record-Route",
    "User-Agent",
    "Date",
];

/// A header name is an RFC 3261 token.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_compact_forms_and_normalizes_case() {
        assert_eq!(canonical("v"), "Via");
        assert_eq!(canonical("I"), "Call-ID");
        assert_eq!(canonical("l"), "Content-Length");
        assert_eq!(canonical("call-id"), "Call-ID");
        assert_eq!(canonical("CSEQ"), "CSeq");
        assert_eq!(canonical("X-Custom"), "X-Custom");
        assert_eq!(canonical("z"), "z");
    }

    #[test]
    fn token_rules() {
        assert!(is_token("Via"));
        assert!(is_token("X-Foo.bar~"));
        assert!(!is_token("Via "));
        assert!(!is_token(""));
        assert!(!is_token("a:b"));
    }
}
