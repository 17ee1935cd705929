//! Responses to what we sent: the forks' INVITEs above all (18x relayed with early media,
//! the first 2xx wins and the other forks are cancelled, failures mapped for the caller).

use std::time::Instant;

use bytes::Bytes;

use super::{CallEvent, CallRef, CallTimer, ForkState, Purpose, Side, State};
use crate::call::dialog::Dialog;
use crate::call::sipstr;
use crate::sdp::{self, LocalMedia};
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::message::{header_value, header_values};
use crate::sip::rsip;
use crate::sip::transaction::TxKey;

impl Endpoint {
    /// A response for one of the B2BUA's client transactions. False: not ours.
    pub(in crate::sip::endpoint) fn calls_handle_response(
        &mut self,
        now: Instant,
        key: &TxKey,
        resp: rsip::Response,
    ) -> bool {
        let Some(&(call, purpose)) = self.calls.clients.get(key) else {
            return false;
        };
        let code = resp.status_code.code();
        if code >= 200 {
            self.calls.clients.remove(key);
        }
        if let Purpose::Invite(i) = purpose {
            if !self.is_current_fork(call, i, key) {
                // A fork given up on (its offer ended, the caller went elsewhere) whose slot
                // a newer fork took: its answer must not be read as the new fork's. A late
                // 2xx still needs ACK + BYE; the transaction ACKs the rest.
                if (200..300).contains(&code) {
                    self.ack_and_bye_orphan(now, &resp);
                }
                return true;
            }
        }
        match purpose {
            Purpose::Invite(i) => self.fork_response(now, call, i, resp),
            Purpose::Reinvite => self.reinvite_response(now, call, resp),
            Purpose::Refresh(side) => {
                if (200..300).contains(&code) {
                    self.ack_in_dialog(call, side, &resp);
                    self.arm_session(now, call, side);
                } else if matches!(code, 408 | 481) {
                    self.hangup_both(now, call, "session-refresh-failed", "system");
                } else if code >= 200 {
                    // 491 and friends: try again a little later.
                    let timer = if side == Side::A {
                        CallTimer::RefreshA
                    } else {
                        CallTimer::RefreshB
                    };
                    self.set_call_timer(call, timer, now + std::time::Duration::from_secs(2));
                }
            }
            Purpose::AgentFirst => self.agent_first_response(now, call, resp),
            Purpose::Campaign => self.campaign_response(now, call, resp),
            Purpose::Repoint(side) => self.repoint_response(now, call, side, &resp),
            Purpose::Cancel | Purpose::Bye | Purpose::Info => {}
        }
        true
    }

    /// Timer B/F fired on one of our client transactions.
    pub(in crate::sip::endpoint) fn calls_handle_tx_timeout(
        &mut self,
        now: Instant,
        key: &TxKey,
    ) -> bool {
        let Some((call, purpose)) = self.calls.clients.remove(key) else {
            return false;
        };
        match purpose {
            Purpose::Invite(i) if !self.is_current_fork(call, i, key) => {}
            Purpose::Invite(i) => self.fork_failed(now, call, i, 408),
            Purpose::Reinvite => self.reinvite_failed(now, call, 408),
            Purpose::Refresh(_) => self.hangup_both(now, call, "session-refresh-failed", "system"),
            Purpose::AgentFirst => self.agent_first_failed(now, call, 408),
            Purpose::Campaign => self.campaign_failed(now, call, 408),
            Purpose::Repoint(side) => self.repointed(now, call, side, None),
            Purpose::Cancel | Purpose::Bye | Purpose::Info => {}
        }
        true
    }

    /// Whether fork slot `i` of `call` is still the INVITE sent as transaction `key`.
    fn is_current_fork(&self, call: CallRef, i: usize, key: &TxKey) -> bool {
        self.calls
            .calls
            .get(&call)
            .and_then(|c| c.forks.get(i))
            .is_some_and(|f| f.key == *key)
    }

