//! Attended transfer from the API. `StartConsult` holds the customer (music, as `Hold`),
//! rings the target from us (the consult call, its own id and CDR) while the agent hears
//! ringback; when the target answers, the agent's leg is moved onto the consult call's
//! relay by a re-INVITE (new port, same session), so agent and target talk while the
//! customer hears music. `CompleteTransfer` re-INVITEs the target onto the customer's call,
//! hangs up the agent's leg and makes the target that call's other side (the consult call
//! ends as `transferred`). `CancelConsult` hangs up the target and moves the agent back.
//!
//! States of the customer's call: Ringing (target rings) → Joining (agent's re-INVITE out)
//! → Talking → Completing (target's re-INVITE out) → joined; Cancelling (a CANCEL is out
//! for the ringing target); Abandoned (the target left while the agent's move was pending:
//! the agent is moved back once it answers).

use std::time::Instant;

use super::control::{customer_side, CallControlError};
use super::local::{App, RINGBACK};
use super::originate::Origination;
use super::transfer::Destination;
use super::{CallEvent, CallRef, CallTimer, CdrWrite, MediaCommand, Purpose, Side};
use crate::sdp::{self, Direction, LocalMedia};
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::rsip;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConsultState {
    Ringing,
    Joining,
    Talking,
    Completing,
    Cancelling,
    Abandoned,
}

/// A consultation of the customer's call.
pub(super) struct Consult {
    /// The consult call (the target is its A side; the agent joins its B side).
    call: CallRef,
    state: ConsultState,
    /// The consult call's INVITE (a CANCEL is built from it while the target rings).
    invite: rsip::Request,
    target: String,
}

