//! REGISTER: digest authentication, then the registrar, then write-through to the store.

use std::time::Instant;

use super::{Endpoint, Output, Parked, SecurityEvent};
use crate::sip::auth::AuthOutcome;
use crate::sip::message::header_values;
use crate::sip::rsip;
use crate::sip::transaction::TxKey;
use crate::sip::Peer;

impl Endpoint {
    pub(super) fn handle_register(
        &mut self,
        now: Instant,
        key: TxKey,
        req: rsip::Request,
        source: Peer,
    ) {
        // RFC 4475 regaut01: credentials in a scheme we do not know count as none.
        let credentials = header_values(&req.headers, "Authorization")
            .find(|v| {
                v.trim_start()
                    .get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case("digest"))
            })
            .map(str::to_string);
        let Some(credentials) = credentials else {
            return self.challenge(now, key, &req, false);
        };
        let users = &self.cfg.users;
        let outcome = self
            .auth
            .verify(now, "REGISTER", &credentials, |u| users.get(u).cloned());
        let user = match outcome {
            AuthOutcome::Ok { username } => username,
            AuthOutcome::Stale => return self.challenge(now, key, &req, true),
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
                    }));
                }
                // Same answer for a wrong password, an unknown user or a replay: nothing
                // tells an attacker which extensions exist.
                let resp = self.answer(&req, 403, &[]);
                return self.send_response(now, &key, resp);
            }
        };
        let domain = self.cfg.domain.clone();
        match self
            .registrar
            .handle_register(now, &req, &user, &domain, source)
        {
            Ok(ok) => {
                let contacts: Vec<(&str, String)> = ok
                    .contact_headers(now)
                    .into_iter()
                    .map(|c| ("Contact", c))
                    .collect();
                tracing::info!(aor = %ok.aor, contacts = ok.bindings.len(), source = %source.addr, "registered");
                let resp = self.answer(&req, 200, &contacts);
                if ok.changes.is_empty() {
                    self.send_response(now, &key, resp);
                } else {
                    let id = self.next_id();
                    self.parked.insert(
                        id,
                        Parked {
                            key,
                            response: resp,
                        },
                    );
                    self.out.push_back(Output::Persist {
                        id,
                        changes: ok.changes,
                    });
                }
            }
            Err(err) => {
                tracing::info!(user = %user, error = %err, "registration refused");
                let (code, extra) = err.response();
                let resp = self.answer(&req, code, &extra);
                self.send_response(now, &key, resp);
            }
        }
    }

    fn challenge(&mut self, now: Instant, key: TxKey, req: &rsip::Request, stale: bool) {
        let challenges: Vec<(&str, String)> = self
            .auth
            .challenge(now, stale)
            .into_iter()
            .map(|c| ("WWW-Authenticate", c))
            .collect();
        let resp = self.answer(req, 401, &challenges);
        if let Err(e) = self.txns.respond_statelessly(&key, resp) {
            tracing::debug!(error = %e, "challenge not sent");
        }
    }
}