    fn fork_response(&mut self, now: Instant, call: CallRef, i: usize, resp: rsip::Response) {
        let code = resp.status_code.code();
        let Some(c) = self.calls.calls.get_mut(&call) else {
            // The call is gone (cancelled, ended): a late 2xx still needs ACK + BYE.
            if (200..300).contains(&code) {
                self.ack_and_bye_orphan(now, &resp);
            }
            return;
        };
        let Some(fork) = c.forks.get_mut(i) else {
            return;
        };
        match code {
            100 => {}
            101..=199 => {
                if fork.state == ForkState::Calling {
                    fork.state = ForkState::Early;
                }
                if fork.cancel_pending {
                    fork.cancel_pending = false;
                    fork.state = ForkState::Done;
                    let (req, peer) = (super::cancel_for(&fork.invite), fork.dialog.peer);
                    if let Some(req) = req {
                        tracing::info!(call = %c.uuid, fork = %peer.addr, "CANCEL sent to a ringing fork");
                        self.send_client(now, call, Purpose::Cancel, req, peer);
                    }
                    return;
                }
                if c.state != State::Ringing {
                    return;
                }
                let has_sdp = !resp.body.is_empty();
                if has_sdp && c.a.answer.is_none() && !self.negotiate_b_answer(call, &resp.body) {
                    return;
                }
                let body = if has_sdp {
                    self.calls.calls.get(&call).and_then(|c| c.a.answer.clone())
                } else {
                    None
                };
                let first_ring = self
                    .calls
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.cdr.b_sip_code.is_none());
                if let Some(c) = self.calls.calls.get_mut(&call) {
                    c.cdr.b_sip_code = Some(code);
                }
                self.provisional_to_caller(now, call, code, body);
                if first_ring {
                    if let Some(c) = self.calls.calls.get(&call) {
                        self.out.push_back(Output::Event(CallEvent::Ringing {
                            call: c.uuid.clone(),
                        }));
                    }
                }
            }
            200..=299 => self.fork_answered(now, call, i, resp),
            401 | 407 if self.retry_with_credentials(now, call, i, &resp) => {}
            401 | 407 => {
                let uuid = self.calls.calls.get(&call).map(|c| c.uuid.clone());
                tracing::warn!(call = ?uuid, code, "the callee's challenge cannot be answered (no trunk credentials, or they were refused)");
                self.fork_failed(now, call, i, code)
            }
            _ => self.fork_failed(now, call, i, code),
        }
    }

    fn fork_answered(&mut self, now: Instant, call: CallRef, i: usize, resp: rsip::Response) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let to_tag = header_value(&resp.headers, "To")
            .and_then(sipstr::tag)
            .map(str::to_string);
        let winner =
            c.b.dialog
                .as_ref()
                .map(|d| d.call_id == c.forks[i].dialog.call_id);
        match winner {
            Some(true) => {
                // A retransmitted 2xx: our ACK was lost.
                self.ack_in_dialog(call, Side::B, &resp);
                return;
            }
            Some(false) => {
                // Another device answered too late: ACK and hang it up.
                self.ack_and_bye_orphan(now, &resp);
                return;
            }
            None => {}
        }
        let connecting = matches!(c.app, super::local::App::Connecting);
        let offering = matches!(c.app, super::local::App::Offering { .. });
        if c.state != State::Ringing && !connecting && !offering {
            self.ack_and_bye_orphan(now, &resp);
            return;
        }
        let fork = &mut c.forks[i];
        fork.state = ForkState::Done;
        fork.final_code = Some(resp.status_code.code());
        let mut dialog: Dialog = fork.dialog.clone();
        dialog.remote_tag = to_tag;
        if let Some(contact) = header_value(&resp.headers, "Contact") {
            dialog.remote_target = sipstr::uri(contact).to_string();
        }
        let mut routes: Vec<String> = header_values(&resp.headers, "Record-Route")
            .map(str::to_string)
            .collect();
        routes.reverse();
        dialog.route_set = routes;
        c.b.dialog = Some(dialog);
        c.cdr.b_call_id = Some(c.forks[i].dialog.call_id.clone());
        c.cdr.b_sip_code = Some(200);
        // Session timer on the callee's side, as they answered it (RFC 4028 §7.2).
        if let Some((secs, uas_refreshes)) =
            header_value(&resp.headers, "Session-Expires").and_then(sipstr::session_expires)
        {
            // We are the UAC of this leg: unless the callee took the job, we refresh.
            c.session[Side::B as usize] = Some((secs.max(90), !uas_refreshes));
        }
        self.ack_in_dialog(call, Side::B, &resp);
        self.cancel_forks(now, call);

        let need_answer = self
            .calls
            .calls
            .get(&call)
            .is_some_and(|c| c.a.answer.is_none());
        if need_answer && !self.negotiate_b_answer(call, &resp.body) {
            self.bye(now, call, Side::B);
            self.final_to_caller(now, call, 488, &[]);
            self.end_call(now, call, "incompatible-media", "system");
            return;
        }
        if !need_answer && !resp.body.is_empty() {
            // The final answer may move the callee's media (a fork other than the one that
            // sent early media, or a changed address): follow it.
            self.update_b_remote(call, &resp.body);
        }
        self.clear_call_timer(call, CallTimer::Ring);
        if offering {
            if !self.offer_answered(now, call) {
                // The engine had moved on (the offer was withdrawn as the phone answered).
                self.bye(now, call, Side::B);
                return;
            }
        } else if connecting {
            self.bridge_local(now, call);
            self.count_callee_busy(now, call);
            self.campaign_customer_answered(now, call);
        } else {
            self.ok_to_caller(now, call);
            self.count_callee_busy(now, call);
        }
        self.arm_session(now, call, Side::A);
        self.arm_session(now, call, Side::B);
    }

    fn fork_failed(&mut self, now: Instant, call: CallRef, i: usize, code: u16) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if let Some(f) = c.forks.get_mut(i) {
            f.state = ForkState::Done;
            f.final_code = Some(code);
        }
        let connecting = matches!(c.app, super::local::App::Connecting);
        let offering = matches!(c.app, super::local::App::Offering { .. });
        if (c.state != State::Ringing && !connecting && !offering)
            || c.forks.iter().any(|f| f.state != ForkState::Done)
        {
            return;
        }
        if offering {
            let best = best_failure(c.forks.iter().filter_map(|f| f.final_code));
            return self.offer_failed(now, call, best);
        }
        let best = best_failure(c.forks.iter().filter_map(|f| f.final_code));
        c.cdr.b_sip_code = Some(best);
        let (to_caller, cause) = map_failure(best);
        tracing::info!(call = %c.uuid, callee_code = best, caller_code = to_caller, "call failed");
        if connecting {
            // The caller was answered by us: there is no final response to give any more.
            self.bye(now, call, Side::A);
        } else {
            self.final_to_caller(now, call, to_caller, &[]);
        }
        self.end_call(now, call, cause, "callee");
    }

    /// Read the callee's SDP answer, pick the codec, and build our answer to the caller.
    fn negotiate_b_answer(&mut self, call: CallRef, body: &[u8]) -> bool {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return false;
        };
        let parsed = sdp::parse(body).ok();
        let neg = parsed
            .as_ref()
            .and_then(|sd| sdp::answered_audio(sd, &c.b.offered).ok());
        let (Some(sd), Some(neg)) = (parsed, neg) else {
            tracing::info!(call = %c.uuid, "callee's SDP answer is unusable");
            return false;
        };
        let Some(offer) = c.a.last_offer.as_ref() else {
            return false;
        };
        let local = LocalMedia {
            addr: self.cfg.media_address,
            port: c.a.port,
            ptime: Some(self.cfg.ptime_ms),
        };
        let te = c.b.telephone_event.is_some() && neg.telephone_event.is_some();
        let Ok(answer) =
            sdp::build_answer(&mut c.a.origin, &local, offer, neg.codec, te, neg.direction)
        else {
            return false;
        };
        c.a.answer = Some(answer.to_bytes());
        c.local_sdp[Side::A as usize] = c.a.answer.clone();
        c.codec = Some(neg.codec);
        c.b.last_answer = Some(sd);
        self.media_remote(
            call,
            Side::B,
            neg.direction,
            neg.remote,
            neg.remote_rtcp,
            neg.telephone_event,
        );
        true
    }

    fn update_b_remote(&mut self, call: CallRef, body: &[u8]) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let Some(neg) = sdp::parse(body)
            .ok()
            .and_then(|sd| sdp::answered_audio(&sd, &c.b.offered).ok())
        else {
            return;
        };
        self.media_remote(
            call,
            Side::B,
            neg.direction,
            neg.remote,
            neg.remote_rtcp,
            neg.telephone_event,
        );
    }

    fn provisional_to_caller(
        &mut self,
        now: Instant,
        call: CallRef,
        code: u16,
        sdp_body: Option<Bytes>,
    ) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let Some(invite) = c.a.invite.clone() else {
            return;
        };
        let tag = c.a.dialog.local_tag.clone();
        let key = c.a.key.clone();
        let transport = c.a.dialog.peer.transport;
        let contact = self.local.contact(transport);
        let mut resp = self.response_with(
            &invite,
            code,
            &tag,
            &[("Contact", contact)],
            sdp_body.as_deref(),
        );
        if code == 180 && sdp_body.is_none() {
            resp.body.clear();
        }
        self.send_response(now, &key, resp);
    }

    /// 200 OK with our SDP answer to the caller; then wait for their ACK.
    pub(super) fn ok_to_caller(&mut self, now: Instant, call: CallRef) {
        let answer_ms = self.calls.unix_ms(now);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(invite) = c.a.invite.take() else {
            return;
        };
        c.state = State::Answered;
        c.cdr.a_sip_code = Some(200);
        c.cdr.answer_unix_ms = Some(answer_ms);
        c.cdr.codec = c.codec.map(|k| k.name.encoding().to_string());
        // Journal the answer too: a crash after this point still bills the talk time.
        self.out
            .push_back(Output::Cdr(super::CdrWrite::Start(Box::new(c.cdr.clone()))));
        let tag = c.a.dialog.local_tag.clone();
        let key = c.a.key.clone();
        let body = c.a.answer.clone();
        let transport = c.a.dialog.peer.transport;
        let session = c.session[Side::A as usize];
        let uuid = c.uuid.clone();
        let mut extra = vec![
            ("Contact", self.local.contact(transport)),
            ("Allow", crate::sip::uas::allow_header()),
            ("Supported", "timer".to_string()),
        ];
        if let Some((secs, we_refresh)) = session {
            let who = if we_refresh { "uas" } else { "uac" };
            extra.push(("Session-Expires", format!("{secs};refresher={who}")));
            extra.push(("Require", "timer".to_string()));
        }
        let resp = self.response_with(&invite, 200, &tag, &extra, body.as_deref());
        let bytes = Bytes::from(rsip::SipMessage::Response(resp.clone()).to_bytes());
        self.send_response(now, &key, resp);
        tracing::info!(call = %uuid, "answered");
        self.out
            .push_back(Output::Event(CallEvent::Answered { call: uuid }));
        // A call we answer ourselves is connected later, at its bridge.
        if self.calls.calls.get(&call).is_some_and(|c| !c.local) {
            self.recording_connected(now, call);
        }
        let reliable = transport.is_reliable();
        let t1 = self.cfg.timers.t1;
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.a.ok_bytes = Some(bytes);
            c.a.ok_interval = t1;
        }
        if !reliable {
            self.set_call_timer(call, CallTimer::Retransmit2xx, now + t1);
        }
        self.set_call_timer(call, CallTimer::AckTimeout, now + t1 * 64);
    }

    /// A response to a request, with our tag, extra headers and an optional SDP body.
    pub(super) fn response_with(
        &mut self,
        req: &rsip::Request,
        code: u16,
        tag: &str,
        extra: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> rsip::Response {
        let mut resp = crate::sip::message::response_to(req, code, Some(tag));
        for (name, value) in extra {
            resp.headers
                .push(rsip::headers::make_header(name, value.clone()));
        }
        resp.headers.push(rsip::headers::make_header(
            "Server",
            self.cfg.user_agent.clone(),
        ));
        match body {
            Some(b) => {
                resp.headers.push(rsip::headers::make_header(
                    "Content-Type",
                    "application/sdp".into(),
                ));
                resp.headers.push(rsip::headers::make_header(
                    "Content-Length",
                    b.len().to_string(),
                ));
                resp.body = b.to_vec();
            }
            None => resp
                .headers
                .push(rsip::headers::make_header("Content-Length", "0".into())),
        }
        resp
    }

    /// ACK a 2xx inside a side's dialog (CSeq number from the response).
    pub(super) fn ack_in_dialog(&mut self, call: CallRef, side: Side, resp: &rsip::Response) {
        let cseq = header_value(&resp.headers, "CSeq")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(1);
        let branch = self.new_branch();
        let (local, ua) = (self.local, self.cfg.user_agent.clone());
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let Some(d) = c.dialog(side) else { return };
        let peer = d.peer;
        if let Some(ack) = d.ack(cseq, &local, &branch, &ua).build(None, b"") {
            self.send_raw(peer, ack);
        }
    }

    /// ACK and BYE for a 2xx that belongs to no live call, built from the response alone.
    pub(super) fn ack_and_bye_orphan(&mut self, now: Instant, resp: &rsip::Response) {
        let h = &resp.headers;
        let (Some(from), Some(to), Some(call_id), Some(cseq)) = (
            header_value(h, "From"),
            header_value(h, "To"),
            header_value(h, "Call-ID"),
            header_value(h, "CSeq").and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok()),
        ) else {
            return;
        };
        let Some(peer) = self.orphan_peer(resp) else {
            return;
        };
        let mut d = Dialog {
            call_id: call_id.to_string(),
            local_tag: sipstr::tag(from).unwrap_or("").to_string(),
            remote_tag: sipstr::tag(to).map(str::to_string),
            local_uri: sipstr::without_tag(from),
            remote_uri: sipstr::without_tag(to),
            local_cseq: cseq,
            remote_target: header_value(h, "Contact")
                .map(|c| sipstr::uri(c).to_string())
                .unwrap_or_default(),
            route_set: Vec::new(),
            peer,
        };
        if d.remote_target.is_empty() {
            return;
        }
        let (local, ua) = (self.local, self.cfg.user_agent.clone());
        let b1 = self.new_branch();
        if let Some(ack) = d.ack(cseq, &local, &b1, &ua).build(None, b"") {
            self.send_raw(peer, ack);
        }
        let b2 = self.new_branch();
        if let Some(bye) = d.request("BYE", &local, &b2, &ua).build(None, b"") {
            if let Err(e) = self.txns.send_request(now, bye, peer) {
                tracing::debug!(error = %e, "orphan BYE not sent");
            }
        }
    }

    /// Where a stray 2xx came from: its Contact, resolved only if it is a plain IP:port.
    fn orphan_peer(&self, resp: &rsip::Response) -> Option<crate::sip::Peer> {
        let contact = sipstr::uri(header_value(&resp.headers, "Contact")?);
        let hostport = contact.split('@').nth(1)?.split(';').next()?;
        let addr: std::net::SocketAddr = hostport
            .parse()
            .ok()
            .or_else(|| format!("{hostport}:5060").parse().ok())?;
        Some(crate::sip::Peer::udp(addr))
    }
}

