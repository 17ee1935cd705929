//! Requests inside a call's dialogs: ACK, CANCEL, BYE, re-INVITE (hold/resume, passed
//! through with our own SDP on each side; glare → 491), INFO and OPTIONS; and our own
//! session refreshes.

use std::time::Instant;

use bytes::Bytes;

use super::{CallEvent, CallRef, CallTimer, Purpose, Reinvite, Side, State};
use crate::call::sipstr;
use crate::sdp::{self, Direction, LocalMedia};
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::message::header_value;
use crate::sip::rsip;
use crate::sip::transaction::TxKey;

impl Endpoint {
    /// Which call and side a request with a To tag belongs to.
    fn dialog_of(&self, req: &rsip::Request) -> Option<(CallRef, Side)> {
        let call_id = header_value(&req.headers, "Call-ID")?;
        let tag = sipstr::tag(header_value(&req.headers, "To")?)?;
        self.calls
            .dialogs
            .get(&(call_id.to_string(), tag.to_string()))
            .copied()
    }

    /// An ACK for a 2xx (the transaction layer hands us these).
    pub(in crate::sip::endpoint) fn calls_handle_ack(
        &mut self,
        _now: Instant,
        req: &rsip::Request,
    ) {
        let Some((call, Side::A)) = self.dialog_of(req) else {
            return;
        };
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if c.state == State::Answered {
            c.state = State::Confirmed;
            c.a.ok_bytes = None;
            self.clear_call_timer(call, CallTimer::Retransmit2xx);
            self.clear_call_timer(call, CallTimer::AckTimeout);
        }
    }

    /// CANCEL of a ringing call. False: no call of ours (the caller answers 481).
    pub(in crate::sip::endpoint) fn calls_handle_cancel(
        &mut self,
        now: Instant,
        key: &TxKey,
        req: &rsip::Request,
    ) -> bool {
        let Some(invite_key) = self.txns.find_invite_for_cancel(req) else {
            return false;
        };
        let Some(&call) = self.calls.invites.get(&invite_key) else {
            return false;
        };
        let ok = self.answer(req, 200, &[]);
        self.send_response(now, key, ok);
        let ringing = self
            .calls
            .calls
            .get(&call)
            .is_some_and(|c| c.state == State::Ringing);
        if ringing {
            self.cancel_forks(now, call);
            self.final_to_caller(now, call, 487, &[]);
            self.end_call(now, call, "caller-cancel", "caller");
        }
        true
    }

