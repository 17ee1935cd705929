//! Digest authentication (RFC 7616 with RFC 8760's SHA-256 for SIP), sans-IO.
//!
//! Challenges offer every configured algorithm (SHA-256 first by default) with `qop="auth"`.
//! Verification does the same hashing work whether the user exists or not and answers an
//! unknown user exactly like a wrong password, so extensions cannot be enumerated. A correct
//! response to an expired (or pre-restart) nonce is `Stale`: the phone gets a new challenge
//! with `stale=true`. The nonce count must increase for each use of a nonce (replays fail).
//!
//! Nonces are bound to the address the challenge went to. A response whose nonce is not ours
//! for its source is answered with a new challenge without looking at the password: no
//! guess is judged (so there is no oracle) and nothing proves the sender could receive at
//! that address, so it must not count against that address either.

pub mod client;
mod header;
mod nonce;

pub use header::{parse as parse_credentials, DigestCredentials, DigestParseError};

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use md5::Md5;
use rand::{rngs::StdRng, Rng, SeedableRng};
use sha2::{Digest, Sha256};

use crate::config::DigestAlgorithm;
use nonce::{NonceCheck, NonceMint};

/// What we know to check a user's credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserCredentials {
    pub password: Option<String>,
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Ok { username: String },
    Stale,
    Failed(AuthFailure),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("malformed credentials: {0}")]
    Malformed(DigestParseError),
    #[error("credentials for another realm")]
    WrongRealm,
    #[error("unsupported digest algorithm or qop")]
    Unsupported,
    /// Wrong password or unknown user: deliberately one outcome.
    #[error("wrong credentials")]
    BadCredentials,
    #[error("nonce count did not increase (replay)")]
    Replay,
}

pub struct Authenticator {
    realm: String,
    algorithms: Vec<DigestAlgorithm>,
    ttl: Duration,
    mint: NonceMint,
    rng: StdRng,
    /// Highest nonce count seen per nonce, until the nonce expires.
    counts: HashMap<String, (u32, Instant)>,
    next_prune: Option<Instant>,
}

impl Authenticator {
    pub fn new(
        now: Instant,
        realm: &str,
        secret: [u8; 32],
        ttl: Duration,
        algorithms: Vec<DigestAlgorithm>,
        seed: u64,
    ) -> Self {
        Authenticator {
            realm: realm.to_string(),
            algorithms,
            ttl,
            mint: NonceMint::new(now, secret),
            rng: StdRng::seed_from_u64(seed),
            counts: HashMap::new(),
            next_prune: None,
        }
    }

    pub fn set_policy(&mut self, ttl: Duration, algorithms: Vec<DigestAlgorithm>) {
        self.ttl = ttl;
        self.algorithms = algorithms;
    }

    /// WWW-Authenticate / Proxy-Authenticate values for a challenge sent to `to`, one per
    /// algorithm, most preferred first.
    pub fn challenge(&mut self, now: Instant, stale: bool, to: IpAddr) -> Vec<String> {
        let nonce = self.mint.issue(now, self.rng.random(), to);
        self.algorithms
            .iter()
            .map(|alg| {
                format!(
                    "Digest realm=\"{}\", nonce=\"{}\", qop=\"auth\", algorithm={}{}",
                    self.realm,
                    nonce,
                    alg_name(*alg),
                    if stale { ", stale=true" } else { "" }
                )
            })
            .collect()
    }

