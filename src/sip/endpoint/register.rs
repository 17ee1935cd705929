//! REGISTER: digest authentication, then the registrar, then write-through to the store.

use std::time::Instant;

use super::digest::Authn;
use super::{Endpoint, Output, Parked};
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
        let user = match self.authenticate(now, &req, "Authorization", source) {
            Authn::User(u) => u,
            Authn::Challenge { stale } => {
                return self.challenge(now, key, &req, stale, source.addr.ip())
            }
            Authn::Refused => {
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
                self.presence_at(now, &user);
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

    fn challenge(
        &mut self,
        now: Instant,
        key: TxKey,
        req: &rsip::Request,
        stale: bool,
        source: std::net::IpAddr,
    ) {
        let challenges = self.challenges(now, stale, "WWW-Authenticate", source);
        let resp = self.answer(req, 401, &challenges);
        if let Err(e) = self.txns.respond_statelessly(&key, resp) {
            tracing::debug!(error = %e, "challenge not sent");
        }
    }
}
