//! Requests after the transaction layer: UAS checks, then per-method handling.

use std::time::Instant;

use super::Endpoint;
use crate::sip::message::response_to;
use crate::sip::rsip;
use crate::sip::transaction::TxKey;
use crate::sip::{uas, Peer};

impl Endpoint {
    pub(super) fn handle_request(
        &mut self,
        now: Instant,
        key: TxKey,
        req: rsip::Request,
        source: Peer,
    ) {
        if let Err(refusal) = uas::check(&req).and_then(|_| uas::check_max_forwards(&req)) {
            let resp = self.answer(&req, refusal.code, &refusal.headers);
            self.send_response(now, &key, resp);
            return;
        }
        match req.method {
            rsip::Method::Options => {
                let headers = [
                    ("Allow", uas::allow_header()),
                    ("Accept", uas::accept_header()),
                    ("Supported", uas::supported_header()),
                ];
                let resp = self.answer(&req, 200, &headers);
                self.send_response(now, &key, resp);
            }
            rsip::Method::Register => self.handle_register(now, key, req, source),
            rsip::Method::Invite => {
                // Calls arrive with the B2BUA; until then a known extension is "not
                // reachable now" and anything else does not exist.
                let code = if self.is_local_user(&req) { 480 } else { 404 };
                let resp = self.answer(&req, code, &[]);
                self.send_response(now, &key, resp);
            }
            rsip::Method::Cancel => {
                // We answer INVITEs at once, so there is never one left to cancel.
                let code = if self.txns.find_invite_for_cancel(&req).is_some() {
                    200
                } else {
                    481
                };
                let resp = self.answer(&req, code, &[]);
                self.send_response(now, &key, resp);
            }
            rsip::Method::Bye => {
                let resp = self.answer(&req, 481, &[]);
                self.send_response(now, &key, resp);
            }
            // ACKs reach us as TxEvent::Ack, never here; other methods were refused by uas::check.
            _ => {}
        }
    }

    /// A response with our To tag, Server header and any extra headers.
    pub(super) fn answer(
        &mut self,
        req: &rsip::Request,
        code: u16,
        extra: &[(&str, String)],
    ) -> rsip::Response {
        let tag = self.new_tag();
        let mut resp = response_to(req, code, Some(&tag));
        for (name, value) in extra {
            resp.headers
                .push(rsip::headers::make_header(name, value.clone()));
        }
        resp.headers.push(rsip::headers::make_header(
            "Server",
            self.cfg.user_agent.clone(),
        ));
        resp.headers
            .push(rsip::headers::make_header("Content-Length", "0".into()));
        resp
    }

    fn is_local_user(&self, req: &rsip::Request) -> bool {
        let user = req.uri.auth.as_ref().map(|a| a.user.as_str()).unwrap_or("");
        self.cfg.users.contains_key(user)
    }
}
