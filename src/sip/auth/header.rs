//! Parsing `Authorization` / `Proxy-Authorization` Digest credentials (RFC 7616 §3.4).

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestParseError {
    #[error("not a Digest credential")]
    NotDigest,
    #[error("malformed parameter list")]
    Syntax,
    #[error("parameter {0} given twice")]
    Duplicate(String),
    #[error("missing parameter {0}")]
    Missing(&'static str),
}

/// The parameters of a Digest credential we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub cnonce: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub opaque: Option<String>,
}

pub fn parse(value: &str) -> Result<DigestCredentials, DigestParseError> {
    let v = value.trim_start();
    let rest = match v.get(..6) {
        Some(s) if s.eq_ignore_ascii_case("digest") => &v[6..],
        _ => return Err(DigestParseError::NotDigest),
    };
    if !rest.starts_with([' ', '\t']) {
        return Err(DigestParseError::NotDigest);
    }
    let params = params(rest)?;
    let take = |name: &'static str| {
        params
            .get(name)
            .cloned()
            .ok_or(DigestParseError::Missing(name))
    };
    Ok(DigestCredentials {
        username: take("username")?,
        realm: take("realm")?,
        nonce: take("nonce")?,
        uri: take("uri")?,
        response: take("response")?,
        algorithm: params.get("algorithm").cloned(),
        cnonce: params.get("cnonce").cloned(),
        qop: params.get("qop").cloned(),
        nc: params.get("nc").cloned(),
        opaque: params.get("opaque").cloned(),
    })
}

/// `name = token / quoted-string` pairs separated by commas; names are case-insensitive.
pub(super) fn params(s: &str) -> Result<HashMap<String, String>, DigestParseError> {
    let mut out = HashMap::new();
    let b = s.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\r' | b'\n') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b"-_.".contains(&b[i])) {
            i += 1;
        }
        if start == i {
            return Err(DigestParseError::Syntax);
        }
        let name = s[start..i].to_ascii_lowercase();
        skip_ws(&mut i);
        if i >= b.len() || b[i] != b'=' {
            return Err(DigestParseError::Syntax);
        }
        i += 1;
        skip_ws(&mut i);
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = String::new();
            let mut closed = false;
            let mut chars = s[i..].char_indices();
            while let Some((off, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, e)) => v.push(e),
                        None => return Err(DigestParseError::Syntax),
                    },
                    '"' => {
                        i += off + 1;
                        closed = true;
                        break;
                    }
                    _ => v.push(c),
                }
            }
            if !closed {
                return Err(DigestParseError::Syntax);
            }
            v
        } else {
            let vs = i;
            while i < b.len() && !matches!(b[i], b',' | b' ' | b'\t' | b'"') {
                i += 1;
            }
            if vs == i {
                return Err(DigestParseError::Syntax);
            }
            s[vs..i].to_string()
        };
        if out.insert(name.clone(), value).is_some() {
            return Err(DigestParseError::Duplicate(name));
        }
        skip_ws(&mut i);
        if i < b.len() {
            if b[i] != b',' {
                return Err(DigestParseError::Syntax);
            }
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_token_values() {
        let c = parse(r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#).unwrap();
        assert_eq!(c.username, "Mufasa");
        assert_eq!(c.algorithm.as_deref(), Some("SHA-256"));
        assert_eq!(c.nc.as_deref(), Some("00000001"));
        assert_eq!(c.qop.as_deref(), Some("auth"));
    }

    #[test]
    fn escapes_case_and_whitespace() {
        let c = parse(
            "digest  USERNAME = \"a\\\"b\" ,realm=\"r\",nonce=\"n\",uri=\"sip:x\",response=\"00\"",
        )
        .unwrap();
        assert_eq!(c.username, "a\"b");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse("Basic abc"), Err(DigestParseError::NotDigest));
        assert_eq!(
            parse("Digestusername=\"a\""),
            Err(DigestParseError::NotDigest)
        );
        assert_eq!(parse("Digest username=\"a"), Err(DigestParseError::Syntax));
        assert_eq!(
            parse("Digest username=a, username=b"),
            Err(DigestParseError::Duplicate("username".into()))
        );
        assert_eq!(
            parse("Digest realm=\"r\""),
            Err(DigestParseError::Missing("username"))
        );
        assert_eq!(parse("Digest =x"), Err(DigestParseError::Syntax));
        assert_eq!(parse(""), Err(DigestParseError::NotDigest));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn builder_output_round_trips(user in "[a-zA-Z0-9\"\\\\ ]{1,20}", nonce in "[a-zA-Z0-9+/=]{1,40}") {
            let esc = user.replace('\\', "\\\\").replace('"', "\\\"");
            let v = format!("Digest username=\"{esc}\", realm=\"r\", nonce=\"{nonce}\", uri=\"sip:a\", response=\"ff\", qop=auth, nc=00000001, cnonce=\"c\"");
            let c = parse(&v).unwrap();
            proptest::prop_assert_eq!(c.username, user);
            proptest::prop_assert_eq!(c.nonce, nonce);
        }
    }
}
