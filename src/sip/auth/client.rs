//! The client side of digest (RFC 7616 / RFC 2617): answering a carrier's 401/407 when we
//! register to it or call through it.

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// `Authorization`/`Proxy-Authorization` value answering `challenge` (a WWW-/Proxy-
/// Authenticate value). None if the challenge is not a Digest we can answer.
pub fn answer(
    challenge: &str,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Option<String> {
    let v = challenge.trim_start();
    let rest = v
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("digest"))
        .map(|_| &v[6..])?;
    let p = super::header::params(rest).ok()?;
    let realm = p.get("realm")?;
    let nonce = p.get("nonce")?;
    let algorithm = p
        .get("algorithm")
        .map(|a| a.to_ascii_uppercase())
        .unwrap_or_else(|| "MD5".into());
    let hash: fn(&str) -> String = match algorithm.as_str() {
        "MD5" => |s| hex::encode(Md5::digest(s.as_bytes())),
        "SHA-256" => |s| hex::encode(Sha256::digest(s.as_bytes())),
        _ => return None,
    };
    let ha1 = hash(&format!("{username}:{realm}:{password}"));
    let ha2 = hash(&format!("{method}:{uri}"));
    let qop_auth = p
        .get("qop")
        .is_some_and(|q| q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth")));
    let nc = format!("{nc:08x}");
    let (response, qop_part) = if qop_auth {
        (
            hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
            format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""),
        )
    } else {
        (hash(&format!("{ha1}:{nonce}:{ha2}")), String::new())
    };
    let opaque = p
        .get("opaque")
        .map(|o| format!(", opaque=\"{o}\""))
        .unwrap_or_default();
    Some(format!(
        "Digest username=\"{username}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm={algorithm}{qop_part}{opaque}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_without_qop_and_with() {
        // RFC 2617 §3.5 values, qop=auth.
        let ch = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let a = answer(
            ch,
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "0a4f113b",
            1,
        )
        .unwrap();
        assert!(
            a.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{a}"
        );
        assert!(a.contains("nc=00000001"));
        let plain = r#"Digest realm="r", nonce="n""#;
        assert!(answer(plain, "REGISTER", "sip:x", "u", "p", "c", 1)
            .unwrap()
            .contains("algorithm=MD5"));
        assert!(answer("Basic realm=\"x\"", "GET", "/", "u", "p", "c", 1).is_none());
    }
}
