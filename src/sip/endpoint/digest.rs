//! Digest authentication of a request (REGISTER with `Authorization`, INVITE with
//! `Proxy-Authorization`): one path, so failures count the same towards bans everywhere.

use std::net::IpAddr;
use std::time::Instant;

use super::{Endpoint, Output, SecurityEvent};
use crate::sip::auth::{AuthFailure, AuthOutcome};
use crate::sip::message::header_values;
use crate::sip::ratelimit::BanReason;
use crate::sip::{rsip, Peer, TransportKind};

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
        let ip = source.addr.ip();
        let user = crate::sip::auth::parse_credentials(&credentials)
            .ok()
            .map(|c| c.username);
        // A user banned from this source is refused before any hashing (its guesses stop
        // counting: the ban already says enough).
        if let Some(u) = &user {
            if self.limiter.user_banned(now, ip, u) {
                return Authn::Refused;
            }
        }
        let users = &self.cfg.users;
        let method = req.method.to_string();
        match self
            .auth
            .verify(now, &method, &credentials, ip, |u| users.get(u).cloned())
        {
            AuthOutcome::Ok { username } => Authn::User(username),
            AuthOutcome::Stale => Authn::Challenge { stale: true },
            AuthOutcome::Failed(why) => {
                let counted = counts_against_source(&why, source);
                self.out
                    .push_back(Output::Security(SecurityEvent::AuthFailed {
                        ip,
                        user: user.clone(),
                        reason: if counted {
                            why.to_string()
                        } else {
                            format!("{why} (not counted towards a ban: source unproven)")
                        },
                    }));
                if counted {
                    if let Some(reason) = self.limiter.auth_failed(now, ip, user.as_deref()) {
                        let event = match reason {
                            BanReason::UserAuthFailures => SecurityEvent::UserBanned {
                                ip,
                                user: user.unwrap_or_default(),
                            },
                            _ => SecurityEvent::Banned {
                                ip,
                                reason: format!("{reason:?}"),
                                until: self.limiter.banned_until(now, ip).unwrap_or(now),
                            },
                        };
                        self.out.push_back(Output::Security(event));
                    }
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
        to: IpAddr,
    ) -> Vec<(&'static str, String)> {
        self.auth
            .challenge(now, stale, to)
            .into_iter()
            .map(|c| (header, c))
            .collect()
    }
}

/// Whether a failure could only have come from its source address, so that counting it
/// cannot let a spoofer lock that address out. A wrong password against a nonce we issued to
/// that address proves it (the sender received our challenge there); over a connection the
/// handshake proves it. A replay repeats credentials that were right once: never a guess.
fn counts_against_source(why: &AuthFailure, source: Peer) -> bool {
    match why {
        AuthFailure::BadCredentials => true,
        AuthFailure::Replay => false,
        AuthFailure::Malformed(_) | AuthFailure::WrongRealm | AuthFailure::Unsupported => {
            source.transport != TransportKind::Udp
        }
    }
}
