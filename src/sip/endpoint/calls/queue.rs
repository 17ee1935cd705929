//! Callers waiting in an ACD queue: answered by us, music and announcements while the
//! engine looks for an agent; an offer rings the agent's phone (the caller keeps hearing
//! music), an answer bridges them, a failure puts the caller back in line where they were.

use std::time::{Duration, Instant};

use super::local::App;
use super::{CallRef, CallTimer, MediaCommand, Side};
use crate::acd::{self, CallId, OfferFailure, OfferId, Party, QueueId};
use crate::call::dialplan::{Origin, Target};
use crate::sdp::{self, Direction, LocalMedia};
use crate::sip::endpoint::{Endpoint, Output};

impl Endpoint {
    /// Put a caller we answered into `queue` (by name).
    pub(super) fn enter_queue(&mut self, now: Instant, call: CallRef, queue: &str) {
        let Some(e) = self.acd.engine.as_mut() else {
            return self.leave_unserved(now, call, "no-queue");
        };
        let Some(q) = e.queue_id(queue) else {
            tracing::warn!(call, queue, "no such queue");
            return self.leave_unserved(now, call, "no-queue");
        };
        let priority = self.calls.calls.get(&call).map_or(0, |c| c.priority);
        let Some(e) = self.acd.engine.as_mut() else {
            return;
        };
        match e.handle_call_arrived(now, CallId(call), q, priority) {
            Ok(position) => {
                let Some(c) = self.calls.calls.get_mut(&call) else {
                    return;
                };
                c.app = App::Queued { queue: q };
                c.cdr.queue = Some(queue.to_string());
                tracing::info!(call = %c.uuid, queue, position, "caller queued");
                let x = self.queue_caller(q);
                let mut first: Vec<String> = x.greeting.iter().cloned().collect();
                if first.is_empty() {
                    self.music(call, q);
                } else {
                    first.extend(self.position_prompts(now, call, &x));
                    self.play(call, Side::A, std::mem::take(&mut first), false);
                }
                let every = Duration::from_secs(x.announce_every_secs);
                if x.announcement.is_some() || x.announce_position || x.announce_wait {
                    self.set_call_timer(call, CallTimer::Announce, now + every);
                }
            }
            Err(err) => {
                tracing::info!(call, queue, error = %err, "queue refused the caller");
                let cause = match err {
                    acd::AcdError::QueueFull => "queue-full",
                    acd::AcdError::QueueEmpty => "queue-empty",
                    _ => "queue-refused",
                };
                return self.leave_unserved(now, call, cause);
            }
        }
        self.acd_pump(now);
    }

    /// The queue's caller settings.
    fn queue_caller(&self, q: QueueId) -> acd::config::CallerExperience {
        self.cfg
            .acd
            .queues
            .get(q.0 as usize)
            .map(|c| c.caller.clone())
            .unwrap_or_default()
    }

    fn music(&mut self, call: CallRef, q: QueueId) {
        match self.queue_caller(q).music {
            Some(m) => self.play(call, Side::A, vec![m], true),
            None => self.out.push_back(Output::Media(MediaCommand::StopPlay {
                call,
                side: Side::A,
            })),
        }
    }

    /// "You are caller number N; your expected wait is about M minutes".
    fn position_prompts(
        &self,
        now: Instant,
        call: CallRef,
        x: &acd::config::CallerExperience,
    ) -> Vec<String> {
        let mut v = Vec::new();
        let Some(e) = self.acd.engine.as_ref() else {
            return v;
        };
        let p = |n: &str| format!("prompts/{n}.wav");
        if x.announce_position {
            if let Some(pos) = e.position(CallId(call)).filter(|p| (1..=10).contains(p)) {
                v.push(p("position"));
                v.push(p(&format!("n{pos}")));
            }
        }
        if x.announce_wait {
            if let Some(w) = e.estimated_wait(now, CallId(call)) {
                let mins = w.as_secs().div_ceil(60);
                v.push(p("wait-about"));
                if mins <= 1 {
                    v.push(p("less-than-a-minute"));
                } else {
                    v.push(p(&format!("n{}", mins.min(10))));
                    v.push(p("minutes"));
                }
            }
        }
        v
    }