    /// Check credentials that arrived from `source`.
    pub fn verify(
        &mut self,
        now: Instant,
        method: &str,
        header_value: &str,
        source: IpAddr,
        lookup: impl FnOnce(&str) -> Option<UserCredentials>,
    ) -> AuthOutcome {
        let c = match header::parse(header_value) {
            Ok(c) => c,
            Err(e) => return AuthOutcome::Failed(AuthFailure::Malformed(e)),
        };
        if c.realm != self.realm {
            return AuthOutcome::Failed(AuthFailure::WrongRealm);
        }
        let alg = match c.algorithm.as_deref() {
            None => DigestAlgorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("MD5") => DigestAlgorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => DigestAlgorithm::Sha256,
            Some(_) => return AuthOutcome::Failed(AuthFailure::Unsupported),
        };
        let (Some(qop), Some(nc), Some(cnonce)) = (&c.qop, &c.nc, &c.cnonce) else {
            return AuthOutcome::Failed(AuthFailure::Unsupported);
        };
        if !self.algorithms.contains(&alg) || !qop.eq_ignore_ascii_case("auth") {
            return AuthOutcome::Failed(AuthFailure::Unsupported);
        }
        let Some(nc_value) = (nc.len() == 8)
            .then(|| u32::from_str_radix(nc, 16).ok())
            .flatten()
        else {
            return AuthOutcome::Failed(AuthFailure::Malformed(DigestParseError::Syntax));
        };
        // Not issued to this source (or forged): challenge again, judging nothing.
        let (check, expires) = self.mint.check(now, &c.nonce, self.ttl, source);
        let Some(expires) = expires.filter(|_| check != NonceCheck::Foreign) else {
            return AuthOutcome::Stale;
        };
        // Unknown users are hashed against a dummy HA1 so both paths cost the same.
        let user = lookup(&c.username);
        let known_ha1 = user
            .as_ref()
            .and_then(|u| ha1(alg, &c.username, &self.realm, u));
        let ha1_hex = known_ha1
            .clone()
            .unwrap_or_else(|| hash(alg, &format!("{}:{}:\u{0}", c.username, self.realm)));
        let ha2 = hash(alg, &format!("{method}:{}", c.uri));
        let expected = hash(
            alg,
            &format!("{ha1_hex}:{}:{nc}:{cnonce}:{qop}:{ha2}", c.nonce),
        );
        let matches = ct_eq(
            expected.as_bytes(),
            c.response.to_ascii_lowercase().as_bytes(),
        );
        if !matches || known_ha1.is_none() {
            return AuthOutcome::Failed(AuthFailure::BadCredentials);
        }
        if check == NonceCheck::Expired {
            return AuthOutcome::Stale;
        }
        let entry = self.counts.entry(c.nonce.clone()).or_insert((0, expires));
        if nc_value <= entry.0 {
            return AuthOutcome::Failed(AuthFailure::Replay);
        }
        entry.0 = nc_value;
        if self.next_prune.is_none_or(|t| expires < t) {
            self.next_prune = Some(expires);
        }
        AuthOutcome::Ok {
            username: c.username,
        }
    }

    /// Forget nonce counts of expired nonces (they can only be Stale from now on).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_prune.is_some_and(|t| now >= t) {
            self.counts.retain(|_, (_, exp)| *exp > now);
            self.next_prune = self.counts.values().map(|(_, e)| *e).min();
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_prune
    }
}

fn alg_name(a: DigestAlgorithm) -> &'static str {
    match a {
        DigestAlgorithm::Md5 => "MD5",
        DigestAlgorithm::Sha256 => "SHA-256",
    }
}

fn hash(alg: DigestAlgorithm, s: &str) -> String {
    match alg {
        DigestAlgorithm::Md5 => hex::encode(Md5::digest(s.as_bytes())),
        DigestAlgorithm::Sha256 => hex::encode(Sha256::digest(s.as_bytes())),
    }
}

fn ha1(alg: DigestAlgorithm, user: &str, realm: &str, u: &UserCredentials) -> Option<String> {
    if let Some(p) = &u.password {
        return Some(hash(alg, &format!("{user}:{realm}:{p}")));
    }
    match alg {
        DigestAlgorithm::Md5 => u.ha1_md5.clone(),
        DigestAlgorithm::Sha256 => u.ha1_sha256.clone(),
    }
}

/// Constant-time equality for equal-length inputs.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
