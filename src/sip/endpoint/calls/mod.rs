//! The B2BUA, sans-IO: every call is an A leg (the caller's dialog, we are its UAS) and one
//! or more B legs (forks to each registered device, or one trunk call; we are their UAC).
//! SDP is terminated on both sides (our media address, our offer/answer) and RTP is anchored
//! through `media::relay`, driven by `Output::Media`.
//!
//! All call signalling is owned by the endpoint (one owner, no locks); each call's media
//! runs in its own relay task.

mod api;
mod block;
mod callback;
mod campaign;
mod campaign_agent;
mod click_to_call;
mod consult;
mod control;
mod disposition;
mod hold;
mod indialog;
mod invite;
mod local;
mod monitor;
mod originate;
mod outgoing;
mod queue;
mod recording;
mod timers;
mod transfer;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Endpoint, Output};
use crate::call::cdr::Cdr;
use crate::call::dialog::Dialog;
use crate::call::ports::PortPool;
use crate::sdp::{Codec, OriginState, SessionDescription};
use crate::sip::rsip;
use crate::sip::transaction::TxKey;

pub use api::API_HANGUP_CAUSE;
pub use block::{valid_number, BlockChange, BlockEntry, BlockError, BLOCKED_CAUSE};
pub use callback::CallbackEntry;
pub use campaign::{CampaignDial, DialError, DialerEvent, DialerEventKind};
pub use click_to_call::{ClickToCall, OriginateError, CLICK_TO_CALL_DIRECTION};
pub use control::CallControlError;
pub use disposition::{DispositionError, DispositionSet, DISPOSITION_WINDOW};
pub use local::RINGBACK;
pub use recording::{
    RecordOp, RecordingControl, RecordingControlError, RecordingNote, RecordingPhase,
    RecordingPolicies,
};
pub use timers::CallTimer;

pub type CallRef = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Work for the media driver.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Bind the port pairs and start relaying (nothing flows until remotes are known).
    Open {
        call: CallRef,
        a_port: u16,
        b_port: u16,
    },
    /// Where a side's media is expected from and sent to (None = on hold with no address).
    Remote {
        call: CallRef,
        side: Side,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
        /// Where this side signals from: media from there is accepted too (NAT).
        signal_ip: Option<IpAddr>,
        /// RFC 4733 payload type this side sends DTMF with.
        telephone_event: Option<u8>,
        /// False while on hold: the inactivity timeout is off.
        active: bool,
    },
    Close {
        call: CallRef,
    },
    /// Play prompts (by name) to a side, replacing what plays there.
    Play {
        call: CallRef,
        side: Side,
        prompts: Vec<String>,
        law: crate::media::player::Law,
        looping: bool,
        id: u64,
    },
    StopPlay {
        call: CallRef,
        side: Side,
    },
    /// Whether the two sides hear each other.
    Bridge {
        call: CallRef,
        on: bool,
    },
    /// The leg on `from`'s `side` now talks through `to`'s `to_side` (attended transfer):
    /// its outgoing stream state (SSRC, sequence, timestamp) moves along.
    HandOver {
        from: CallRef,
        side: Side,
        to: CallRef,
        to_side: Side,
    },
    /// `supervisor` (a call of ours) monitors `target` in `mode`; each call's law given.
    Monitor {
        target: CallRef,
        supervisor: CallRef,
        mode: crate::media::monitor::MonitorMode,
        law: crate::media::player::Law,
        supervisor_law: crate::media::player::Law,
    },
    MonitorMode {
        target: CallRef,
        mode: crate::media::monitor::MonitorMode,
    },
    MonitorStop {
        target: CallRef,
    },
    /// Start, pause, resume or stop the call's recording.
    Record {
        call: CallRef,
        op: RecordOp,
    },
    /// Listen to side A's audio: answering machine detection (from now, with these
    /// settings) and/or SIT detection; the one decision comes back as `MediaEvent::Amd` or
    /// `MediaEvent::SitDetected`. Replaces any analysis running; `None`/`false` stops it.
    Analyze {
        call: CallRef,
        amd: Option<crate::dialer::amd_config::AmdConfig>,
        sit: bool,
    },
    /// After a MACHINE verdict (`machine_action = "message"`): listen to side A for the
    /// voicemail's beep; `MediaEvent::MessageCue` says when to start the message.
    AwaitBeep {
        call: CallRef,
        amd: Box<crate::dialer::amd_config::AmdConfig>,
    },
}