    /// Periodic announcement for a waiting caller; music resumes when it ends.
    pub(super) fn on_announce(&mut self, now: Instant, call: CallRef) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let q = match c.app {
            App::Queued { queue } | App::Offering { queue, .. } => queue,
            _ => return,
        };
        let x = self.queue_caller(q);
        let mut prompts: Vec<String> = x.announcement.iter().cloned().collect();
        prompts.extend(self.position_prompts(now, call, &x));
        if !prompts.is_empty() {
            self.play(call, Side::A, prompts, false);
        }
        let every = Duration::from_secs(x.announce_every_secs);
        self.set_call_timer(call, CallTimer::Announce, now + every);
    }

    /// A prompt for a waiting caller finished: back to the music.
    pub(super) fn queue_play_done(&mut self, call: CallRef) {
        if let Some(c) = self.calls.calls.get(&call) {
            if let App::Queued { queue } | App::Offering { queue, .. } = c.app {
                self.music(call, queue);
            }
        }
    }

    /// A key from a waiting caller: the exit key leaves the queue.
    pub(super) fn queue_digit(&mut self, now: Instant, call: CallRef, digit: char) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        // The key counts while an agent's phone rings for the caller too (they still hear
        // music and may not want to wait for the answer).
        let queue = match c.app {
            App::Queued { queue } | App::Offering { queue, .. } => queue,
            _ => return,
        };
        let x = self.queue_caller(queue);
        let key = digit.to_string();
        if x.callback_key.as_deref() == Some(key.as_str()) {
            return self.request_callback(now, call);
        }
        if x.exit_key.as_deref() == Some(key.as_str()) {
            if let Some(target) = x.exit_target {
                let e = self
                    .acd
                    .engine
                    .as_mut()
                    .expect("a queued call has an engine");
                // The caller leaves of their own choice: for the engine that is an abandon.
                let _ = e.handle_caller_abandoned(now, CallId(call));
                tracing::info!(call, "caller pressed the exit key");
                self.route_to(now, call, &target);
                self.acd_pump(now);
            }
        }
    }

    /// Everything the engine asked for since the last look.
    pub(in crate::sip::endpoint) fn acd_pump(&mut self, now: Instant) {
        for _ in 0..10_000 {
            let Some(out) = self.acd.engine.as_mut().and_then(|e| e.poll_output()) else {
                return;
            };
            match out {
                acd::Output::Offer {
                    offer,
                    call,
                    agent,
                    queue,
                    callback,
                    ..
                } => self.ring_agent(now, offer, call.0, agent, queue, callback),
                acd::Output::CancelOffer { offer, .. } => self.stop_offer(now, offer),
                acd::Output::Overflow { call, target } => {
                    tracing::info!(call = call.0, ?target, "routing step overflows the caller");
                    self.route_to(now, call.0, &target);
                }
                acd::Output::Exit {
                    call,
                    reason,
                    target,
                } => {
                    tracing::info!(call = call.0, ?reason, "caller leaves the queue unserved");
                    match target {
                        Some(t) => self.route_to(now, call.0, &t),
                        None => {
                            let cause = match reason {
                                acd::ExitReason::Timeout => "queue-timeout",
                                acd::ExitReason::Empty => "queue-empty",
                            };
                            self.leave_unserved(now, call.0, cause);
                        }
                    }
                }
                acd::Output::Event(ev) => {
                    // The engine ends an offer itself at the ring timeout (RONA): the phone
                    // still rings until we cancel it.
                    if let acd::EventKind::OfferEnded { offer, .. } = ev.kind {
                        self.stop_offer(now, offer);
                    }
                    self.persist_agents_of(&ev);
                    if let Some(k) = self.acd.kpis.as_mut() {
                        k.add(&ev);
                    }
                    self.out.push_back(Output::Acd(ev));
                }
            }
        }
        tracing::error!("ACD output did not drain: stopping this round");
    }

    /// Stop ringing an agent for an offer that is over; the caller waits on.
    pub(super) fn stop_offer(&mut self, now: Instant, offer: OfferId) {
        let Some(call) = self.acd.offers.remove(&offer) else {
            return;
        };
        self.cancel_forks(now, call);
        if let Some(c) = self.calls.calls.get_mut(&call) {
            if let App::Offering { queue, offer: o } = c.app {
                if o == offer {
                    c.app = App::Queued { queue };
                    c.forks.clear();
                }
            }
        }
    }

    /// Agent state changes are written through.
    fn persist_agents_of(&mut self, ev: &acd::AcdEvent) {
        if let acd::EventKind::AgentState { agent, .. } = &ev.kind {
            self.persist_agent(*agent);
        }
    }

    /// Move a caller the engine let go of.
    fn route_to(&mut self, now: Instant, call: CallRef, target: &acd::Target) {
        self.clear_call_timer(call, CallTimer::Announce);
        // An agent's phone may ring for the caller still (the exit key, max wait or an
        // overflow during an offer; the engine's CancelOffer comes after its Exit): stop it
        // now, before the caller's B side goes elsewhere and a late cancel hits that instead.
        let offer = match self.calls.calls.get(&call).map(|c| &c.app) {
            Some(App::Offering { offer, .. }) => Some(*offer),
            _ => None,
        };
        if let Some(offer) = offer {
            self.stop_offer(now, offer);
        }
        match target {
            acd::Target::Queue { queue } => self.enter_queue(now, call, queue),
            acd::Target::Extension { extension } => {
                self.leave_queue_app(call);
                self.connect_extension(now, call, extension)
            }
            acd::Target::Voicemail { mailbox } => {
                tracing::warn!(call, mailbox, "voicemail is not available: hanging up");
                self.leave_unserved(now, call, "voicemail-unavailable")
            }
            acd::Target::Callback => {
                tracing::warn!(call, "callback overflow is not available: hanging up");
                self.leave_unserved(now, call, "queue-overflow")
            }
        }
    }

    fn leave_queue_app(&mut self, call: CallRef) {
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.app = App::Bridge;
        }
    }

    /// The caller is let go without an agent.
    fn leave_unserved(&mut self, now: Instant, call: CallRef, cause: &str) {
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.app = App::Bridge;
        }
        self.bye(now, call, Side::A);
        self.end_call(now, call, cause, "system");
    }

    /// Ring the agent's phone for a waiting caller (music goes on until they answer).
    fn ring_agent(
        &mut self,
        now: Instant,
        offer: OfferId,
        call: CallRef,
        agent: acd::AgentId,
        queue: QueueId,
        callback: bool,
    ) {
        if callback {
            return self.ring_agent_for_callback(now, offer, CallId(call), agent);
        }
        let phone = self.agent_phone(agent);
        let contacts = phone
            .as_deref()
            .map(|p| self.contacts_of(p))
            .unwrap_or_default();
        let live = self
            .calls
            .calls
            .get(&call)
            .is_some_and(|c| matches!(c.app, App::Queued { .. }));
        if !live || contacts.is_empty() {
            // Nothing to ring (the phone went away since presence was last told): the agent
            // backs off, the caller keeps their place.
            tracing::info!(call, ?agent, "offer cannot ring: failed");
            let e = self
                .acd
                .engine
                .as_mut()
                .expect("offers come from the engine");
            let _ = e.handle_offer_failed(now, offer, OfferFailure::Busy);
            return;
        }
        let phone = phone.expect("contacts were found for it");
        let media_ip = self.cfg.media_address;
        let ptime = self.cfg.ptime_ms;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let origin = match (&c.cdr.trunk, c.cdr.direction.as_str()) {
            (Some(t), "inbound") => Origin::Trunk(t.clone()),
            _ => Origin::User(c.cdr.caller.clone()),
        };
        let caller = c.cdr.caller.clone();
        let from = c.a.dialog.remote_uri.clone();
        let local = LocalMedia {
            addr: media_ip,
            port: c.b.port,
            ptime: Some(ptime),
        };
        let sdp_offer = sdp::build_offer(
            &mut c.b.origin,
            &local,
            &c.b.offered,
            c.b.telephone_event,
            Direction::SendRecv,
        );
        let body = sdp_offer.to_bytes();
        c.local_sdp[Side::B as usize] = Some(body.clone());
        let target = Target::Extension(phone.clone());
        let campaign = self.is_campaign_call(call);
        let from_uri = if campaign {
            // The agent sees the lead's number, not the campaign's caller ID.
            let lead = self.calls.calls.get(&call).map(|c| c.cdr.callee.clone());
            format!("<sip:{}@{}>", lead.unwrap_or_default(), self.cfg.domain)
        } else {
            self.presentation(&origin, &target, &caller, &from)
        };
        let to_uris = vec![format!("<sip:{phone}@{}>", self.cfg.domain); contacts.len()];
        let (forks, mut reqs) = self.make_forks(&contacts, &to_uris, &from_uri, &body);
        if campaign {
            // The person who answered may wait only seconds: the agent's phone picks up.
            for (_, invite, _) in reqs.iter_mut() {
                for (name, value) in super::campaign::AUTO_ANSWER {
                    invite.headers.push(crate::sip::rsip::headers::make_header(
                        name,
                        value.to_string(),
                    ));
                }
            }
        }
        let agent_name = self.acd.names.get(agent.0 as usize).cloned();
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        for f in &forks {
            self.calls.dialogs.insert(
                (f.dialog.call_id.clone(), f.dialog.local_tag.clone()),
                (call, Side::B),
            );
        }
        c.cdr.b_call_id = forks.first().map(|f| f.dialog.call_id.clone());
        c.forks = forks;
        c.app = App::Offering { queue, offer };
        tracing::info!(call = %c.uuid, agent = ?agent_name, phone = %phone, "offering the caller to an agent");
        self.acd.offers.insert(offer, call);
        self.send_forks(now, call, reqs);
    }

    /// The agent's phone answered: tell the engine, then bridge.
    pub(super) fn offer_answered(&mut self, now: Instant, call: CallRef) -> bool {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return false;
        };
        let App::Offering { offer, .. } = c.app else {
            return false;
        };
        let e = self
            .acd
            .engine
            .as_mut()
            .expect("offers come from the engine");
        if e.handle_offer_answered(now, offer).is_err() {
            return false;
        }
        self.acd.offers.remove(&offer);
        let agent = self
            .acd
            .engine
            .as_ref()
            .and_then(|e| match e.call_status(CallId(call)) {
                Some(acd::CallStatus::Connected { agent, .. }) => Some(agent),
                _ => None,
            });
        let name = agent.and_then(|a| self.acd.names.get(a.0 as usize).cloned());
        let phone = agent.and_then(|a| self.agent_phone(a));
        let campaign = self.is_campaign_call(call);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return false;
        };
        c.app = App::Agent;
        c.cdr.agent = name.clone();
        if let (Some(p), false) = (phone, campaign) {
            // (A campaign call's callee stays the lead it dialled.)
            c.cdr.callee = p;
        }
        self.clear_call_timer(call, CallTimer::Announce);
        if campaign {
            self.campaign_connected(call, name.as_deref().unwrap_or(""));
        }
        self.bridge_media(now, call);
        self.acd_pump(now);
        true
    }

    /// Every device of the offered agent failed: the caller waits on.
    pub(super) fn offer_failed(&mut self, now: Instant, call: CallRef, code: u16) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let App::Offering { queue, offer } = c.app else {
            return;
        };
        c.app = App::Queued { queue };
        c.forks.clear();
        self.acd.offers.remove(&offer);
        let why = match code {
            486 | 600 => OfferFailure::Busy,
            403 | 603 | 488 | 606 => OfferFailure::Rejected,
            _ => OfferFailure::NoAnswer,
        };
        tracing::info!(call, code, ?why, "agent did not take the call");
        if let Some(e) = self.acd.engine.as_mut() {
            let _ = e.handle_offer_failed(now, offer, why);
        }
        self.acd_pump(now);
    }

    /// The call is over: the engine hears of abandons and of finished agent calls.
    pub(super) fn acd_call_over(&mut self, now: Instant, call: CallRef, side: &str) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let Some(e) = self.acd.engine.as_mut() else {
            return;
        };
        let id = CallId(c.acd_id.unwrap_or(call));
        // A callback's A side is the agent; a plain call's is the customer.
        let agent_side = if c.acd_id.is_some() {
            "caller"
        } else {
            "callee"
        };
        match (&c.app, e.call_status(id)) {
            // Asked for a callback: the engine keeps it; this call only said goodbye.
            (App::Goodbye(_), _) => {}
            (App::Offering { offer, .. } | App::CallbackAgent { offer, .. }, _) => {
                let offer = *offer;
                self.acd.offers.remove(&offer);
                if c.acd_id.is_some() {
                    let _ = e.handle_offer_failed(now, offer, OfferFailure::NoAnswer);
                } else {
                    let _ = e.handle_caller_abandoned(now, id);
                }
            }
            (_, Some(acd::CallStatus::Waiting { .. } | acd::CallStatus::Ringing { .. })) => {
                let _ = e.handle_caller_abandoned(now, id);
            }
            (_, Some(acd::CallStatus::Connected { .. })) => {
                let by = if side == agent_side {
                    Party::Agent
                } else {
                    Party::Caller
                };
                let _ = e.handle_call_ended(now, id, by);
            }
            _ => {}
        }
    }

    /// Hold on a call with an agent counts towards its handle time.
    pub(super) fn acd_hold(&mut self, now: Instant, call: CallRef, held: bool) {
        let is_agent_call = self
            .calls
            .calls
            .get(&call)
            .is_some_and(|c| matches!(c.app, App::Agent) || c.acd_id.is_some());
        let id = self
            .calls
            .calls
            .get(&call)
            .and_then(|c| c.acd_id)
            .unwrap_or(call);
        if let (true, Some(e)) = (is_agent_call, self.acd.engine.as_mut()) {
            let _ = e.handle_call_hold(now, CallId(id), held);
            self.acd_pump(now);
        }
    }
}
