//! Small readers for header values the B2BUA needs (tags, URIs, users), on the raw text.

/// The value of parameter `name` after the URI part of a name-addr/header value.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let params = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value.split_once(';').map_or("", |(_, p)| p),
    };
    params.split(';').find_map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub fn tag(value: &str) -> Option<&str> {
    param(value, "tag").filter(|t| !t.is_empty())
}

/// The URI of a name-addr (`"Bob" <sip:b@h>;tag=1` → `sip:b@h`) or addr-spec (params cut).
pub fn uri(value: &str) -> &str {
    let v = value.trim();
    if let (Some(a), Some(b)) = (v.find('<'), v.find('>')) {
        if a < b {
            return v[a + 1..b].trim();
        }
    }
    v.split(';').next().unwrap_or(v).trim()
}

/// The user part of a sip:/sips:/tel: URI, without URI parameters (`sip:1001;x@h` → `1001`).
pub fn user(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("tel:"))?;
    let user = match rest.find('@') {
        Some(i) => &rest[..i],
        None if uri.starts_with("tel:") => rest,
        None => return None,
    };
    let user = user.split([';', ':']).next().unwrap_or(user);
    (!user.is_empty()).then_some(user)
}

/// The display name of a name-addr, unquoted.
pub fn display_name(value: &str) -> Option<&str> {
    let v = value.trim();
    let lt = v.find('<')?;
    let name = v[..lt].trim().trim_matches('"').trim();
    (!name.is_empty()).then_some(name)
}

/// A Session-Expires value (RFC 4028): the interval, and whether the refresher is the UAS.
pub fn session_expires(value: &str) -> Option<(u32, bool)> {
    let secs = value.split(';').next()?.trim().parse().ok()?;
    let uas = param(value, "refresher").is_some_and(|r| r.eq_ignore_ascii_case("uas"));
    Some((secs, uas))
}

/// Longest dial string routed (E.164 is 15 digits; extensions and feature codes are short).
pub const MAX_DIAL: usize = 64;

/// Why a Request-URI's user part is not a dial string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialStringError {
    #[error("malformed %-escape in the user part")]
    BadEscape,
    #[error("the user part is not UTF-8 once decoded")]
    NotUtf8,
    #[error("{0:?} cannot be dialled")]
    Forbidden(char),
    #[error("longer than {MAX_DIAL} characters")]
    TooLong,
}

impl DialStringError {
    /// The SIP answer: a broken escape is a malformed URI (400); a well-formed string that no
    /// dial plan entry can match is not found (404).
    pub fn code(&self) -> u16 {
        match self {
            DialStringError::BadEscape | DialStringError::NotUtf8 => 400,
            DialStringError::Forbidden(_) | DialStringError::TooLong => 404,
        }
    }
}

/// RFC 3261 §19.1.2: a user part may carry %HH escapes, which mean the character itself
/// (`%30%30` is `00`). Decoded before anything matches, so what routes is what was asked.
pub fn percent_decode(s: &str) -> Result<String, DialStringError> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(DialStringError::BadEscape)?;
            let hex = std::str::from_utf8(hex).map_err(|_| DialStringError::BadEscape)?;
            let b = u8::from_str_radix(hex, 16).map_err(|_| DialStringError::BadEscape)?;
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| DialStringError::NotUtf8)
}

/// What a caller dialled, exactly: decoded, and refused rather than altered when it holds a
/// character no extension, feature code or route pattern can contain (dropping characters
/// would route a number the caller did not ask for).
pub fn dial_string(user: &str) -> Result<String, DialStringError> {
    let decoded = percent_decode(user)?;
    if let Some(c) = decoded
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+-_.*#".contains(*c)))
    {
        return Err(DialStringError::Forbidden(c));
    }
    if decoded.len() > MAX_DIAL {
        return Err(DialStringError::TooLong);
    }
    Ok(decoded)
}

/// A caller's number (From, P-Asserted-Identity) for display, blocking and CDRs: decoded
/// when the escapes are sound, then sanitized. Never refuses: a strange caller ID is shown
/// as best we can, not a reason to drop the call.
pub fn number(user: &str) -> String {
    sanitize(&percent_decode(user).unwrap_or_else(|_| user.to_string()))
}

/// Characters safe in a quoted display name and user part we generate.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || " +-_.*#".contains(*c))
        .take(64)
        .collect()
}

/// A From/To value without its tag parameter.
pub fn without_tag(value: &str) -> String {
    let v = value.trim();
    let (head, params) = match v.rfind('>') {
        Some(i) => (&v[..=i], &v[i + 1..]),
        None => match v.find(';') {
            Some(i) => (&v[..i], &v[i..]),
            None => (v, ""),
        },
    };
    let kept: String = params
        .split(';')
        .filter(|p| !p.trim().is_empty() && !p.trim().to_ascii_lowercase().starts_with("tag="))
        .map(|p| format!(";{}", p.trim()))
        .collect();
    format!("{head}{kept}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_addrs() {
        let v = "\"Alice A\" <sip:1001@example.com;transport=udp>;tag=abc";
        assert_eq!(tag(v), Some("abc"));
        assert_eq!(uri(v), "sip:1001@example.com;transport=udp");
        assert_eq!(user(uri(v)), Some("1001"));
        assert_eq!(display_name(v), Some("Alice A"));
        assert_eq!(tag("sip:a@b;tag=x"), Some("x"));
        assert_eq!(uri("sip:a@b;tag=x"), "sip:a@b");
        assert_eq!(user("tel:+15551234;phone-context=x"), Some("+15551234"));
        assert_eq!(tag("<sip:a@b>"), None);
        assert_eq!(sanitize("Ev\"il\r\n<x>"), "Evilx");
    }

    #[test]
    fn dial_strings_are_decoded_not_mangled() {
        assert_eq!(dial_string("%30%30442071234567").unwrap(), "00442071234567");
        assert_eq!(dial_string("%2B15551230001").unwrap(), "+15551230001");
        assert_eq!(dial_string("*71").unwrap(), "*71");
        assert_eq!(dial_string("1001").unwrap(), "1001");
        assert_eq!(dial_string("%3").unwrap_err(), DialStringError::BadEscape);
        assert_eq!(dial_string("%zz1").unwrap_err(), DialStringError::BadEscape);
        assert_eq!(dial_string("%ff").unwrap_err(), DialStringError::NotUtf8);
        assert_eq!(
            dial_string("0%2044").unwrap_err(),
            DialStringError::Forbidden(' ')
        );
        assert_eq!(
            dial_string("0(44)").unwrap_err(),
            DialStringError::Forbidden('(')
        );
        assert_eq!(
            dial_string(&"1".repeat(65)).unwrap_err(),
            DialStringError::TooLong
        );
        assert_eq!(DialStringError::BadEscape.code(), 400);
        assert_eq!(DialStringError::Forbidden('x').code(), 404);
        // Caller numbers are decoded too, so a block on +1555... cannot be escaped around.
        assert_eq!(number("%2B15550001"), "+15550001");
        assert_eq!(number("%zz1"), "zz1");
        assert_eq!(session_expires("1800;refresher=uas"), Some((1800, true)));
        assert_eq!(session_expires("90"), Some((90, false)));
        assert_eq!(without_tag("<sip:a@b>;x=1;tag=9"), "<sip:a@b>;x=1");
        assert_eq!(without_tag("sip:a@b;tag=9"), "sip:a@b");
        assert_eq!(session_expires("x;refresher=uas"), None);
    }
}