/// Something the relay noticed.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    Dtmf {
        side: Side,
        digit: char,
        duration_ms: u32,
    },
    /// No RTP from either side for the configured time.
    Timeout,
    /// The ports could not be bound.
    Failed(String),
    /// What `MediaCommand::Play` asked for has been played to the end.
    PlayDone { side: Side, id: u64 },
    /// The answering machine detector's verdict on side A (`MediaCommand::Analyze`).
    Amd(crate::dialer::amd::AmdResult),
    /// A special information tone in side A's audio (`MediaCommand::Analyze`).
    SitDetected {
        category: crate::dialer::amd::SitCategory,
    },
    /// The moment to start a machine message (`MediaCommand::AwaitBeep`).
    MessageCue(crate::dialer::amd::BeepResult),
}

/// Call events for logs now, the event bus (gRPC) later.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    Created {
        call: String,
        caller: String,
        callee: String,
    },
    Ringing {
        call: String,
    },
    Answered {
        call: String,
    },
    /// `api`: held through the API (`by` is then the side that hears the music), not by a
    /// phone's re-INVITE.
    Held {
        call: String,
        by: Side,
        api: bool,
    },
    Resumed {
        call: String,
        by: Side,
        api: bool,
    },
    /// The call's non-customer leg was hung up and the customer routed to `target`.
    Transferred {
        call: String,
        target: String,
        /// extension | queue | number
        destination: &'static str,
        /// blind (the only kind for now)
        kind: &'static str,
    },
    Dtmf {
        call: String,
        side: Side,
        digit: char,
    },
    Ended {
        call: String,
        cause: String,
    },
}

