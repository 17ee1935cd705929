//! Calls we answer ourselves: the caller walks an IVR (prompts out, digits in), then is put
//! through to an extension (hearing ringback until it answers) or hung up. The B side of
//! such a call is placed later, with the one codec already agreed with the caller.

use std::time::Instant;

use super::{CallRef, CallTimer, MediaCommand, Side, State};
use crate::call::dialplan::{Origin, Target};
use crate::ivr::{Exit, IvrOutput, IvrSession};
use crate::media::player::Law;
use crate::sdp::{self, CodecName, Direction, LocalMedia};
use crate::sip::endpoint::{Endpoint, Output};

/// What we do with the caller besides relaying.
pub(super) enum App {
    /// A plain B2BUA call: relayed, answered when the callee answers.
    Bridge,
    /// Answered by us; the caller is in the IVR.
    Ivr(Box<IvrSession>),
    /// Answered by us; ringing a destination (the caller hears ringback). Becomes `Bridge`
    /// when it answers.
    Connecting,
    /// Waiting in an ACD queue (music, announcements).
    Queued { queue: crate::acd::QueueId },
    /// Waiting, while an agent's phone rings for this caller.
    Offering {
        queue: crate::acd::QueueId,
        offer: crate::acd::OfferId,
    },
    /// Talking to the agent who answered.
    Agent,
    /// An agent's feature code: the confirmation plays, then we hang up.
    Feature,
    /// A last prompt plays, then we hang up with this cause.
    Goodbye(&'static str),
    /// A queued callback's turn: the agent's phone (our A side, we are its UAC) rings.
    CallbackAgent { offer: crate::acd::OfferId },
    /// A supervisor's call, listening in on `target`.
    Monitor { target: CallRef },
    /// The supervisor's phone rings (monitoring started from the API).
    MonitorPending { target: CallRef },
    /// An attended transfer's target (our A side, we are its UAC) for `parent`'s agent.
    ConsultTarget { parent: CallRef },
    /// Click-to-call: the agent's phone (our A side) rings; once it answers we dial
    /// `number` (through `trunk`, or the extension) and bridge.
    ClickToCall {
        number: String,
        trunk: Option<String>,
        rang: bool,
    },
}

/// What a call we answer ourselves does first.
pub(super) enum Local {
    Ivr(String),
    Queue(String),
    /// A feature code's confirmation prompt (None: it was refused).
    Feature(Option<&'static str>),
    /// A supervisor's monitoring session (None: refused).
    Monitor(Option<CallRef>),
}

/// The built-in ringback (North American: 440 + 480 Hz, 2 s on, 4 s off).
pub const RINGBACK: &str = "builtin:ringback";

impl Endpoint {
    /// Answer the caller with one codec from their offer, then start `what`.
    pub(super) fn answer_locally(&mut self, now: Instant, call: CallRef, what: Local) {
        let media_ip = self.cfg.media_address;
        let ptime = self.cfg.ptime_ms;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let (Some(codec), Some(offer)) = (c.b.offered.first().copied(), c.a.last_offer.as_ref())
        else {
            return;
        };
        let local = LocalMedia {
            addr: media_ip,
            port: c.a.port,
            ptime: Some(ptime),
        };
        let te = c.b.telephone_event.is_some();
        let Ok(answer) = sdp::build_answer(
            &mut c.a.origin,
            &local,
            offer,
            codec,
            te,
            Direction::SendRecv,
        ) else {
            return;
        };
        c.a.answer = Some(answer.to_bytes());
        c.local_sdp[Side::A as usize] = c.a.answer.clone();
        c.codec = Some(codec);
        c.b.offered = vec![codec];
        c.local = true;
        self.out
            .push_back(Output::Media(MediaCommand::Bridge { call, on: false }));
        match what {
            Local::Ivr(menu) => {
                c.app = App::Ivr(Box::new(IvrSession::new(&self.cfg.ivr.menus, &menu)));
                tracing::info!(call = %c.uuid, menu, "caller enters the IVR");
                self.ok_to_caller(now, call);
                self.ivr_pump(now, call);
            }
            Local::Queue(q) => {
                self.ok_to_caller(now, call);
                self.enter_queue(now, call, &q);
            }
            Local::Monitor(Some(target)) => {
                self.ok_to_caller(now, call);
                self.start_monitor(call, target);
            }
            Local::Monitor(None) => {
                c.app = App::Feature;
                self.ok_to_caller(now, call);
                let p = "prompts/agent-refused.wav".to_string();
                self.play(call, Side::A, vec![p], false);
            }
            Local::Feature(prompt) => {
                c.app = App::Feature;
                self.ok_to_caller(now, call);
                let p = prompt.unwrap_or("prompts/agent-refused.wav");
                self.play(call, Side::A, vec![p.to_string()], false);
            }
        }
    }