impl Endpoint {
    /// Hold the customer of `uuid` and ring `target` (an extension's first registered
    /// device, or a number through the dial plan); returns the consult call's id.
    pub fn start_consult(
        &mut self,
        now: Instant,
        uuid: &str,
        target: &str,
    ) -> Result<String, CallControlError> {
        let call = self.connected_call(uuid)?;
        let Some(c) = self.calls.calls.get(&call) else {
            return Err(CallControlError::NoCall(uuid.to_string()));
        };
        let refuse = |why: &'static str| CallControlError::Unsupported {
            call: uuid.to_string(),
            what: "consulted",
            why,
        };
        if c.consult.is_some() {
            return Err(refuse(
                "a consultation is already under way (CompleteTransfer or CancelConsult it)",
            ));
        }
        if customer_side(c) != Side::A {
            return Err(refuse(
                "a callback's customer is our B leg (not supported yet)",
            ));
        }
        if c.reinvite.is_some() {
            return Err(refuse(
                "a re-INVITE between its sides is in progress: retry in a moment",
            ));
        }
        let (Some(codec), te) = (c.codec, c.b.telephone_event) else {
            return Err(CallControlError::NotConnected(uuid.to_string()));
        };
        let agent = c.cdr.callee.clone();
        let (contact, trunk) = match self.destination(target)? {
            Destination::Extension(_, mut contacts) => (contacts.swap_remove(0), None),
            Destination::Number { trunk, contact, .. } => (contact, Some(trunk)),
            Destination::Queue(_) => {
                return Err(refuse(
                    "a queue cannot be consulted: Transfer to it instead",
                ))
            }
        };
        let o = Origination {
            phone: target.trim().to_string(),
            contact,
            from_number: agent,
            app: App::ConsultTarget { parent: call },
            direction: "consult",
            trunk,
            queue: None,
            agent: None,
            acd_id: None,
            priority: 0,
            codecs: Some(vec![codec]),
            cdr_parties: None,
            auto_answer: false,
        };
        let (consult, invite) = self
            .originate_with(now, o, None, Purpose::AgentFirst)
            .map_err(|why| CallControlError::Unreachable {
                target: target.to_string(),
                why: why.to_string(),
            })?;
        if let Some(k) = self.calls.calls.get_mut(&consult) {
            k.b.telephone_event = te;
        }
        let held = self
            .calls
            .calls
            .get(&call)
            .is_some_and(|c| c.api_hold.is_some());
        if !held {
            self.start_hold(now, call, Side::A);
        }
        self.play(call, Side::B, vec![RINGBACK.to_string()], true);
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.consult = Some(Box::new(Consult {
                call: consult,
                state: ConsultState::Ringing,
                invite,
                target: target.trim().to_string(),
            }));
            tracing::info!(call = %c.uuid, target, "consultation started");
        }
        self.drain_transactions(now);
        Ok(self
            .calls
            .calls
            .get(&consult)
            .map(|k| k.uuid.clone())
            .unwrap_or_default())
    }

    /// Join the customer with the consulted target and hang up the agent's leg (once the
    /// target accepts the re-INVITE moving it onto the customer's call).
    pub fn complete_transfer(&mut self, now: Instant, uuid: &str) -> Result<(), CallControlError> {
        let call = self.call_by_uuid(uuid)?;
        let (consult, state) = self.consult_of(uuid, call)?;
        if state != ConsultState::Talking {
            return Err(CallControlError::ConsultNotReady {
                call: uuid.to_string(),
                why: "the target has not answered yet, or a join is already in progress",
            });
        }
        let port = self.calls.calls.get(&call).map(|c| c.b.port).unwrap_or(0);
        if !self.repoint(now, consult, Side::A, port) {
            return Err(CallControlError::ConsultNotReady {
                call: uuid.to_string(),
                why: "the target's leg cannot take a re-INVITE right now: retry",
            });
        }
        self.set_consult_state(call, ConsultState::Completing);
        self.drain_transactions(now);
        Ok(())
    }

    /// Hang up the consulted target and give the customer back to the agent.
    pub fn cancel_consult(&mut self, now: Instant, uuid: &str) -> Result<(), CallControlError> {
        let call = self.call_by_uuid(uuid)?;
        let (consult, state) = self.consult_of(uuid, call)?;
        match state {
            ConsultState::Ringing => {
                let invite = self
                    .calls
                    .calls
                    .get(&call)
                    .and_then(|c| c.consult.as_ref())
                    .map(|k| k.invite.clone());
                let dest = self.calls.calls.get(&consult).map(|k| k.a.dialog.peer);
                if let (Some(req), Some(dest)) = (invite.as_ref().and_then(super::cancel_for), dest)
                {
                    self.send_client(now, consult, Purpose::Cancel, req, dest);
                }
                // The consult call ends on the 487 (or is hung up if the 200 crosses).
                self.set_consult_state(call, ConsultState::Cancelling);
                self.give_back_to_agent(now, call);
            }
            ConsultState::Talking | ConsultState::Joining | ConsultState::Completing => {
                // The consult call's end moves the agent back (see `consult_call_over`).
                self.hangup_both(now, consult, "consult-cancelled", "system");
            }
            ConsultState::Cancelling | ConsultState::Abandoned => {
                return Err(CallControlError::ConsultNotReady {
                    call: uuid.to_string(),
                    why: "the consultation is already ending",
                })
            }
        }
        self.drain_transactions(now);
        Ok(())
    }

    fn consult_of(
        &self,
        uuid: &str,
        call: CallRef,
    ) -> Result<(CallRef, ConsultState), CallControlError> {
        self.calls
            .calls
            .get(&call)
            .and_then(|c| c.consult.as_ref())
            .map(|k| (k.call, k.state))
            .ok_or_else(|| CallControlError::NoConsult(uuid.to_string()))
    }

    fn set_consult_state(&mut self, call: CallRef, state: ConsultState) {
        if let Some(k) = self
            .calls
            .calls
            .get_mut(&call)
            .and_then(|c| c.consult.as_mut())
        {
            k.state = state;
        }
    }

    /// The consult call's parent and that parent's consultation state, if it still is one.
    fn parent_of(&self, consult: CallRef) -> Option<(CallRef, ConsultState)> {
        let c = self.calls.calls.get(&consult)?;
        let App::ConsultTarget { parent } = c.app else {
            return None;
        };
        let k = self.calls.calls.get(&parent)?.consult.as_ref()?;
        (k.call == consult).then_some((parent, k.state))
    }

    /// The target answered (its SDP is read, the consult call's A side is known): move the
    /// agent onto the consult call, or hang up a target no longer wanted.
    pub(super) fn consult_answered(&mut self, now: Instant, consult: CallRef) {
        let wanted = self
            .parent_of(consult)
            .filter(|(_, s)| *s == ConsultState::Ringing);
        let Some((parent, _)) = wanted else {
            self.bye(now, consult, Side::A);
            return self.end_call(now, consult, "consult-cancelled", "system");
        };
        if let Some(k) = self.calls.calls.get(&consult) {
            let journal = Box::new(k.cdr.clone());
            self.out.push_back(Output::Cdr(CdrWrite::Start(journal)));
        }
        self.out.push_back(Output::Media(MediaCommand::StopPlay {
            call: parent,
            side: Side::B,
        }));
        let port = self
            .calls
            .calls
            .get(&consult)
            .map(|k| k.b.port)
            .unwrap_or(0);
        if self.repoint(now, parent, Side::B, port) {
            self.set_consult_state(parent, ConsultState::Joining);
        } else {
            self.hangup_both(now, consult, "consult-failed", "system");
        }
    }

    /// A consult call is ending: put its parent back as it was (or hang up a consult call
    /// whose parent is ending).
    pub(super) fn consult_call_over(&mut self, now: Instant, call: CallRef) {
        // The customer's call ends: its consultation goes with it.
        let mine = self
            .calls
            .calls
            .get_mut(&call)
            .and_then(|c| c.consult.take());
        if let Some(k) = mine {
            if k.state == ConsultState::Ringing {
                let dest = self.calls.calls.get(&k.call).map(|c| c.a.dialog.peer);
                if let (Some(req), Some(dest)) = (super::cancel_for(&k.invite), dest) {
                    self.send_client(now, k.call, Purpose::Cancel, req, dest);
                }
            } else {
                self.hangup_both(now, k.call, "consult-over", "system");
            }
            return;
        }
        let Some((parent, state)) = self.parent_of(call) else {
            return;
        };
        match state {
            // The agent's move is still pending: it is moved back when it answers.
            ConsultState::Joining => self.set_consult_state(parent, ConsultState::Abandoned),
            ConsultState::Ringing | ConsultState::Cancelling | ConsultState::Abandoned => {
                if state == ConsultState::Ringing {
                    self.give_back_to_agent(now, parent);
                }
                if let Some(c) = self.calls.calls.get_mut(&parent) {
                    c.consult = None;
                }
            }
            ConsultState::Talking | ConsultState::Completing => {
                if let Some(c) = self.calls.calls.get_mut(&parent) {
                    c.consult = None;
                }
                // Before the consult relay closes: the agent's stream goes back with it.
                self.out.push_back(Output::Media(MediaCommand::HandOver {
                    from: call,
                    side: Side::B,
                    to: parent,
                    to_side: Side::B,
                }));
                let port = self.calls.calls.get(&parent).map(|c| c.b.port).unwrap_or(0);
                if !self.repoint(now, parent, Side::B, port) {
                    tracing::warn!(call = parent, "the agent cannot be moved back: hanging up");
                    return self.hangup_both(now, parent, "consult-restore-failed", "system");
                }
                self.give_back_to_agent(now, parent);
            }
        }
    }

    /// Customer and agent hear each other again.
    fn give_back_to_agent(&mut self, now: Instant, call: CallRef) {
        self.stop_hold(now, call);
        self.out.push_back(Output::Media(MediaCommand::StopPlay {
            call,
            side: Side::B,
        }));
        self.out
            .push_back(Output::Media(MediaCommand::Bridge { call, on: true }));
    }

    /// Re-INVITE `side` of `call` to send its media to our `port` (same SDP session, next
    /// version, the call's one codec). False: no dialog, or an offer/answer is under way.
    fn repoint(&mut self, now: Instant, call: CallRef, side: Side, port: u16) -> bool {
        let (local, ua, branch) = (self.local, self.cfg.user_agent.clone(), self.new_branch());
        let media = LocalMedia {
            addr: self.cfg.media_address,
            port,
            ptime: Some(self.cfg.ptime_ms),
        };
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return false;
        };
        let (Some(codec), te) = (c.codec, c.b.telephone_event) else {
            return false;
        };
        if c.reinvite.is_some() {
            return false;
        }
        let (origin, _) = c.local_media(side);
        let body = sdp::build_offer(origin, &media, &[codec], te, Direction::SendRecv).to_bytes();
        c.local_sdp[side as usize] = Some(body.clone());
        let Some(d) = c.dialog_mut(side) else {
            return false;
        };
        let peer = d.peer;
        let Some(req) = d
            .request("INVITE", &local, &branch, &ua)
            .build(Some("application/sdp"), &body)
        else {
            return false;
        };
        self.send_client(now, call, Purpose::Repoint(side), req, peer)
            .is_some()
    }

    /// The answer to a `repoint` re-INVITE.
    pub(super) fn repoint_response(
        &mut self,
        now: Instant,
        call: CallRef,
        side: Side,
        resp: &rsip::Response,
    ) {
        let code = resp.status_code.code();
        if code < 200 {
            return;
        }
        let ok = (200..300).contains(&code);
        if ok {
            self.ack_in_dialog(call, side, resp);
        }
        let neg = ok
            .then(|| {
                let c = self.calls.calls.get(&call)?;
                let sd = sdp::parse(&resp.body).ok()?;
                sdp::answered_audio(&sd, &[c.codec?]).ok()
            })
            .flatten();
        self.repointed(now, call, side, neg);
    }

    /// A `repoint` re-INVITE ended: `neg` is the answer (None: refused or timed out).
    pub(super) fn repointed(
        &mut self,
        now: Instant,
        call: CallRef,
        side: Side,
        neg: Option<sdp::Negotiated>,
    ) {
        let remote = |ep: &mut Endpoint, on: CallRef, on_side: Side, n: &sdp::Negotiated| {
            ep.media_remote(
                on,
                on_side,
                n.direction,
                n.remote,
                n.remote_rtcp,
                n.telephone_event,
            );
        };
        // The agent's leg (the customer's call's B side) moved onto the consult call, or back.
        if side == Side::B {
            let consult = self
                .calls
                .calls
                .get(&call)
                .and_then(|c| c.consult.as_ref())
                .map(|k| (k.call, k.state));
            match (consult, neg) {
                (Some((k, ConsultState::Joining)), Some(n)) => {
                    // The agent's phone signals through the customer's call: its IP latches
                    // too (a phone's SDP may name an address its RTP does not come from).
                    let signal_ip = self
                        .calls
                        .calls
                        .get(&call)
                        .and_then(|c| c.b.dialog.as_ref())
                        .map(|d| d.peer.addr.ip());
                    self.out.push_back(Output::Media(MediaCommand::Remote {
                        call: k,
                        side: Side::B,
                        rtp: n.remote,
                        rtcp: n.remote_rtcp,
                        signal_ip,
                        telephone_event: n.telephone_event,
                        active: true,
                    }));
                    self.out.push_back(Output::Media(MediaCommand::HandOver {
                        from: call,
                        side: Side::B,
                        to: k,
                        to_side: Side::B,
                    }));
                    self.out
                        .push_back(Output::Media(MediaCommand::Bridge { call: k, on: true }));
                    self.set_consult_state(call, ConsultState::Talking);
                    tracing::info!(call, "agent and consulted target connected");
                }
                (Some((k, ConsultState::Joining)), None) => {
                    tracing::info!(
                        call,
                        "the agent's phone refused the move: consultation over"
                    );
                    self.hangup_both(now, k, "consult-failed", "system");
                }
                (Some((_, ConsultState::Abandoned)), answered) => {
                    if let Some(c) = self.calls.calls.get_mut(&call) {
                        c.consult = None;
                    }
                    let port = self.calls.calls.get(&call).map(|c| c.b.port).unwrap_or(0);
                    if answered.is_some() && !self.repoint(now, call, Side::B, port) {
                        return self.hangup_both(now, call, "consult-restore-failed", "system");
                    }
                    self.give_back_to_agent(now, call);
                }
                (None, Some(n)) => remote(self, call, Side::B, &n),
                (None, None) => {
                    tracing::warn!(call, "the agent's phone refused to come back: hanging up");
                    self.hangup_both(now, call, "consult-restore-failed", "system");
                }
                _ => {}
            }
            return;
        }
        // The target (the consult call's A side) moved onto the customer's call.
        let Some((parent, ConsultState::Completing)) = self.parent_of(call) else {
            return;
        };
        match neg {
            Some(n) => self.join(now, parent, call, &n),
            None => {
                tracing::info!(
                    call,
                    "the target refused the move: the consultation goes on"
                );
                self.set_consult_state(parent, ConsultState::Talking);
            }
        }
    }

    /// Make the target (the consult call's A side, now sending to `parent`'s B port) the
    /// other side of `parent`, and hang up the agent's leg.
    fn join(&mut self, now: Instant, parent: CallRef, consult: CallRef, n: &sdp::Negotiated) {
        let media_ip = self.cfg.media_address;
        let Some(k) = self.calls.calls.get_mut(&consult) else {
            return;
        };
        let (dialog, origin, sdp_body, session) = (
            k.a.dialog.clone(),
            // The consult call is ending: its o= state (the session the target knows) moves.
            std::mem::replace(&mut k.a.origin, crate::sdp::OriginState::new(0, media_ip)),
            k.local_sdp[Side::A as usize].clone(),
            k.session[Side::A as usize],
        );
        let target = self
            .calls
            .calls
            .get_mut(&parent)
            .and_then(|c| c.consult.take())
            .map(|k| k.target)
            .unwrap_or_default();
        // The consult call is over; its dialog with the target (and the stream the target
        // sees) lives on in `parent`.
        self.out.push_back(Output::Media(MediaCommand::HandOver {
            from: consult,
            side: Side::A,
            to: parent,
            to_side: Side::B,
        }));
        self.end_call(now, consult, "transferred", "system");
        self.release_b(now, parent);
        let Some(c) = self.calls.calls.get_mut(&parent) else {
            return;
        };
        self.calls.dialogs.insert(
            (dialog.call_id.clone(), dialog.local_tag.clone()),
            (parent, Side::B),
        );
        c.cdr.b_call_id = Some(dialog.call_id.clone());
        c.b.dialog = Some(dialog);
        c.b.origin = origin;
        c.local_sdp[Side::B as usize] = sdp_body;
        c.session[Side::B as usize] = session;
        c.cdr.callee = target.clone();
        let list = c.cdr.transferred_to.get_or_insert_with(String::new);
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(&target);
        let (uuid, journal) = (c.uuid.clone(), Box::new(c.cdr.clone()));
        self.media_remote(
            parent,
            Side::B,
            n.direction,
            n.remote,
            n.remote_rtcp,
            n.telephone_event,
        );
        self.out.push_back(Output::Media(MediaCommand::Bridge {
            call: parent,
            on: true,
        }));
        self.count_callee_busy(now, parent);
        self.clear_call_timer(parent, CallTimer::RefreshB);
        self.arm_session(now, parent, Side::B);
        tracing::info!(call = %uuid, target, "attended transfer completed");
        self.out.push_back(Output::Cdr(CdrWrite::Start(journal)));
        self.out.push_back(Output::Event(CallEvent::Transferred {
            call: uuid,
            target,
            destination: "consulted",
            kind: "attended",
        }));
    }
}
