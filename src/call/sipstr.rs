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
        assert_eq!(session_expires("1800;refresher=uas"), Some((1800, true)));
        assert_eq!(session_expires("90"), Some((90, false)));
        assert_eq!(without_tag("<sip:a@b>;x=1;tag=9"), "<sip:a@b>;x=1");
        assert_eq!(without_tag("sip:a@b;tag=9"), "sip:a@b");
        assert_eq!(session_expires("x;refresher=uas"), None);
    }
}