    /// A key press from a side of a call (RFC 4733 or SIP INFO).
    pub(super) fn on_digit(&mut self, now: Instant, call: CallRef, side: Side, digit: char) {
        let menus = &self.cfg.ivr.menus;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if let (Side::A, App::Ivr(s)) = (side, &mut c.app) {
            s.handle_digit(now, menus, digit);
            self.ivr_pump(now, call);
        } else if side == Side::A && !self.monitor_digit(call, digit) {
            self.queue_digit(now, call, digit);
        }
    }

    pub(super) fn on_play_done(&mut self, now: Instant, call: CallRef, side: Side, id: u64) {
        let menus = &self.cfg.ivr.menus;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        // Only the end of the latest prompts counts (an interrupted one reports late).
        if side != Side::A || c.play_id != id {
            return;
        }
        match &mut c.app {
            App::Ivr(s) => {
                s.handle_prompt_done(now, menus);
                self.ivr_pump(now, call);
            }
            App::Feature => {
                self.bye(now, call, Side::A);
                self.end_call(now, call, "feature-code", "system");
            }
            App::Goodbye(cause) => {
                let cause = *cause;
                self.bye(now, call, Side::A);
                self.end_call(now, call, cause, "system");
            }
            App::Queued { .. } | App::Offering { .. } => self.queue_play_done(call),
            _ => {}
        }
    }

    pub(super) fn on_ivr_timeout(&mut self, now: Instant, call: CallRef) {
        let menus = &self.cfg.ivr.menus;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if let App::Ivr(s) = &mut c.app {
            s.handle_timeout(now, menus);
            self.ivr_pump(now, call);
        }
    }

    /// Carry out what the caller's IVR session asks for.
    fn ivr_pump(&mut self, now: Instant, call: CallRef) {
        loop {
            let Some(c) = self.calls.calls.get_mut(&call) else {
                return;
            };
            let App::Ivr(s) = &mut c.app else { return };
            let Some(out) = s.poll_output() else { break };
            match out {
                IvrOutput::Play(prompts) => self.play(call, Side::A, prompts, false),
                IvrOutput::SetVariable { name, value } => {
                    tracing::info!(call = %c.uuid, variable = %name, "IVR input collected");
                    c.vars.push((name, value));
                }
                IvrOutput::Exit(exit) => return self.ivr_exit(now, call, exit),
            }
        }
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let next = match &c.app {
            App::Ivr(s) => s.poll_timeout(),
            _ => None,
        };
        match next {
            Some(at) => self.set_call_timer(call, CallTimer::Ivr, at),
            None => self.clear_call_timer(call, CallTimer::Ivr),
        }
    }

    fn ivr_exit(&mut self, now: Instant, call: CallRef, exit: Exit) {
        self.clear_call_timer(call, CallTimer::Ivr);
        if let Some(c) = self.calls.calls.get(&call) {
            tracing::info!(call = %c.uuid, ?exit, "caller leaves the IVR");
        }
        match exit {
            Exit::Hangup => {
                self.bye(now, call, Side::A);
                self.end_call(now, call, "ivr-hangup", "system");
            }
            Exit::Extension(ext) => self.connect_extension(now, call, &ext),
            Exit::Queue(q) => self.enter_queue(now, call, &q),
        }
    }

    /// Ring every device of `ext` for a caller we already answered.
    pub(super) fn connect_extension(&mut self, now: Instant, call: CallRef, ext: &str) {
        let contacts = self.contacts_of(ext);
        if contacts.is_empty() {
            tracing::info!(call, callee = %ext, "extension not registered: hanging up");
            self.bye(now, call, Side::A);
            return self.end_call(now, call, "unavailable", "system");
        }
        self.connect_to(now, call, contacts, ext, Target::Extension(ext.to_string()));
    }

