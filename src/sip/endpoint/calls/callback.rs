//! Queued callbacks: a waiting caller presses the callback key, keeps their place in line
//! and hangs up; when their turn comes the agent's phone rings first (we are its UAC: the
//! call's A side is the agent), and once the agent answers we dial the customer (through
//! the trunk they came from, or their extension) and bridge the two.

use std::time::Instant;

use super::local::App;
use super::originate::Origination;
use super::{CallRef, CallTimer, Side, State};
use crate::acd::{self, CallId, OfferFailure, OfferId};
use crate::call::dialplan::Target;
use crate::call::sipstr;
use crate::sdp;
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::message::header_value;
use crate::sip::{rsip, Peer};

/// A callback as the driver stores it: the engine's record and how to reach the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackEntry {
    pub record: acd::CallbackRecord,
    /// The customer's number (as it arrived) or extension.
    pub number: String,
    /// The trunk to call them back through (None: `number` is a local extension).
    pub trunk: Option<String>,
}

impl Endpoint {
    /// The waiting caller asked to be called back: the engine keeps their place; they hear
    /// the confirmation and we hang up.
    pub(super) fn request_callback(&mut self, now: Instant, call: CallRef) {
        let Some(e) = self.acd.engine.as_mut() else {
            return;
        };
        let rec = match e.handle_callback_requested(now, CallId(call)) {
            Ok(r) => r,
            Err(err) => {
                tracing::info!(call, error = %err, "callback refused");
                return;
            }
        };
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let trunk = (c.cdr.direction == "inbound")
            .then(|| c.cdr.trunk.clone())
            .flatten();
        let entry = CallbackEntry {
            record: rec,
            number: c.cdr.caller.clone(),
            trunk,
        };
        tracing::info!(call = %c.uuid, number = %entry.number, "queued callback requested");
        c.app = App::Goodbye("callback-requested");
        self.clear_call_timer(call, CallTimer::Announce);
        self.acd
            .callbacks
            .insert(entry.record.call.0, entry.clone());
        self.out.push_back(Output::Callback(entry));
        self.play(
            call,
            Side::A,
            vec!["prompts/callback-confirmed.wav".to_string()],
            false,
        );
        self.acd_pump(now);
    }

    /// Callbacks from the store at start (their place in line is kept).
    pub fn restore_callback(&mut self, now: Instant, entry: CallbackEntry) {
        let Some(e) = self.acd.engine.as_mut() else {
            return;
        };
        if let Err(err) = e.restore_callback(now, &entry.record) {
            tracing::warn!(error = %err, number = %entry.number, "stored callback not restored");
            return;
        }
        // New calls must never reuse the number the engine knows this callback by.
        self.calls.next = self.calls.next.max(entry.record.call.0 + 1);
        self.acd.callbacks.insert(entry.record.call.0, entry);
        self.acd_pump(now);
        self.drain_transactions(now);
    }

    /// A callback's turn: ring the agent first.
    pub(super) fn ring_agent_for_callback(
        &mut self,
        now: Instant,
        offer: OfferId,
        acd_call: CallId,
        agent: acd::AgentId,
    ) {
        let fail = |ep: &mut Endpoint, why: &str| {
            tracing::info!(callback = acd_call.0, why, "callback offer cannot ring");
            if let Some(e) = ep.acd.engine.as_mut() {
                let _ = e.handle_offer_failed(now, offer, OfferFailure::Busy);
            }
        };
        let Some(entry) = self.acd.callbacks.get(&acd_call.0).cloned() else {
            return fail(self, "unknown callback");
        };
        let Some(phone) = self.agent_phone(agent) else {
            return fail(self, "agent has no phone");
        };
        let contacts = self.contacts_of(&phone);
        let Some(first) = contacts.first().cloned() else {
            return fail(self, "agent's phone is not registered");
        };
        let seed = Origination {
            phone: phone.clone(),
            contact: first,
            from_number: entry.number.clone(),
            app: App::CallbackAgent { offer },
            direction: "callback",
            trunk: entry.trunk.clone(),
            queue: Some(entry.record.queue.clone()),
            agent: self.acd.names.get(agent.0 as usize).cloned(),
            acd_id: Some(acd_call.0),
            priority: entry.record.priority,
            codecs: None,
            cdr_parties: None,
            auto_answer: false,
        };
        match self.originate(now, seed) {
            Ok(call) => {
                self.acd.offers.insert(offer, call);
                tracing::info!(call, phone = %phone, number = %entry.number, "callback: ringing the agent first");
            }
            Err(why) => fail(self, why),
        }
    }