/// RFC 3261 §16.7-style choice among the forks' failures: 6xx first, then busy, then the
/// most specific 4xx, then the rest.
fn best_failure(codes: impl Iterator<Item = u16>) -> u16 {
    codes
        .max_by_key(|c| match c {
            600..=699 => 100,
            486 => 90,
            488 => 80,
            404 | 484 => 70,
            480 => 60,
            400..=499 if *c != 408 && *c != 487 => 50,
            487 => 40,
            408 => 30,
            _ => 10,
        })
        .unwrap_or(480)
}

/// What the caller hears for the callee's failure, and the CDR cause.
fn map_failure(code: u16) -> (u16, &'static str) {
    match code {
        486 | 600 => (486, "busy"),
        603 => (603, "declined"),
        404 | 484 | 604 => (404, "not-found"),
        408 | 480 => (480, "no-answer"),
        487 => (487, "cancelled"),
        488 | 606 => (488, "incompatible-media"),
        // A downstream 503 must not make the caller think *we* are overloaded (§16.7).
        500..=599 => (502, "failed"),
        // The callee's challenge was for our credentials (a trunk's), not the caller's:
        // relayed, the phone would take it for our own challenge (and it would lack the
        // WWW-/Proxy-Authenticate header a 401/407 must carry, RFC 3261 §21.4).
        401 | 407 => (403, "rejected"),
        c @ 400..=499 => (c, "rejected"),
        _ => (480, "failed"),
    }
}