    /// Ring `contacts` (an extension's devices, or a trunk) for the answered A side, which
    /// hears ringback until one answers; `callee` names the destination in the CDR, `target`
    /// its kind (a trunk's caller ID and To URI differ from an extension's).
    pub(super) fn connect_to(
        &mut self,
        now: Instant,
        call: CallRef,
        contacts: Vec<(String, crate::sip::Peer)>,
        callee: &str,
        target: Target,
    ) {
        let ext = callee;
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
        let offer = sdp::build_offer(
            &mut c.b.origin,
            &local,
            &c.b.offered,
            c.b.telephone_event,
            Direction::SendRecv,
        );
        let body = offer.to_bytes();
        c.local_sdp[Side::B as usize] = Some(body.clone());
        let present = c.present.clone();
        let from_uri = match &target {
            // Click-to-call's caller ID, when given, wins.
            _ if present.is_some() => format!(
                "<sip:{}@{}>",
                present.as_deref().unwrap_or_default(),
                self.cfg.domain
            ),
            // A callback out through a trunk presents the trunk's caller ID.
            Target::Trunk { trunk, .. } => {
                let t = self.cfg.trunks.iter().find(|t| t.name == *trunk);
                let number = t
                    .and_then(|t| t.caller_id.clone())
                    .unwrap_or_else(|| caller.clone());
                format!("<sip:{number}@{}>", self.cfg.domain)
            }
            _ => self.presentation(&origin, &target, &caller, &from),
        };
        let to_uris: Vec<String> = contacts
            .iter()
            .map(|(ruri, _)| match &target {
                Target::Trunk { .. } => format!("<{ruri}>"),
                _ => format!("<sip:{ext}@{}>", self.cfg.domain),
            })
            .collect();
        let (forks, reqs) = self.make_forks(&contacts, &to_uris, &from_uri, &body);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        for f in &forks {
            self.calls.dialogs.insert(
                (f.dialog.call_id.clone(), f.dialog.local_tag.clone()),
                (call, Side::B),
            );
        }
        if c.cdr.direction != "callback" {
            c.cdr.callee = ext.to_string();
        }
        c.cdr.b_call_id = forks.first().map(|f| f.dialog.call_id.clone());
        c.forks = forks;
        c.app = App::Connecting;
        tracing::info!(call = %c.uuid, callee = %ext, forks = reqs.len(), "ringing for an answered caller");
        self.play(call, Side::A, vec![RINGBACK.to_string()], true);
        self.send_forks(now, call, reqs);
        let ring = self.cfg.ring_timeout;
        self.set_call_timer(call, CallTimer::Ring, now + ring);
    }

    /// The destination of a caller we answered picked up: they hear each other now.
    pub(super) fn bridge_local(&mut self, now: Instant, call: CallRef) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        c.app = App::Bridge;
        self.bridge_media(now, call);
    }

    /// Stop what plays to the caller and let the two sides hear each other.
    pub(super) fn bridge_media(&mut self, now: Instant, call: CallRef) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        tracing::info!(call = %c.uuid, "connected");
        self.out.push_back(Output::Media(MediaCommand::StopPlay {
            call,
            side: Side::A,
        }));
        self.out
            .push_back(Output::Media(MediaCommand::Bridge { call, on: true }));
        self.recording_connected(now, call);
    }

    /// A callee who is a local user is busy while on this call.
    pub(super) fn count_callee_busy(&mut self, now: Instant, call: CallRef) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let callee = c.cdr.callee.clone();
        if self.cfg.users.contains_key(&callee) {
            c.busy_exts.push(callee.clone());
            self.ext_call(now, &callee, 1);
        }
    }

    /// True while a caller we answered waits for a destination to pick up.
    pub(super) fn is_connecting(&self, call: CallRef) -> bool {
        self.calls
            .calls
            .get(&call)
            .is_some_and(|c| matches!(c.app, App::Connecting) && c.state != State::Ringing)
    }

    pub(super) fn play(&mut self, call: CallRef, side: Side, prompts: Vec<String>, looping: bool) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        c.play_id += 1;
        let law = match c.codec.map(|k| k.name) {
            Some(CodecName::Pcma) => Law::Pcma,
            _ => Law::Pcmu,
        };
        self.out.push_back(Output::Media(MediaCommand::Play {
            call,
            side,
            prompts,
            law,
            looping,
            id: c.play_id,
        }));
    }
}