    /// The agent's phone answered (or not) a callback's INVITE.
    pub(super) fn agent_first_response(
        &mut self,
        now: Instant,
        call: CallRef,
        resp: rsip::Response,
    ) {
        let code = resp.status_code.code();
        if code < 200 {
            return self.agent_first_ringing(call, code);
        }
        if code >= 300 {
            return self.agent_first_failed(now, call, code);
        }
        let answered_ms = self.calls.unix_ms(now);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        // The phone we rang: an agent for a callback or a click-to-call, a supervisor (API
        // monitoring), or an attended transfer's target.
        let (offer, monitor, click) = match &c.app {
            App::CallbackAgent { offer } => (Some(*offer), None, None),
            App::MonitorPending { target } => (None, Some(*target), None),
            App::ConsultTarget { .. } => (None, None, None),
            App::ClickToCall { number, trunk, .. } => {
                (None, None, Some((number.clone(), trunk.clone())))
            }
            _ => return,
        };
        let consulting = matches!(c.app, App::ConsultTarget { .. });
        // The phone's dialog is now our A side.
        c.a.dialog.remote_tag = header_value(&resp.headers, "To")
            .and_then(sipstr::tag)
            .map(str::to_string);
        if let Some(contact) = header_value(&resp.headers, "Contact") {
            c.a.dialog.remote_target = sipstr::uri(contact).to_string();
        }
        let parsed = sdp::parse(&resp.body).ok();
        let neg = parsed
            .as_ref()
            .and_then(|sd| sdp::answered_audio(sd, &c.b.offered).ok());
        c.state = State::Confirmed;
        c.cdr.answer_unix_ms = Some(answered_ms);
        self.ack_in_dialog(call, Side::A, &resp);
        let Some(neg) = neg else {
            tracing::info!(call, "the phone's SDP answer is unusable");
            if let Some(offer) = offer {
                self.acd.offers.remove(&offer);
                if let Some(e) = self.acd.engine.as_mut() {
                    let _ = e.handle_offer_failed(now, offer, OfferFailure::Rejected);
                }
                if let Some(c) = self.calls.calls.get_mut(&call) {
                    c.app = App::Goodbye("incompatible-media");
                }
            }
            self.bye(now, call, Side::A);
            self.end_call(now, call, "incompatible-media", "system");
            return self.acd_pump(now);
        };
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        c.codec = Some(neg.codec);
        c.b.offered = vec![neg.codec];
        c.a.last_offer = parsed.clone();
        c.a.remote_sdp_version = parsed.map(|p| p.origin.session_version).unwrap_or(0);
        self.media_remote(
            call,
            Side::A,
            neg.direction,
            neg.remote,
            neg.remote_rtcp,
            neg.telephone_event,
        );
        if consulting {
            return self.consult_answered(now, call);
        }
        if let Some(target) = monitor {
            self.out
                .push_back(Output::Cdr(super::CdrWrite::Start(Box::new(
                    self.calls
                        .calls
                        .get(&call)
                        .map(|c| c.cdr.clone())
                        .unwrap_or_default(),
                ))));
            if !self.calls.calls.contains_key(&target) {
                self.bye(now, call, Side::A);
                return self.end_call(now, call, "monitored-call-ended", "system");
            }
            return self.start_monitor(call, target);
        }
        if let Some((number, trunk)) = click {
            return self.click_to_call_answered(now, call, &number, trunk.as_deref());
        }
        let Some(offer) = offer else { return };
        self.acd.offers.remove(&offer);
        if let Some(e) = self.acd.engine.as_mut() {
            let _ = e.handle_offer_answered(now, offer);
        }
        let entry = self
            .calls
            .calls
            .get(&call)
            .and_then(|c| c.acd_id)
            .and_then(|id| self.acd.callbacks.remove(&id));
        if let Some(entry) = &entry {
            self.out
                .push_back(Output::CallbackDone(entry.record.call.0));
        }
        self.out
            .push_back(Output::Cdr(super::CdrWrite::Start(Box::new(
                self.calls
                    .calls
                    .get(&call)
                    .map(|c| c.cdr.clone())
                    .unwrap_or_default(),
            ))));
        // The agent hears ringback while the customer's phone rings.
        self.play(
            call,
            Side::A,
            vec![super::local::RINGBACK.to_string()],
            true,
        );
        match entry {
            Some(e) => self.dial_customer(now, call, &e.number, e.trunk.as_deref()),
            None => {
                self.bye(now, call, Side::A);
                self.end_call(now, call, "callback-lost", "system");
            }
        }
        self.acd_pump(now);
    }

