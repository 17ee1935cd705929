//! Digest authentication of a request (REGISTER with `Authorization`, INVITE with
//! `Proxy-Authorization`): one path, so failures count the same towards bans everywhere.

use std::time::Instant;

use super::{Endpoint, Output, SecurityEvent};
use crate::sip::auth::AuthOutcome;
use crate::sip::message::header_values;
use crate::sip::{rsip, Peer};

pub(super) enum Authn {
    User(String),
    /// No usable credentials, or a stale nonce: challenge (again).
    Challenge {
        stale: bool,
    },
    /// Wrong password, unknown user or replay (already logged and counted): answer 403,
    /// the same for all, so nothing tells an attacker which extensions exist.
    Refused,
}

impl Endpoint {
    pub(super) fn authenticate(
        &mut self,
        now: Instant,
        req: &rsip::Request,
        header: &str,
        source: Peer,
    ) -> Authn {
        // RFC 4475 regaut01: credentials in a scheme we do not know count as none.
        let credentials = header_values(&req.headers, header)
            .find(|v| {
                v.trim_start()
                    .get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case("digest"))
            })
            .map(str::to_string);
        let Some(credentials) = credentials else {
            return Authn::Challenge { stale: false };
        };
        let users = &self.cfg.users;
        let method = req.method.to_string();
        match self
            .auth
            .verify(now, &method, &credentials, |u| users.get(u).cloned())
        {
            AuthOutcome::Ok { username } => Authn::User(username),
            AuthOutcome::Stale => Authn::Challenge { stale: true },
            AuthOutcome::Failed(why) => {
                let ip = source.addr.ip();
                self.out
                    .push_back(Output::Security(SecurityEvent::AuthFailed {
                        ip,
                        user: crate::sip::auth::parse_credentials(&credentials)
                            .ok()
                            .map(|c| c.username),
                        reason: why.to_string(),
                    }));
                if let Some(reason) = self.limiter.auth_failed(now, ip) {
                    self.out.push_back(Output::Security(SecurityEvent::Banned {
                        ip,
                        reason: format!("{reason:?}"),
                        until: now + self.cfg.rate_limit.ban,
                    }));
                }
                Authn::Refused
            }
        }
    }

    /// Challenge values for a 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`).
    pub(super) fn challenges(
        &mut self,
        now: Instant,
        stale: bool,
        header: &'static str,
    ) -> Vec<(&'static str, String)> {
        self.auth
            .challenge(now, stale)
            .into_iter()
            .map(|c| (header, c))
            .collect()
    }
}