    /// A request with a To tag. False: no dialog of ours (the caller answers 481).
    pub(in crate::sip::endpoint) fn calls_handle_in_dialog(
        &mut self,
        now: Instant,
        key: &TxKey,
        req: rsip::Request,
    ) -> bool {
        let Some((call, side)) = self.dialog_of(&req) else {
            return false;
        };
        if !self.calls.calls.contains_key(&call) {
            return false;
        }
        match req.method {
            rsip::Method::Bye => {
                let ok = self.answer(&req, 200, &[]);
                self.send_response(now, key, ok);
                let ringing = self
                    .calls
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.state == State::Ringing);
                if ringing {
                    // BYE on an early dialog: treat like a CANCEL.
                    self.cancel_forks(now, call);
                    self.final_to_caller(now, call, 487, &[]);
                } else {
                    self.bye(now, call, side.other());
                }
                let who = if side == Side::A { "caller" } else { "callee" };
                self.end_call(now, call, "normal", who);
            }
            rsip::Method::Invite => self.handle_reinvite(now, call, side, key, req),
            rsip::Method::Info => {
                let ok = self.answer(&req, 200, &[]);
                self.send_response(now, key, ok);
                self.relay_info(now, call, side, &req);
            }
            _ => {
                // OPTIONS (keep-alive) and anything else we allow: fine.
                let ok = self.answer(&req, 200, &[]);
                self.send_response(now, key, ok);
            }
        }
        true
    }

    /// INFO carries DTMF from some phones (application/dtmf-relay): surface it, pass it on.
    fn relay_info(&mut self, now: Instant, call: CallRef, side: Side, req: &rsip::Request) {
        let ct = header_value(&req.headers, "Content-Type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = String::from_utf8_lossy(&req.body).to_string();
        if ct.contains("dtmf") {
            let digit = body
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("Signal=")
                        .or_else(|| l.trim().strip_prefix("Signal ="))
                })
                .and_then(|s| s.trim().chars().next())
                .or_else(|| body.trim().chars().next())
                .filter(|c| c.is_ascii_digit() || "*#ABCD".contains(*c));
            if let (Some(digit), Some(c)) = (digit, self.calls.calls.get(&call)) {
                tracing::info!(call = %c.uuid, ?side, %digit, "dtmf (SIP INFO)");
                self.out.push_back(Output::Event(CallEvent::Dtmf {
                    call: c.uuid.clone(),
                    side,
                    digit,
                }));
                self.on_digit(now, call, side, digit);
            }
        }
        let (local, ua, branch) = (self.local, self.cfg.user_agent.clone(), self.new_branch());
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(d) = c.dialog_mut(side.other()) else {
            return;
        };
        let peer = d.peer;
        let ct = (!req.body.is_empty()).then_some(ct);
        if let Some(info) = d
            .request("INFO", &local, &branch, &ua)
            .build(ct.as_deref(), &req.body)
        {
            self.send_client(now, call, Purpose::Info, info, peer);
        }
    }

    fn handle_reinvite(
        &mut self,
        now: Instant,
        call: CallRef,
        side: Side,
        key: &TxKey,
        req: rsip::Request,
    ) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        if c.state == State::Ringing {
            return self.refuse(now, key, &req, 491, &[]);
        }
        // Glare (RFC 3261 §14.2): one offer/answer at a time per call.
        if c.reinvite.is_some() {
            return self.refuse(now, key, &req, 491, &[("Retry-After", "1".into())]);
        }
        let tag = c.local_tag(side);
        let session = c.session[side as usize];
        let current = c.local_sdp[side as usize].clone();
        let Some(codec) = c.codec else {
            return self.refuse(now, key, &req, 500, &[]);
        };
        let offer = if req.body.is_empty() {
            None
        } else {
            sdp::parse(&req.body).ok()
        };
        let last_version = if side == Side::A {
            Some(c.a.remote_sdp_version)
        } else {
            c.b.last_answer.as_ref().map(|s| s.origin.session_version)
        };
        let is_refresh = match &offer {
            None => true,
            Some(o) => Some(o.origin.session_version) == last_version,
        };
        if is_refresh {
            // A session refresh (RFC 4028) or an unchanged offer: answer with what we have.
            let mut extra = vec![("Contact", self.local.contact(c.transport(side)))];
            if let Some((secs, we)) = session {
                extra.push((
                    "Session-Expires",
                    format!("{secs};refresher={}", if we { "uas" } else { "uac" }),
                ));
            }
            let resp = self.response_with(&req, 200, &tag, &extra, current.as_deref());
            self.send_response(now, key, resp);
            self.arm_session(now, call, side);
            return;
        }
        let Some(offer) = offer else { return };
        let prefs = vec![codec.name];
        let offered = match sdp::offered_audio(&offer, &prefs) {
            Ok(o) => o,
            Err(e) => {
                tracing::info!(error = %e, "re-INVITE refused with 488");
                return self.refuse(now, key, &req, 488, &[("Warning", e.warning().into())]);
            }
        };
        let other = side.other();
        let (local, ua, branch) = (self.local, self.cfg.user_agent.clone(), self.new_branch());
        let media_ip = self.cfg.media_address;
        let ptime = self.cfg.ptime_ms;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let te =
            c.b.telephone_event
                .filter(|_| offered.telephone_event.is_some());
        let (origin, port) = c.local_media(other);
        let lm = LocalMedia {
            addr: media_ip,
            port,
            ptime: Some(ptime),
        };
        let out_offer = sdp::build_offer(origin, &lm, &[codec], te, offered.direction);
        let body = out_offer.to_bytes();
        let prev_sdp = c.local_sdp[other as usize].replace(body.clone());
        let Some(d) = c.dialog_mut(other) else { return };
        let peer = d.peer;
        let text = d
            .request("INVITE", &local, &branch, &ua)
            .header("Allow", &crate::sip::uas::allow_header());
        let Some(out) = text.build(Some("application/sdp"), &body) else {
            return;
        };
        // RFC 3261 §14.1: until the other side accepts, the session stays as it was (the
        // offer's media, hold state and o= version are taken over in `reinvite_response`).
        c.reinvite = Some(Reinvite {
            from: side,
            server_key: key.clone(),
            request: req,
            offer,
            offered,
            prev_sdp,
        });
        self.send_client(now, call, Purpose::Reinvite, out, peer);
    }

    /// The relayed re-INVITE failed (refused or timed out): the other side keeps the SDP it
    /// had, and the side that asked hears `code`.
    pub(super) fn reinvite_failed(&mut self, now: Instant, call: CallRef, code: u16) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(re) = c.reinvite.take() else { return };
        c.local_sdp[re.from.other() as usize] = re.prev_sdp;
        let resp = self.answer(&re.request, code, &[]);
        self.send_response(now, &re.server_key, resp);
    }

    /// The other side accepted a re-INVITE from `side`: its offer now describes that side.
    fn reinvite_accepted(
        &mut self,
        now: Instant,
        call: CallRef,
        side: Side,
        offer: &sdp::SessionDescription,
        offered: &sdp::OfferedAudio,
    ) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if side == Side::A {
            c.a.remote_sdp_version = offer.origin.session_version;
        }
        let held = offered.direction != Direction::SendRecv;
        let was_held = c.hold[side as usize];
        let uuid = c.uuid.clone();
        self.media_remote(
            call,
            side,
            offered.direction,
            offered.remote,
            offered.remote_rtcp,
            offered.telephone_event,
        );
        if held != was_held {
            tracing::info!(call = %uuid, ?side, held, "hold state changed");
            self.acd_hold(now, call, held);
            let ev = if held {
                CallEvent::Held {
                    call: uuid,
                    by: side,
                    api: false,
                }
            } else {
                CallEvent::Resumed {
                    call: uuid,
                    by: side,
                    api: false,
                }
            };
            self.out.push_back(Output::Event(ev));
        }
    }

    /// The other side answered the re-INVITE we relayed: answer the side that asked.
    pub(super) fn reinvite_response(&mut self, now: Instant, call: CallRef, resp: rsip::Response) {
        let code = resp.status_code.code();
        if code < 200 {
            return;
        }
        if !(200..300).contains(&code) {
            let relay = if (400..700).contains(&code) {
                code
            } else {
                500
            };
            return self.reinvite_failed(now, call, relay);
        }
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(re) = c.reinvite.take() else { return };
        let other = re.from.other();
        self.ack_in_dialog(call, other, &resp);
        self.reinvite_accepted(now, call, re.from, &re.offer, &re.offered);
        let media_ip = self.cfg.media_address;
        let ptime = self.cfg.ptime_ms;
        let transport = self.calls.calls.get(&call).map(|c| c.transport(re.from));
        let contact = self
            .local
            .contact(transport.unwrap_or(crate::sip::TransportKind::Udp));
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(codec) = c.codec else { return };
        let answered = sdp::parse(&resp.body).ok();
        // The answering side's latest SDP: its next refresh repeats this o= version.
        if let Some(sd) = &answered {
            match other {
                Side::A => c.a.remote_sdp_version = sd.origin.session_version,
                Side::B => c.b.last_answer = Some(sd.clone()),
            }
        }
        let neg = answered
            .as_ref()
            .and_then(|sd| sdp::answered_audio(sd, &[codec]).ok());
        let direction = neg
            .as_ref()
            .map(|n| n.direction)
            .unwrap_or(Direction::SendRecv);
        if let Some(n) = &neg {
            self.media_remote(
                call,
                other,
                n.direction,
                n.remote,
                n.remote_rtcp,
                n.telephone_event,
            );
        }
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let te = c.b.telephone_event.is_some();
        let (origin, port) = c.local_media(re.from);
        let lm = LocalMedia {
            addr: media_ip,
            port,
            ptime: Some(ptime),
        };
        let answer = sdp::build_answer(origin, &lm, &re.offer, codec, te, direction)
            .ok()
            .map(|a| a.to_bytes());
        c.local_sdp[re.from as usize] = answer.clone();
        if re.from == Side::B {
            c.b.last_answer = Some(re.offer.clone());
        }
        let tag = c.local_tag(re.from);
        let resp = match answer {
            Some(body) => {
                self.response_with(&re.request, 200, &tag, &[("Contact", contact)], Some(&body))
            }
            None => self.answer(&re.request, 488, &[]),
        };
        self.send_response(now, &re.server_key, resp);
        self.arm_session(now, call, re.from);
    }

    /// We are the refresher of this side: re-INVITE with the SDP it already has.
    pub(super) fn refresh_side(&mut self, now: Instant, call: CallRef, side: Side) {
        let (local, ua, branch) = (self.local, self.cfg.user_agent.clone(), self.new_branch());
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if c.reinvite.is_some() || c.state != State::Confirmed {
            // Busy with an offer/answer: try again shortly.
            let timer = if side == Side::A {
                CallTimer::RefreshA
            } else {
                CallTimer::RefreshB
            };
            self.set_call_timer(call, timer, now + std::time::Duration::from_secs(2));
            return;
        }
        let body: Option<Bytes> = c.local_sdp[side as usize].clone();
        let secs = c.session[side as usize].map(|s| s.0).unwrap_or(1800);
        let Some(d) = c.dialog_mut(side) else { return };
        let peer = d.peer;
        let text = d
            .request("INVITE", &local, &branch, &ua)
            .header("Supported", "timer")
            .header("Session-Expires", &format!("{secs};refresher=uac"));
        let req = match &body {
            Some(b) => text.build(Some("application/sdp"), b),
            None => text.build(None, b""),
        };
        if let Some(req) = req {
            self.send_client(now, call, Purpose::Refresh(side), req, peer);
        }
    }
}