    /// The agent's phone did not take the callback: the customer keeps their place.
    pub(super) fn agent_first_failed(&mut self, now: Instant, call: CallRef, code: u16) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let offer = match c.app {
            App::CallbackAgent { offer } => offer,
            App::MonitorPending { .. } => {
                c.app = App::Bridge;
                return self.end_call(now, call, "monitor-unanswered", "callee");
            }
            App::ConsultTarget { .. } => {
                // The parent gets its agent back as the consult call ends.
                let cause = if code == 487 {
                    "consult-cancelled"
                } else {
                    "consult-failed"
                };
                return self.end_call(now, call, cause, "callee");
            }
            App::ClickToCall { .. } => {
                c.app = App::Bridge;
                let cause = match code {
                    486 | 600 => "agent-busy",
                    403 | 603 => "agent-rejected",
                    _ => "agent-unanswered",
                };
                tracing::info!(call = %c.uuid, code, cause, "click-to-call: the agent's phone did not answer");
                return self.end_call(now, call, cause, "callee");
            }
            _ => return,
        };
        // The engine hears of it here, not again when the call ends (it keeps the callback).
        c.app = App::Goodbye("callback-agent-unavailable");
        self.acd.offers.remove(&offer);
        let why = match code {
            486 | 600 => OfferFailure::Busy,
            403 | 603 => OfferFailure::Rejected,
            _ => OfferFailure::NoAnswer,
        };
        if let Some(e) = self.acd.engine.as_mut() {
            let _ = e.handle_offer_failed(now, offer, why);
        }
        self.end_call(now, call, "callback-agent-unavailable", "callee");
        self.acd_pump(now);
    }

    /// Dial the customer once the agent answered (a callback, a click-to-call): `number`
    /// through `trunk`, or the extension `number` when there is no trunk.
    pub(super) fn dial_customer(
        &mut self,
        now: Instant,
        call: CallRef,
        number: &str,
        trunk: Option<&str>,
    ) {
        let targets: Vec<(String, Peer)> = match trunk {
            Some(t) => match self.cfg.trunks.iter().find(|x| x.name == t) {
                Some(t) => vec![(
                    format!(
                        "sip:{number}@{}:{}",
                        crate::call::dialog::host(t.address),
                        t.address.port()
                    ),
                    Peer::udp(t.address),
                )],
                None => Vec::new(),
            },
            None => self.contacts_of(number),
        };
        if targets.is_empty() {
            tracing::info!(call, number, "the customer cannot be reached");
            let callback = self
                .calls
                .calls
                .get(&call)
                .is_some_and(|c| c.cdr.direction == "callback");
            let cause = if callback {
                "callback-unreachable"
            } else {
                "customer-unreachable"
            };
            self.bye(now, call, Side::A);
            return self.end_call(now, call, cause, "system");
        }
        let target = match trunk {
            Some(t) => Target::Trunk {
                trunk: t.to_string(),
                number: number.to_string(),
            },
            None => Target::Extension(number.to_string()),
        };
        self.connect_to(now, call, targets, number, target);
    }
}