#[derive(Debug, Clone)]
pub enum CdrWrite {
    /// The journal entry: written when the call starts, and again when it is answered.
    Start(Box<Cdr>),
    /// The complete record. The driver adds the relay's quality figures before writing.
    End(CallRef, Box<Cdr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ringing,
    /// 2xx sent to the caller; waiting for their ACK.
    Answered,
    Confirmed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForkState {
    Calling,
    Early,
    Done,
}

struct Fork {
    key: TxKey,
    dialog: Dialog,
    invite: rsip::Request,
    state: ForkState,
    /// CANCEL asked before any provisional arrived: send it on the first one.
    cancel_pending: bool,
    final_code: Option<u16>,
    /// The carrier challenged us once already (no endless 401 loops).
    auth_tried: bool,
}

/// The caller's leg.
struct ALeg {
    key: TxKey,
    dialog: Dialog,
    /// The INVITE, kept until the final response (responses are built from it).
    invite: Option<rsip::Request>,
    origin: OriginState,
    port: u16,
    /// Our SDP answer to the caller's offer (sent in 183 and again in 200).
    answer: Option<Bytes>,
    /// o= version of the last offer the caller sent (a re-INVITE with the same version is
    /// only a session refresh).
    remote_sdp_version: u64,
    last_offer: Option<SessionDescription>,
    /// 2xx retransmission until the ACK (RFC 6026: the TU's job).
    ok_bytes: Option<Bytes>,
    ok_interval: Duration,
}

/// The callee's side: our offer and, once answered, the winning fork's dialog.
struct BSide {
    port: u16,
    origin: OriginState,
    offered: Vec<Codec>,
    telephone_event: Option<u8>,
    dialog: Option<Dialog>,
    last_answer: Option<SessionDescription>,
}

/// A re-INVITE we are relaying from one side to the other.
struct Reinvite {
    from: Side,
    server_key: TxKey,
    request: rsip::Request,
    offer: SessionDescription,
    /// The offer's media, applied to `from` only once the other side accepts it.
    offered: crate::sdp::OfferedAudio,
    /// The SDP the other side had before our relayed offer (restored if it is refused).
    prev_sdp: Option<Bytes>,
}

struct Call {
    uuid: String,
    state: State,
    a: ALeg,
    b: BSide,
    forks: Vec<Fork>,
    codec: Option<Codec>,
    reinvite: Option<Reinvite>,
    /// Session timer (RFC 4028) per side: interval, and whether we refresh it.
    session: [Option<(u32, bool)>; 2],
    deadlines: HashMap<CallTimer, Instant>,
    cdr: Cdr,
    hold: [bool; 2],
    /// The SDP we last gave each side (re-sent on session refreshes, unchanged).
    local_sdp: [Option<Bytes>; 2],
    app: local::App,
    /// We answered the caller ourselves (IVR, queue): the B side came later.
    local: bool,
    /// Values collected from the caller (IVR input).
    vars: Vec<(String, String)>,
    /// The latest prompts asked of the relay (older ones' PlayDone is ignored).
    play_id: u64,
    /// Extensions this call keeps busy (their agents get no ACD offers meanwhile).
    busy_exts: Vec<String>,
    /// The ACD's number for this call when it is not our CallRef (a callback placed for a
    /// customer who waited under an earlier call).
    acd_id: Option<u64>,
    /// Queue priority (from the DID it came in on).
    priority: u8,
    /// The supervisor call listening in, if any.
    monitored_by: Option<CallRef>,
    rec: recording::CallRecording,
    /// The side held through the API (it hears music; the two sides are not bridged).
    api_hold: Option<Side>,
    /// An attended transfer under way (this call's customer is held meanwhile).
    consult: Option<Box<consult::Consult>>,
    /// The number shown to the callee instead of the usual presentation (click-to-call's
    /// caller ID).
    present: Option<String>,
}

impl Call {
    /// A side's dialog, once requests may be sent in it: the caller's exists from its INVITE,
    /// but it is ours to use only after we answered.
    fn dialog(&self, side: Side) -> Option<&Dialog> {
        match side {
            Side::A => (self.state != State::Ringing).then_some(&self.a.dialog),
            Side::B => self.b.dialog.as_ref(),
        }
    }

    fn dialog_mut(&mut self, side: Side) -> Option<&mut Dialog> {
        match side {
            Side::A => (self.state != State::Ringing).then_some(&mut self.a.dialog),
            Side::B => self.b.dialog.as_mut(),
        }
    }

    /// Our o= state and RTP port towards a side.
    fn local_media(&mut self, side: Side) -> (&mut OriginState, u16) {
        match side {
            Side::A => (&mut self.a.origin, self.a.port),
            Side::B => (&mut self.b.origin, self.b.port),
        }
    }

    fn local_tag(&self, side: Side) -> String {
        self.dialog(side)
            .map(|d| d.local_tag.clone())
            .unwrap_or_default()
    }

    fn transport(&self, side: Side) -> crate::sip::TransportKind {
        self.dialog(side)
            .map(|d| d.peer.transport)
            .unwrap_or(crate::sip::TransportKind::Udp)
    }
}

/// Which call a client transaction belongs to, and why we sent it.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Invite(usize),
    Cancel,
    Bye,
    /// A re-INVITE relayed from the other side.
    Reinvite,
    /// Our own session refresh (RFC 4028).
    Refresh(Side),
    Info,
    /// Our INVITE to the phone we ring first (a callback's or click-to-call's agent, a
    /// supervisor): the call's A side is ours to place.
    AgentFirst,
    /// A campaign's INVITE to a lead (likewise: the lead is the A side).
    Campaign,
    /// Our re-INVITE moving a side's media to another of our ports (attended transfer).
    Repoint(Side),
}

/// Calls and their indexes.
pub(super) struct CallTable {
    calls: HashMap<CallRef, Call>,
    next: CallRef,
    /// (Call-ID, our tag) → call and side.
    dialogs: HashMap<(String, String), (CallRef, Side)>,
    /// Server INVITE transactions (for CANCEL and ACK).
    invites: HashMap<TxKey, CallRef>,
    clients: HashMap<TxKey, (CallRef, Purpose)>,
    timers: BinaryHeap<Reverse<(Instant, CallRef, CallTimer)>>,
    ports: PortPool,
    /// Unix time at a reference instant, so CDRs carry wall-clock times.
    wall: (Instant, i64),
    /// Campaign calls in progress and their campaigns.
    campaigns: campaign::Campaigns,
    /// Numbers blocked through the API.
    blocked: block::Blocklist,
    /// Calls ended lately (a disposition may still come in their wrap-up).
    ended: disposition::Ended,
}

impl CallTable {
    pub fn new(now: Instant, port_min: u16, port_max: u16) -> Self {
        CallTable {
            calls: HashMap::new(),
            next: 1,
            dialogs: HashMap::new(),
            invites: HashMap::new(),
            clients: HashMap::new(),
            timers: BinaryHeap::new(),
            ports: PortPool::new(port_min, port_max),
            wall: (now, 0),
            campaigns: Default::default(),
            blocked: Default::default(),
            ended: Default::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn forget_client(&mut self, key: &TxKey) {
        self.clients.remove(key);
    }

    pub(in crate::sip::endpoint) fn unix_ms(&self, now: Instant) -> i64 {
        let (base, ms) = self.wall;
        ms + now.saturating_duration_since(base).as_millis() as i64
    }
}

impl Endpoint {
    /// The wall clock at `now` (the driver's one reading; CDR timestamps follow from it).
    pub fn set_wall_clock(&mut self, now: Instant, unix_ms: i64) {
        self.calls.wall = (now, unix_ms);
    }

    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Graceful stop: hang up every call (BYE / 480), closing their CDRs as `shutdown`.
    pub fn shutdown_calls(&mut self, now: Instant) {
        let calls: Vec<CallRef> = self.calls.calls.keys().copied().collect();
        for call in calls {
            self.hangup_both(now, call, "shutdown", "system");
        }
        self.drain_transactions(now);
    }

    /// The relay reported something about a call's media.
    pub fn handle_media_event(&mut self, now: Instant, call: CallRef, ev: MediaEvent) {
        match ev {
            MediaEvent::Dtmf {
                side,
                digit,
                duration_ms,
            } => {
                if let Some(c) = self.calls.calls.get(&call) {
                    tracing::info!(call = %c.uuid, ?side, %digit, duration_ms, "dtmf");
                    self.out.push_back(Output::Event(CallEvent::Dtmf {
                        call: c.uuid.clone(),
                        side,
                        digit,
                    }));
                }
                self.on_digit(now, call, side, digit);
            }
            MediaEvent::Timeout => {
                tracing::info!(call, "no RTP for too long: hanging up");
                self.hangup_both(now, call, "rtp-timeout", "system");
            }
            MediaEvent::Failed(why) => {
                tracing::error!(call, error = %why, "media failed: hanging up");
                self.hangup_both(now, call, "media-failed", "system");
            }
            MediaEvent::PlayDone { side, id } => self.on_play_done(now, call, side, id),
            MediaEvent::Amd(r) => self.campaign_amd_result(now, call, r),
            MediaEvent::MessageCue(r) => self.campaign_message_cue(now, call, r),
            MediaEvent::SitDetected { category } => {
                self.campaign_sit_detected(now, call, &category.code().to_ascii_lowercase())
            }
        }
        self.drain_transactions(now);
    }

    pub(in crate::sip::endpoint) fn new_branch(&mut self) -> String {
        format!(
            "{:016x}{:08x}",
            rand::Rng::random::<u64>(&mut self.rng),
            rand::Rng::random::<u32>(&mut self.rng)
        )
    }

    fn set_call_timer(&mut self, call: CallRef, timer: CallTimer, at: Instant) {
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.deadlines.insert(timer, at);
            self.calls.timers.push(Reverse((at, call, timer)));
        }
    }

    fn clear_call_timer(&mut self, call: CallRef, timer: CallTimer) {
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.deadlines.remove(&timer);
        }
    }

