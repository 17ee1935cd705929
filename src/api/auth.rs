//! Bearer tokens with scopes, from `[api] tokens`. Tokens are looked up by their SHA-256, so
//! a lookup's timing says nothing about how close a guess was. Every request without a valid
//! token counts against its source address (`shield`): enough of them ban the source.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use super::shield::Shield;
use crate::config::{ApiScope, ApiToken};

#[derive(Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Vec<ApiScope>>,
    /// Counts failures and bans per source (None: unguarded, e.g. in unit tests).
    shield: Option<Arc<Shield>>,
}

impl std::fmt::Debug for Tokens {
    // Hashes only, but there is nothing to learn from them in a log either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("tokens", &self.by_hash.len())
            .finish_non_exhaustive()
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthError {
    Missing,
    Malformed,
    Unknown,
}

impl AuthError {
    /// For the security log: how the request failed, never what it carried.
    fn reason(self) -> &'static str {
        match self {
            AuthError::Missing => "no authorization metadata",
            AuthError::Malformed => "authorization is not `Bearer <token>`",
            AuthError::Unknown => "unknown token",
        }
    }

    fn status(self) -> Status {
        Status::unauthenticated(match self {
            AuthError::Missing => {
                "missing `authorization: Bearer <token>` metadata (tokens are in [api] tokens)"
            }
            AuthError::Malformed => "`authorization` metadata must be `Bearer <token>`",
            AuthError::Unknown => "unknown API token",
        })
    }
}

impl Tokens {
    pub fn new(tokens: &[ApiToken]) -> Tokens {
        Tokens {
            by_hash: tokens
                .iter()
                .map(|t| (hash(&t.token), t.scopes.clone()))
                .collect(),
            shield: None,
        }
    }

    /// Count failures per source in `shield` and refuse its banned sources.
    pub(super) fn guarded(self, shield: Arc<Shield>) -> Tokens {
        Tokens {
            shield: Some(shield),
            ..self
        }
    }

    fn scopes<T>(&self, req: &Request<T>) -> Result<&[ApiScope], AuthError> {
        let value = req
            .metadata()
            .get("authorization")
            .ok_or(AuthError::Missing)?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or(AuthError::Malformed)?;
        self.by_hash
            .get(&hash(token.trim()))
            .map(Vec::as_slice)
            .ok_or(AuthError::Unknown)
    }

    /// The request must carry `authorization: Bearer <token>` for a token with `need` (or
    /// `admin`), and not come from a banned source.
    pub fn check<T>(&self, req: &Request<T>, need: ApiScope) -> Result<(), Status> {
        // tonic knows the peer on every connection our accept loop hands it (`conn`).
        let guard = self
            .shield
            .as_deref()
            .zip(req.remote_addr().map(|a| a.ip().to_canonical()));
        if let Some((shield, ip)) = guard {
            if shield.is_banned(ip) {
                return Err(Status::permission_denied(
                    "this address is banned for a while after repeated invalid API tokens \
                     ([api.security] ban_secs)",
                ));
            }
        }
        let scopes = self.scopes(req).inspect_err(|e| {
            if let Some((shield, ip)) = guard {
                shield.record_failure(ip, e.reason());
            }
        });
        let scopes = scopes.map_err(AuthError::status)?;
        if scopes.iter().any(|s| *s == need || *s == ApiScope::Admin) {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "this token lacks the `{}` scope this call needs",
                need.name()
            )))
        }
    }
}
