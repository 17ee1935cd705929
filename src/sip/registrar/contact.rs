//! Contact header values as the registrar needs them.

/// One Contact value: the URI as sent, and the header parameters after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactValue {
    pub uri: String,
    pub expires: Option<u32>,
    pub instance: Option<String>,
}

/// `*`, or a name-addr / addr-spec with parameters. Returns None for `*`.
pub fn parse(value: &str) -> Result<Option<ContactValue>, &'static str> {
    let v = value.trim();
    if v == "*" {
        return Ok(None);
    }
    let open = v.find('<');
    let close = open.and_then(|o| v[o..].find('>').map(|c| o + c));
    let (uri, params) = match (open, close) {
        (Some(open), Some(close)) => (&v[open + 1..close], &v[close + 1..]),
        (None, _) if !v.contains('>') => match v.find(';') {
            Some(i) => (&v[..i], &v[i..]),
            None => (v, ""),
        },
        _ => return Err("unbalanced <> in Contact"),
    };
    let uri = uri.trim();
    if uri.is_empty() || !uri.contains(':') || uri.contains(char::is_whitespace) {
        return Err("bad Contact URI");
    }
    let mut c = ContactValue {
        uri: uri.to_string(),
        expires: None,
        instance: None,
    };
    for p in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, val) = p
            .split_once('=')
            .map_or((p, ""), |(n, v)| (n.trim(), v.trim()));
        if name.eq_ignore_ascii_case("expires") {
            c.expires = Some(val.parse().map_err(|_| "bad expires parameter")?);
        } else if name.eq_ignore_ascii_case("+sip.instance") {
            c.instance = Some(val.trim_matches('"').to_string());
        }
    }
    Ok(Some(c))
}

/// The user part and host of a From/To value's URI.
pub fn user_and_host(value: &str) -> Option<(String, String)> {
    let v = value.trim();
    let uri = match (v.find('<'), v.rfind('>')) {
        (Some(o), Some(c)) if o < c => &v[o + 1..c],
        _ => v.split(';').next().unwrap_or(""),
    };
    let rest = uri.split_once(':')?.1;
    let rest = rest.split([';', '?']).next()?;
    let (user, host) = rest.rsplit_once('@')?;
    let user = user.split(':').next()?;
    Some((user.to_string(), host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_contacts() {
        assert_eq!(parse("*"), Ok(None));
        let c = parse("\"A\" <sip:1001@192.0.2.1:5060;transport=tcp>;expires=60;+sip.instance=\"<urn:uuid:1>\"").unwrap().unwrap();
        assert_eq!(c.uri, "sip:1001@192.0.2.1:5060;transport=tcp");
        assert_eq!(c.expires, Some(60));
        assert_eq!(c.instance.as_deref(), Some("<urn:uuid:1>"));
        let c = parse("sip:u@h;expires=5").unwrap().unwrap();
        assert_eq!((c.uri.as_str(), c.expires), ("sip:u@h", Some(5)));
        assert!(parse("<sip:u@h").is_err());
        assert!(parse("<sip:u@h>;expires=soon").is_err());
    }

    #[test]
    fn user_and_host_of_addresses() {
        assert_eq!(
            user_and_host("\"Bob\" <sip:1002@Example.COM;x=y>;tag=1"),
            Some(("1002".into(), "example.com".into()))
        );
        assert_eq!(
            user_and_host("sip:1002@[::1]:5060;tag=1"),
            Some(("1002".into(), "[::1]:5060".into()))
        );
        assert_eq!(user_and_host("<sip:example.com>"), None);
    }
}
