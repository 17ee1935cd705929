//! Bearer tokens with scopes, from `[api] tokens`. Tokens are looked up by their SHA-256, so
//! a lookup's timing says nothing about how close a guess was.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use crate::config::{ApiScope, ApiToken};

#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Vec<ApiScope>>,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    pub fn new(tokens: &[ApiToken]) -> Tokens {
        Tokens {
            by_hash: tokens
                .iter()
                .map(|t| (hash(&t.token), t.scopes.clone()))
                .collect(),
        }
    }

    /// The request must carry `authorization: Bearer <token>` for a token with `need` (or
    /// `admin`).
    pub fn check<T>(&self, req: &Request<T>, need: ApiScope) -> Result<(), Status> {
        let Some(value) = req.metadata().get("authorization") else {
            return Err(Status::unauthenticated(
                "missing `authorization: Bearer <token>` metadata (tokens are in [api] tokens)",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                Status::unauthenticated("`authorization` metadata must be `Bearer <token>`")
            })?;
        let scopes = self
            .by_hash
            .get(&hash(token.trim()))
            .ok_or_else(|| Status::unauthenticated("unknown API token"))?;
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