impl Endpoint {
    /// The carrier challenged our INVITE: answer with the trunk's credentials, once.
    fn retry_with_credentials(
        &mut self,
        now: Instant,
        call: CallRef,
        i: usize,
        resp: &rsip::Response,
    ) -> bool {
        let code = resp.status_code.code();
        let Some(c) = self.calls.calls.get(&call) else {
            return false;
        };
        let Some(trunk) = c
            .cdr
            .trunk
            .as_ref()
            .filter(|_| c.cdr.direction == "outbound")
        else {
            return false;
        };
        let Some(reg) = self
            .cfg
            .trunks
            .iter()
            .find(|t| t.name == *trunk)
            .and_then(|t| t.register.clone())
        else {
            return false;
        };
        let Some(fork) = c.forks.get(i) else {
            return false;
        };
        if fork.auth_tried {
            return false;
        }
        let (header, answer_name) = if code == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let Some(challenge) = header_value(&resp.headers, header).map(str::to_string) else {
            return false;
        };
        let uri = fork.dialog.remote_target.clone();
        let cnonce = self.new_tag();
        let Some(auth) = crate::sip::auth::client::answer(
            &challenge,
            "INVITE",
            &uri,
            &reg.username,
            &reg.password,
            &cnonce,
            1,
        ) else {
            return false;
        };
        let (local, ua, branch) = (self.local, self.cfg.user_agent.clone(), self.new_branch());
        let se = self.cfg.session_expires;
        let min_se = self.cfg.min_se;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return false;
        };
        let body = c.local_sdp[Side::B as usize].clone().unwrap_or_default();
        let fork = &mut c.forks[i];
        fork.auth_tried = true;
        let mut text = fork
            .dialog
            .request("INVITE", &local, &branch, &ua)
            .header("Allow", &crate::sip::uas::allow_header())
            .header("Supported", "timer")
            .header(answer_name, &auth);
        if let Some(se) = se {
            text = text
                .header("Session-Expires", &format!("{se};refresher=uac"))
                .header("Min-SE", &min_se.to_string());
        }
        let Some(invite) = text.build(Some("application/sdp"), &body) else {
            return false;
        };
        fork.invite = invite.clone();
        fork.state = ForkState::Calling;
        let peer = fork.dialog.peer;
        match self.send_client(now, call, Purpose::Invite(i), invite, peer) {
            Some(k) => {
                if let Some(f) = self
                    .calls
                    .calls
                    .get_mut(&call)
                    .and_then(|c| c.forks.get_mut(i))
                {
                    f.key = k;
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_mapped_sensibly() {
        assert_eq!(best_failure([408, 486, 480].into_iter()), 486);
        assert_eq!(best_failure([408, 480].into_iter()), 480);
        assert_eq!(best_failure([486, 603].into_iter()), 603);
        assert_eq!(map_failure(408), (480, "no-answer"));
        assert_eq!(map_failure(503), (502, "failed"));
        assert_eq!(map_failure(486), (486, "busy"));
        assert_eq!(map_failure(488), (488, "incompatible-media"));
        assert_eq!(map_failure(401), (403, "rejected"));
        assert_eq!(map_failure(407), (403, "rejected"));
    }
}