    pub(super) fn calls_poll_timeout(&self) -> Option<Instant> {
        self.calls.timers.peek().map(|Reverse((t, ..))| *t)
    }

    /// Tell the relay where a side's media now is, from that side's SDP. A side whose SDP
    /// says anything but sendrecv is on hold (the RTP timeout is off while either side
    /// holds); the side's signalling IP may latch too (phones behind NAT put a private
    /// address in their SDP).
    fn media_remote(
        &mut self,
        call: CallRef,
        side: Side,
        direction: crate::sdp::Direction,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
        telephone_event: Option<u8>,
    ) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        c.hold[side as usize] = direction != crate::sdp::Direction::SendRecv;
        // Before the answer, the callee's side is whichever fork sent early media: the
        // first fork's address is the best guess (trunks have one fork).
        let signal = match side {
            Side::A => Some(&c.a.dialog),
            Side::B => c.b.dialog.as_ref().or(c.forks.first().map(|f| &f.dialog)),
        };
        let signal_ip = signal.map(|d| d.peer.addr.ip());
        let active = !c.hold.iter().any(|h| *h);
        self.out.push_back(Output::Media(MediaCommand::Remote {
            call,
            side,
            rtp,
            rtcp,
            signal_ip,
            telephone_event,
            active,
        }));
    }

