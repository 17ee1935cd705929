//! Requests after the transaction layer: UAS checks, then per-method handling.

use std::time::Instant;

use super::Endpoint;
use crate::sip::message::response_to;
use crate::sip::rsip;
use crate::sip::transaction::TxKey;
use crate::sip::{uas, Peer};

impl Endpoint {
    // The in-dialog and CANCEL arms fall back to 481 when no call claims the request; folding
    // that into match guards would hide the side effect.
    #[allow(clippy::collapsible_match)]
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
            _ if has_to_tag(&req) => {
                if !self.calls_handle_in_dialog(now, &key, req.clone()) {
                    let resp = self.answer(&req, 481, &[]);
                    self.send_response(now, &key, resp);
                }
            }
            rsip::Method::Invite => self.handle_invite(now, key, req, source, source),
            rsip::Method::Cancel => {
                if !self.calls_handle_cancel(now, &key, &req) {
                    let code = if self.txns.find_invite_for_cancel(&req).is_some() {
                        200
                    } else {
                        481
                    };
                    let resp = self.answer(&req, code, &[]);
                    self.send_response(now, &key, resp);
                }
            }
            rsip::Method::Bye | rsip::Method::Info => {
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

    /// A response with a given To tag (the dialog's), Server header and extra headers.
    pub(super) fn answer_with_tag(
        &mut self,
        req: &rsip::Request,
        code: u16,
        extra: &[(&str, String)],
        tag: &str,
    ) -> rsip::Response {
        let mut resp = response_to(req, code, Some(tag));
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
}

/// In-dialog requests carry the dialog's tag in To (REGISTER and OPTIONS outside a dialog
/// never do, and are handled above this check only when they have none).
fn has_to_tag(req: &rsip::Request) -> bool {
    !matches!(
        req.method,
        rsip::Method::Register | rsip::Method::Cancel | rsip::Method::Ack
    ) && crate::sip::message::header_value(&req.headers, "To")
        .and_then(crate::call::sipstr::tag)
        .is_some()
}