    /// Send a request in a new client transaction and remember what it is for.
    fn send_client(
        &mut self,
        now: Instant,
        call: CallRef,
        purpose: Purpose,
        req: rsip::Request,
        dest: crate::sip::Peer,
    ) -> Option<TxKey> {
        match self.txns.send_request(now, req, dest) {
            Ok(key) => {
                self.calls.clients.insert(key.clone(), (call, purpose));
                Some(key)
            }
            Err(e) => {
                tracing::warn!(call, error = %e, "request not sent");
                None
            }
        }
    }

    /// Send bytes outside any transaction (ACK for a 2xx, 2xx retransmissions).
    fn send_raw(&mut self, dest: crate::sip::Peer, req: rsip::Request) {
        self.out.push_back(Output::Transmit {
            dest,
            bytes: Bytes::from(rsip::SipMessage::Request(req).to_bytes()),
        });
    }

    /// Tear the whole call down: BYE to every established side, CANCEL to ringing forks,
    /// a final response to an unanswered caller, then the CDR and the media.
    pub(super) fn hangup_both(&mut self, now: Instant, call: CallRef, cause: &str, side: &str) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let state = c.state;
        if state == State::Ringing {
            self.cancel_forks(now, call);
            self.final_to_caller(now, call, 480, &[]);
        } else {
            self.cancel_forks(now, call);
            self.bye(now, call, Side::A);
        }
        self.bye(now, call, Side::B);
        self.end_call(now, call, cause, side);
    }

    /// BYE on one side if that side has a dialog.
    fn bye(&mut self, now: Instant, call: CallRef, side: Side) {
        let ua = self.cfg.user_agent.clone();
        let local = self.local;
        let branch = self.new_branch();
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(d) = c.dialog_mut(side) else { return };
        let peer = d.peer;
        let Some(req) = d.request("BYE", &local, &branch, &ua).build(None, b"") else {
            return;
        };
        self.send_client(now, call, Purpose::Bye, req, peer);
    }

    /// Finish the call: CDR, media, indexes. Idempotent.
    pub(super) fn end_call(&mut self, now: Instant, call: CallRef, cause: &str, side: &str) {
        // A caller we answered may leave while a destination still rings.
        self.cancel_forks(now, call);
        self.campaign_call_over(now, call, cause);
        self.acd_call_over(now, call, side);
        let supervisor = self.monitor_over(call);
        self.consult_call_over(now, call);
        self.recording_call_over(now, call);
        let end_ms = self.calls.unix_ms(now);
        let Some(mut c) = self.calls.calls.remove(&call) else {
            return;
        };
        c.cdr.end_unix_ms = Some(end_ms);
        c.cdr.end_cause = Some(cause.to_string());
        c.cdr.hangup_side = Some(side.to_string());
        c.cdr.codec = c.codec.map(|k| k.name.encoding().to_string());
        tracing::info!(call = %c.uuid, cause, side, "call ended");
        self.disposition_call_over(now, &c.uuid, &c.cdr);
        self.calls
            .dialogs
            .remove(&(c.a.dialog.call_id.clone(), c.a.dialog.local_tag.clone()));
        for f in &c.forks {
            self.calls
                .dialogs
                .remove(&(f.dialog.call_id.clone(), f.dialog.local_tag.clone()));
        }
        self.calls.invites.remove(&c.a.key);
        self.calls.ports.give_back(c.a.port);
        self.calls.ports.give_back(c.b.port);
        for ext in &c.busy_exts {
            self.ext_call(now, ext, -1);
        }
        self.out.push_back(Output::Event(CallEvent::Ended {
            call: c.uuid.clone(),
            cause: cause.to_string(),
        }));
        self.out
            .push_back(Output::Cdr(CdrWrite::End(call, Box::new(c.cdr))));
        self.out
            .push_back(Output::Media(MediaCommand::Close { call }));
        if let Some(s) = supervisor {
            self.end_supervisor(now, s);
        }
        // What the ACD made of the end (abandon, wrap-up) goes out now.
        self.acd_pump(now);
    }

    /// CANCEL every fork still ringing (or remember to, when it has not answered at all yet).
    fn cancel_forks(&mut self, now: Instant, call: CallRef) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let mut cancels = Vec::new();
        for f in c.forks.iter_mut() {
            match f.state {
                ForkState::Early => {
                    f.state = ForkState::Done;
                    cancels.push((cancel_for(&f.invite), f.dialog.peer));
                }
                ForkState::Calling => f.cancel_pending = true,
                ForkState::Done => {}
            }
        }
        let uuid = c.uuid.clone();
        for (req, peer) in cancels {
            if let Some(req) = req {
                tracing::info!(call = %uuid, fork = %peer.addr, "CANCEL sent to a ringing fork");
                self.send_client(now, call, Purpose::Cancel, req, peer);
            }
        }
    }

    /// A final response to the caller's INVITE (non-2xx: ends their side).
    fn final_to_caller(
        &mut self,
        now: Instant,
        call: CallRef,
        code: u16,
        extra: &[(&str, String)],
    ) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(invite) = c.a.invite.take() else {
            return;
        };
        c.cdr.a_sip_code = Some(code);
        let key = c.a.key.clone();
        let tag = c.a.dialog.local_tag.clone();
        let resp = self.answer_with_tag(&invite, code, extra, &tag);
        self.send_response(now, &key, resp);
    }
}

/// CANCEL for a client INVITE (§9.1): same R-URI, Call-ID, From, To, top Via, CSeq number.
fn cancel_for(invite: &rsip::Request) -> Option<rsip::Request> {
    use crate::sip::message::header_value;
    let h = &invite.headers;
    let cseq = header_value(h, "CSeq")?
        .split_whitespace()
        .next()?
        .to_string();
    let mut text = format!("CANCEL {} SIP/2.0\r\n", invite.uri);
    for name in ["Via", "From", "To", "Call-ID", "Route"] {
        for v in crate::sip::message::header_values(h, name) {
            text.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    text.push_str(&format!(
        "CSeq: {cseq} CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ));
    match crate::sip::message::parse(text.as_bytes()).ok()?.message {
        rsip::SipMessage::Request(r) => Some(r),
        rsip::SipMessage::Response(_) => None,
    }
}

#[cfg(test)]
mod tests;
