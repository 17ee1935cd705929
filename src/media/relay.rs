//! The anchored relay: one task per call owns the call's four sockets (RTP and RTCP for
//! each side) and forwards packets from one side to the other in place — no allocation and
//! no channel hop per packet. Symmetric RTP: each side is latched to one source (see
//! `latch`), only that source is relayed (RTP bleed gets nothing), and packets go back to
//! the latched address. SSRC, sequence and timestamp are
//! rewritten so each far end sees one continuous stream across re-INVITEs.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::analysis::{Analysis, Step};
use super::latch::{self, Latch};
use super::mixer::Frame;
use super::monitor::{Feed, MonitorMode, Tap as MixTap};
use super::player::{Law, Player, PACKET};
use super::prompt::Prompt;
use super::{
    estimate_mos, parse_rtcp, parse_rtp, rewrite_rtcp, DtmfDetector, FarEndView, ReceiveStats,
    RtcpPacket, RtcpRewrite, StreamRewriter,
};
use crate::call::cdr::MediaQuality;
use crate::recording::{Outcome, RecordingEnd, Tap};
use crate::sip::endpoint::calls::{CallRef, MediaEvent, Side};

const CLOCK: u32 = 8000;

#[derive(Debug)]
pub enum RelayCmd {
    Remote {
        side: Side,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
        signal_ip: Option<IpAddr>,
        telephone_event: Option<u8>,
        active: bool,
    },
    /// Play prompts to a side (replacing what plays there); `PlayDone` reports the end.
    Play {
        side: Side,
        prompts: Vec<Prompt>,
        law: Law,
        looping: bool,
        id: u64,
    },
    StopPlay {
        side: Side,
    },
    /// Whether the two sides hear each other (false while the caller is in the IVR or
    /// queue and an agent's phone rings).
    Bridge(bool),
    /// A supervisor monitors this call: their mix goes to `tap.to_supervisor`, their voice
    /// comes from `from_supervisor`.
    MonitorTap {
        // Boxed: the tap's jitter queues would make every command large.
        tap: Box<MixTap>,
        from_supervisor: mpsc::Receiver<Frame>,
    },
    MonitorMode(MonitorMode),
    MonitorStop,
    /// This call is a supervisor's: side A hears what `from_tap` brings, and its voice goes
    /// to `feed.to_tap`.
    Feed {
        feed: Feed,
        from_tap: mpsc::Receiver<Frame>,
    },
    /// Start, pause, resume or stop recording (the tap batches payloads for the writers).
    Record(RecordCmd),
    /// Stop relaying and report the call's media figures and how its recording ended.
    Finish(oneshot::Sender<Finished>),
    /// A leg moves to another call's relay (attended transfer): send the stream state
    /// towards `side` there, so the leg's phone keeps seeing one continuous stream.
    HandOver {
        side: Side,
        to: mpsc::UnboundedSender<RelayCmd>,
        to_side: Side,
    },
    /// A `TakeStream` for `side` is on its way: send that side nothing until it arrives
    /// (a packet under our own SSRC first would show the phone two stream changes).
    ExpectStream {
        side: Side,
    },
    /// The stream state towards `side` from the relay the leg comes from.
    TakeStream {
        side: Side,
        // Boxed: keeps every command small.
        out: Box<StreamRewriter>,
    },
    /// Analyse side A's audio (AMD from now, SIT); replaces any analysis, `None`/`false`
    /// stops it.
    Analyze {
        amd: Option<crate::dialer::amd_config::AmdConfig>,
        sit: bool,
    },
    /// After a MACHINE verdict: listen for the voicemail's beep (replaces any analysis).
    AwaitBeep {
        amd: Box<crate::dialer::amd_config::AmdConfig>,
    },
}

#[derive(Debug)]
pub enum RecordCmd {
    Start(Box<Tap>, RecordingEnd),
    /// Not started (limit reached, writers overloaded): the outcome for the CDR.
    NotStarted(Outcome),
    Pause(std::time::Instant),
    Resume(std::time::Instant),
    Stop(std::time::Instant),
}

/// The call's media quality at the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaSummary {
    /// What arrived from A (and went to B), and the reverse.
    pub a_to_b: MediaQuality,
    pub b_to_a: MediaQuality,
    pub mos: Option<f64>,
    /// End-to-end loss of the worse direction (0–1) and the worst jitter, ms: what `mos`
    /// was estimated from.
    pub loss: f64,
    pub jitter_ms: f64,
    /// Sum of both legs' RTCP round trips to us (see `Cdr::rtt_ms`).
    pub rtt_ms: Option<f64>,
    /// Packets dropped because they came from somewhere other than the latched source.
    pub foreign_dropped: u64,
}

/// What `Finish` reports.
pub type Finished = (MediaSummary, Option<RecordingEnd>);

pub struct RelayHandle {
    pub cmd: mpsc::UnboundedSender<RelayCmd>,
    /// The call's figures so far, refreshed by the relay about once a second (read by the
    /// API's snapshots). A lock, not a message: the reader wants only the latest, and the
    /// relay writes it off the packet path.
    pub live: LiveSummary,
}

/// The latest `MediaSummary` of a running relay.
pub type LiveSummary = std::sync::Arc<std::sync::Mutex<MediaSummary>>;

/// Relay ticks (250 ms) between refreshes of the live summary.
const LIVE_EVERY: u32 = 4;

/// Bind the ports (RTP on the even port, RTCP on the next) and start the relay task.
pub fn open(
    call: CallRef,
    ip: IpAddr,
    a_port: u16,
    b_port: u16,
    rtp_timeout: Option<Duration>,
    events: mpsc::UnboundedSender<(CallRef, MediaEvent)>,
) -> std::io::Result<RelayHandle> {
    let bind = |port: u16| -> std::io::Result<UdpSocket> {
        let s = std::net::UdpSocket::bind(SocketAddr::new(ip, port))?;
        s.set_nonblocking(true)?;
        UdpSocket::from_std(s)
    };
    let sockets = Sockets {
        a_rtp: bind(a_port)?,
        a_rtcp: bind(a_port + 1)?,
        b_rtp: bind(b_port)?,
        b_rtcp: bind(b_port + 1)?,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let seed: u64 = rand::random();
    let relay = Relay {
        call,
        sides: [
            SideState::new(seed as u32),
            SideState::new((seed >> 32) as u32),
        ],
        rtp_timeout,
        active: true,
        last_rx: Instant::now(),
        timed_out: false,
        foreign_dropped: 0,
        bridged: true,
        players: [None, None],
        awaiting_stream: [false, false],
        monitor: None,
        feed: None,
        seed: seed as u32,
        events,
        tap: None,
        rec_end: None,
        live: LiveSummary::default(),
        ticks: 0,
        analysis: None,
    };
    let live = relay.live.clone();
    tokio::spawn(run(relay, sockets, rx));
    Ok(RelayHandle { cmd: tx, live })
}

struct Sockets {
    a_rtp: UdpSocket,
    a_rtcp: UdpSocket,
    b_rtp: UdpSocket,
    b_rtcp: UdpSocket,
}

impl Sockets {
    fn rtp(&self, side: Side) -> &UdpSocket {
        match side {
            Side::A => &self.a_rtp,
            Side::B => &self.b_rtp,
        }
    }

    fn rtcp(&self, side: Side) -> &UdpSocket {
        match side {
            Side::A => &self.a_rtcp,
            Side::B => &self.b_rtcp,
        }
    }
}

/// One side of the call: where its media comes from and goes to, and what we measured.
struct SideState {
    expected: Option<SocketAddr>,
    expected_rtcp: Option<SocketAddr>,
    signal_ip: Option<IpAddr>,
    latched: Latch,
    latched_rtcp: Latch,
    telephone_event: Option<u8>,
    /// Packets received from this side.
    stats: ReceiveStats,
    last_ssrc: Option<u32>,
    dtmf: DtmfDetector,
    /// Rewrites what we send *to* this side.
    out: StreamRewriter,
    /// This side's RTCP reports about what we send it.
    far: FarEndView,
}

impl SideState {
    fn new(ssrc: u32) -> Self {
        SideState {
            expected: None,
            expected_rtcp: None,
            signal_ip: None,
            latched: Latch::new(latch::RTP_QUIET),
            latched_rtcp: Latch::new(latch::RTCP_QUIET),
            telephone_event: None,
            stats: ReceiveStats::new(CLOCK),
            last_ssrc: None,
            dtmf: DtmfDetector::new(CLOCK),
            out: StreamRewriter::new(ssrc, (ssrc >> 16) as u16, ssrc.rotate_left(7), CLOCK),
            far: FarEndView::default(),
        }
    }

    fn rtp_dest(&self) -> Option<SocketAddr> {
        self.latched.addr().or(self.expected)
    }

    fn rtcp_dest(&self) -> Option<SocketAddr> {
        self.latched_rtcp.addr().or(self.expected_rtcp).or_else(|| {
            self.latched
                .addr()
                .map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
        })
    }

    /// The stream from this side to the other, with what the other side reported about it.
    fn quality(&self, receiver: &SideState) -> MediaQuality {
        MediaQuality {
            packets: self.stats.packets(),
            lost: self.stats.lost(),
            jitter_ms: self.stats.jitter_ms(),
            far_lost: receiver.far.lost(),
            far_jitter_ms: receiver.far.jitter_ms(),
        }
    }

    /// Loss from this side to the other end to end: lost before us, then after us as the
    /// receiver reported.
    fn loss_to(&self, receiver: &SideState) -> f64 {
        let near = self.stats.loss_fraction();
        let far = receiver.far.lost().map_or(0.0, |l| {
            (l.max(0) as f64 / self.stats.packets().max(1) as f64).min(1.0)
        });
        1.0 - (1.0 - near) * (1.0 - far)
    }
}

struct Relay {
    call: CallRef,
    sides: [SideState; 2],
    rtp_timeout: Option<Duration>,
    active: bool,
    last_rx: Instant,
    timed_out: bool,
    foreign_dropped: u64,
    bridged: bool,
    /// What we play to each side, if anything (it then hears that, not the other side).
    players: [Option<Player>; 2],
    /// A side whose stream state another relay is handing over (nothing goes to it yet).
    awaiting_stream: [bool; 2],
    /// A supervisor listening in on this call, or (`feed`) this call being the supervisor's.
    monitor: Option<Box<MixTap>>,
    feed: Option<Feed>,
    seed: u32,
    events: mpsc::UnboundedSender<(CallRef, MediaEvent)>,
    /// The running recording, if any, and how the call's recording will be reported.
    tap: Option<Box<Tap>>,
    rec_end: Option<RecordingEnd>,
    /// Shared with the handle: the figures so far (see `RelayHandle::live`).
    live: LiveSummary,
    ticks: u32,
    /// Call progress analysis of side A, until it decides (boxed: rarely present).
    analysis: Option<Box<Analysis>>,
}

fn idx(side: Side) -> usize {
    side as usize
}

impl Relay {
    fn on_rtp(&mut self, sockets: &Sockets, from: Side, buf: &mut [u8], src: SocketAddr) {
        let to = from.other();
        let now = Instant::now();
        let std_now = now.into_std();
        {
            let s = &mut self.sides[idx(from)];
            if !s.latched.accept(std_now, s.expected, s.signal_ip, src) {
                self.foreign_dropped += 1;
                return;
            }
        }
        let Ok(h) = parse_rtp(buf) else { return };
        self.last_rx = now;
        let s = &mut self.sides[idx(from)];
        if s.last_ssrc != Some(h.ssrc) {
            if s.last_ssrc.is_some() {
                s.stats.on_new_source();
            }
            s.last_ssrc = Some(h.ssrc);
        }
        s.stats
            .on_packet(std_now, h.sequence, h.timestamp, h.payload_len);
        if let Some(tap) = self.tap.as_mut() {
            let end = (h.payload_offset + h.payload_len).min(buf.len());
            if let Some(payload) = buf.get(h.payload_offset..end) {
                tap.on_packet(std_now, idx(from), h.payload_type, h.timestamp, payload);
            }
        }
        if let (Side::A, Some(a)) = (from, self.analysis.as_mut()) {
            let end = (h.payload_offset + h.payload_len).min(buf.len());
            let payload = buf.get(h.payload_offset..end).unwrap_or_default();
            if let Step::Decided(ev) = a.handle_payload(std_now, h.payload_type, payload) {
                self.analysis = None;
                let _ = self.events.send((self.call, ev));
            }
        }
        let s = &mut self.sides[idx(from)];
        if s.telephone_event == Some(h.payload_type) {
            let end = (h.payload_offset + h.payload_len).min(buf.len());
            if let Some(payload) = buf.get(h.payload_offset..end) {
                s.dtmf.handle_packet(std_now, h.timestamp, payload);
            }
            while let Some(d) = s.dtmf.poll_digit() {
                let _ = self.events.send((
                    self.call,
                    MediaEvent::Dtmf {
                        side: from,
                        digit: d.digit,
                        duration_ms: d.duration_ms,
                    },
                ));
            }
        }
        let payload = buf
            .get(h.payload_offset..(h.payload_offset + h.payload_len).min(buf.len()))
            .filter(|p| p.len() == super::player::FRAME);
        if let Some(f) = self.feed.as_ref() {
            // The supervisor's voice goes to the monitored call only.
            if let (Side::A, Some(p), true) =
                (from, payload, h.payload_type == f.law.payload_type())
            {
                f.send_voice(p);
            }
            return;
        }
        if let Some(t) = self.monitor.as_mut() {
            if let (Some(p), true) = (payload, h.payload_type == t.law.payload_type()) {
                match from {
                    Side::A => t.a.push(p),
                    Side::B => t.b.push(p),
                }
            }
            if t.mixes_from(from == Side::A) {
                // Mixed with the supervisor on the 20 ms tick instead.
                return;
            }
        }
        if !self.bridged || self.players[idx(to)].is_some() || self.awaiting_stream[idx(to)] {
            return;
        }
        let t = &mut self.sides[idx(to)];
        let Some(dest) = t.rtp_dest() else { return };
        if !t.out.rewrite(std_now, buf) {
            return;
        }
        // UDP: a full socket buffer drops the packet, as the network would.
        let _ = sockets.rtp(to).try_send_to(buf, dest);
    }

    fn on_rtcp(&mut self, sockets: &Sockets, from: Side, buf: &mut [u8], src: SocketAddr) {
        let to = from.other();
        let now = Instant::now().into_std();
        {
            let s = &mut self.sides[idx(from)];
            let expected = s.expected_rtcp.or(s.expected);
            if !s.latched_rtcp.accept(now, expected, s.signal_ip, src) {
                self.foreign_dropped += 1;
                return;
            }
        }
        // Read before rewriting: `from`'s report blocks about the stream we send it carry
        // our SSRC towards it.
        let ours = self.sides[idx(from)].out.out_ssrc();
        let mut sr_ntp = None;
        for pkt in parse_rtcp(buf) {
            let blocks = match pkt {
                Ok(RtcpPacket::SenderReport { ntp, blocks, .. }) => {
                    sr_ntp = Some(ntp);
                    blocks
                }
                Ok(RtcpPacket::ReceiverReport { blocks, .. }) => blocks,
                Ok(RtcpPacket::Other { .. }) => continue,
                Err(_) => break,
            };
            for b in blocks.filter(|b| b.ssrc == ours) {
                self.sides[idx(from)].far.on_report(now, &b, CLOCK);
            }
        }
        // Relayed so the other side can match it to what it sees: our SSRC towards it as
        // the sender, the SR timestamp re-based like the stream, report blocks about our
        // stream renamed to the SSRC it really sends. A malformed packet is dropped.
        let real = self.sides[idx(to)].last_ssrc;
        let t = &mut self.sides[idx(to)];
        let Some(dest) = t.rtcp_dest() else { return };
        let rw = RtcpRewrite {
            sender_ssrc: t.out.out_ssrc(),
            ts_offset: t.out.ts_offset(),
            block_ssrc: real.map(|r| (ours, r)),
        };
        if rewrite_rtcp(buf, &rw) && sockets.rtcp(to).try_send_to(buf, dest).is_ok() {
            if let Some(ntp) = sr_ntp {
                t.far.on_sr_forwarded(now, ntp);
            }
        }
    }

    fn on_cmd(&mut self, cmd: RelayCmd) -> Option<oneshot::Sender<Finished>> {
        match cmd {
            RelayCmd::Remote {
                side,
                rtp,
                rtcp,
                signal_ip,
                telephone_event,
                active,
            } => {
                // Defence in depth behind the SDP check: never aim media at a non-unicast
                // address, whatever the signalling said.
                let unicast = |a: &SocketAddr| crate::netaddr::is_unicast_target(a.ip());
                let (rtp, rtcp) = (rtp.filter(unicast), rtcp.filter(unicast));
                let s = &mut self.sides[idx(side)];
                if s.expected != rtp {
                    // The far end moved (re-INVITE, another phone): latch afresh.
                    tracing::debug!(call = self.call, ?side, ?rtp, old = ?s.latched.addr(), "media side moved");
                    let now = Instant::now().into_std();
                    s.latched.reset(now);
                    s.latched_rtcp.reset(now);
                }
                s.expected = rtp;
                s.expected_rtcp = rtcp;
                s.signal_ip = signal_ip;
                s.telephone_event = telephone_event;
                self.active = active;
                self.last_rx = Instant::now();
                None
            }
            RelayCmd::Play {
                side,
                prompts,
                law,
                looping,
                id,
            } => {
                self.seed = self.seed.wrapping_mul(747796405).wrapping_add(1);
                self.players[idx(side)] = Some(Player::new(prompts, law, looping, id, self.seed));
                None
            }
            RelayCmd::StopPlay { side } => {
                self.players[idx(side)] = None;
                None
            }
            RelayCmd::Bridge(on) => {
                self.bridged = on;
                None
            }
            RelayCmd::HandOver { side, to, to_side } => {
                let out = Box::new(self.sides[idx(side)].out.clone());
                // The other relay may be gone already (its call ended): nothing to carry.
                let _ = to.send(RelayCmd::TakeStream { side: to_side, out });
                None
            }
            RelayCmd::ExpectStream { side } => {
                self.awaiting_stream[idx(side)] = true;
                None
            }
            RelayCmd::TakeStream { side, out } => {
                self.sides[idx(side)].out = *out;
                self.awaiting_stream[idx(side)] = false;
                None
            }
            RelayCmd::MonitorMode(mode) => {
                if let Some(t) = self.monitor.as_mut() {
                    t.mode = mode;
                }
                None
            }
            RelayCmd::MonitorStop => {
                self.monitor = None;
                None
            }
            // Installed by the loop, which owns their receivers.
            RelayCmd::MonitorTap { .. } | RelayCmd::Feed { .. } => None,
            RelayCmd::Record(r) => {
                self.on_record(r);
                None
            }
            RelayCmd::Analyze { amd, sit } => {
                self.analysis =
                    Analysis::new(Instant::now().into_std(), amd.as_ref(), sit).map(Box::new);
                None
            }
            RelayCmd::AwaitBeep { amd } => {
                self.analysis = Some(Box::new(Analysis::await_beep(
                    Instant::now().into_std(),
                    &amd,
                )));
                None
            }
            RelayCmd::Finish(tx) => Some(tx),
        }
    }

    fn on_record(&mut self, r: RecordCmd) {
        match r {
            RecordCmd::Start(tap, end) => {
                self.tap = Some(tap);
                self.rec_end = Some(end);
            }
            RecordCmd::NotStarted(o) => self.rec_end = Some(RecordingEnd::Ready(o)),
            RecordCmd::Pause(at) => {
                if let Some(t) = self.tap.as_mut() {
                    t.pause(at);
                }
            }
            RecordCmd::Resume(at) => {
                if let Some(t) = self.tap.as_mut() {
                    t.resume(at);
                }
            }
            RecordCmd::Stop(at) => {
                if let Some(t) = self.tap.take() {
                    t.stop(at);
                }
            }
        }
    }

    /// The end of the relay: a recording still running ends now.
    fn finish_recording(&mut self) -> Option<RecordingEnd> {
        if let Some(t) = self.tap.take() {
            t.stop(Instant::now().into_std());
        }
        self.rec_end.take()
    }

    fn playing(&self) -> bool {
        self.players.iter().any(Option::is_some) || self.monitor.is_some()
    }

    /// A frame of the supervisor's voice for the monitored call's mix.
    fn on_supervisor_frame(&mut self, f: &Frame) {
        if let Some(t) = self.monitor.as_mut() {
            t.s.push(f);
        }
    }

    /// A frame from the monitored call for the supervisor (side A of this relay).
    fn on_tap_frame(&mut self, sockets: &Sockets, f: &Frame) {
        if self.players[0].is_some() {
            return;
        }
        let Some(feed) = self.feed.as_mut() else {
            return;
        };
        let mut p = feed.packet(f);
        let s = &mut self.sides[0];
        let Some(dest) = s.rtp_dest() else { return };
        if s.out.rewrite(Instant::now().into_std(), &mut p) {
            let _ = sockets.rtp(Side::A).try_send_to(&p, dest);
        }
    }

    /// One 20 ms frame to every side something plays to, and the monitor's mixes.
    fn play_tick(&mut self, sockets: &Sockets) {
        let now = Instant::now().into_std();
        if let Some(t) = self.monitor.as_mut() {
            let out = t.tick();
            for (side, p) in [(Side::A, out.to_a), (Side::B, out.to_b)] {
                let (Some(mut p), true) = (p, self.players[idx(side)].is_none()) else {
                    continue;
                };
                let s = &mut self.sides[idx(side)];
                let Some(dest) = s.rtp_dest() else { continue };
                if s.out.rewrite(now, &mut p) {
                    let _ = sockets.rtp(side).try_send_to(&p, dest);
                }
            }
        }
        let mut buf = [0u8; PACKET];
        for side in [Side::A, Side::B] {
            let Some(p) = self.players[idx(side)].as_mut() else {
                continue;
            };
            if p.next_packet(&mut buf).is_none() {
                let id = p.id;
                self.players[idx(side)] = None;
                let _ = self
                    .events
                    .send((self.call, MediaEvent::PlayDone { side, id }));
                continue;
            }
            let s = &mut self.sides[idx(side)];
            let Some(dest) = s.rtp_dest() else { continue };
            if s.out.rewrite(now, &mut buf) {
                let _ = sockets.rtp(side).try_send_to(&buf, dest);
            }
        }
    }

    fn tick(&mut self) {
        let now = Instant::now();
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(LIVE_EVERY) {
            let s = self.summary();
            // A panic elsewhere while holding it left a plain value: still usable.
            *self.live.lock().unwrap_or_else(|p| p.into_inner()) = s;
        }
        if let Some(t) = self.tap.as_mut() {
            t.tick(now.into_std());
        }
        if let Some(a) = self.analysis.as_mut() {
            if let Step::Decided(ev) = a.handle_timeout(now.into_std()) {
                self.analysis = None;
                let _ = self.events.send((self.call, ev));
            }
        }
        for (i, s) in self.sides.iter_mut().enumerate() {
            s.dtmf.handle_timeout(now.into_std());
            while let Some(d) = s.dtmf.poll_digit() {
                let side = if i == 0 { Side::A } else { Side::B };
                let _ = self.events.send((
                    self.call,
                    MediaEvent::Dtmf {
                        side,
                        digit: d.digit,
                        duration_ms: d.duration_ms,
                    },
                ));
            }
        }
        if let Some(limit) = self.rtp_timeout {
            if self.active && !self.timed_out && now.duration_since(self.last_rx) > limit {
                self.timed_out = true;
                let _ = self.events.send((self.call, MediaEvent::Timeout));
            }
        }
    }

    fn summary(&self) -> MediaSummary {
        let [a, b] = &self.sides;
        let got_media = a.stats.packets() + b.stats.packets() > 0;
        let loss = a.loss_to(b).max(b.loss_to(a));
        let jitter = [
            a.stats.jitter_ms(),
            b.stats.jitter_ms(),
            a.far.max_jitter_ms(),
            b.far.max_jitter_ms(),
        ]
        .into_iter()
        .fold(0.0, f64::max);
        let rtt_ms = match (a.far.max_rtt(), b.far.max_rtt()) {
            (None, None) => None,
            (x, y) => Some((x.unwrap_or_default() + y.unwrap_or_default()).as_secs_f64() * 1000.0),
        };
        let round = |x: f64| (x * 100.0).round() / 100.0;
        MediaSummary {
            a_to_b: a.quality(b),
            b_to_a: b.quality(a),
            mos: got_media.then(|| round(estimate_mos(loss, jitter, rtt_ms))),
            loss,
            jitter_ms: jitter,
            rtt_ms: rtt_ms.map(round),
            foreign_dropped: self.foreign_dropped,
        }
    }
}

async fn run(mut relay: Relay, sockets: Sockets, mut rx: mpsc::UnboundedReceiver<RelayCmd>) {
    let mut bufs = [[0u8; 2048]; 4];
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Playback pacing, only while something plays (created afresh so idle time is not
    // "caught up"); late ticks are caught up so a prompt keeps wall-clock time.
    let mut frame: Option<tokio::time::Interval> = None;
    // Monitoring: the supervisor's frames (this call is monitored), or the monitored call's
    // mix (this call is the supervisor's).
    let mut from_sup: Option<mpsc::Receiver<Frame>> = None;
    let mut from_tap: Option<mpsc::Receiver<Frame>> = None;
    loop {
        let [b0, b1, b2, b3] = &mut bufs;
        tokio::select! {
            r = sockets.a_rtp.recv_from(b0) => if let Ok((n, src)) = r { relay.on_rtp(&sockets, Side::A, &mut b0[..n], src) },
            r = sockets.b_rtp.recv_from(b1) => if let Ok((n, src)) = r { relay.on_rtp(&sockets, Side::B, &mut b1[..n], src) },
            r = sockets.a_rtcp.recv_from(b2) => if let Ok((n, src)) = r { relay.on_rtcp(&sockets, Side::A, &mut b2[..n], src) },
            r = sockets.b_rtcp.recv_from(b3) => if let Ok((n, src)) = r { relay.on_rtcp(&sockets, Side::B, &mut b3[..n], src) },
            f = next_frame_in(&mut from_sup) => match f {
                Some(f) => relay.on_supervisor_frame(&f),
                None => from_sup = None,
            },
            f = next_frame_in(&mut from_tap) => match f {
                Some(f) => relay.on_tap_frame(&sockets, &f),
                // The monitored call ended or the monitoring stopped.
                None => { from_tap = None; relay.feed = None; }
            },
            cmd = rx.recv() => match cmd {
                Some(RelayCmd::MonitorTap { tap, from_supervisor }) => {
                    relay.monitor = Some(tap);
                    from_sup = Some(from_supervisor);
                }
                Some(RelayCmd::Feed { feed, from_tap: rx_tap }) => {
                    relay.feed = Some(feed);
                    from_tap = Some(rx_tap);
                }
                Some(RelayCmd::MonitorStop) => {
                    relay.monitor = None;
                    from_sup = None;
                }
                Some(cmd) => if let Some(done) = relay.on_cmd(cmd) {
                    let rec = relay.finish_recording();
                    let _ = done.send((relay.summary(), rec));
                    return;
                },
                // The driver dropped us (shutdown): stop (closing a recording).
                None => {
                    relay.finish_recording();
                    return;
                }
            },
            _ = tick.tick() => relay.tick(),
            _ = next_frame(&mut frame) => relay.play_tick(&sockets),
        }
        match (relay.playing(), frame.is_some()) {
            (true, false) => {
                let mut f = tokio::time::interval(Duration::from_millis(20));
                f.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                frame = Some(f);
            }
            (false, true) => frame = None,
            _ => {}
        }
    }
}

/// The next frame on a monitoring channel: None when it closed; pending without one.
async fn next_frame_in(rx: &mut Option<mpsc::Receiver<Frame>>) -> Option<Frame> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_frame(frame: &mut Option<tokio::time::Interval>) {
    match frame {
        Some(f) => {
            f.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> u16 {
        // Two even/odd pairs that are free right now.
        loop {
            let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let p = probe.local_addr().unwrap().port() & !1;
            drop(probe);
            if p < 60000 && (p..p + 4).all(|q| std::net::UdpSocket::bind(("127.0.0.1", q)).is_ok())
            {
                return p;
            }
        }
    }

    fn rtp(ssrc: u32, seq: u16) -> Vec<u8> {
        let mut v = vec![0x80, 0];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.extend_from_slice(&[0xff; 160]);
        v
    }

    fn rtp_filled(ssrc: u32, seq: u16, fill: u8) -> Vec<u8> {
        let mut v = rtp(ssrc, seq);
        v[12..].fill(fill);
        v
    }

    fn word(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// RTCP through the relay with real sockets: the SR reaches the other side under the
    /// SSRC its RTP arrives with, the RR's report block is renamed to the SSRC the SR's
    /// sender really uses, and the round trip and far-end loss reach the summary.
    #[tokio::test]
    async fn rtcp_is_rewritten_and_read_for_quality() {
        let (a_port, b_port) = {
            let p = ports();
            (p, p + 2)
        };
        let (ev_tx, _ev_rx) = mpsc::unbounded_channel();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let h = open(1, ip, a_port, b_port, None, ev_tx).unwrap();
        let bind = || async { UdpSocket::bind("127.0.0.1:0").await.unwrap() };
        let (a_rtp, a_rtcp, b_rtp, b_rtcp) =
            (bind().await, bind().await, bind().await, bind().await);
        for (side, r, c) in [(Side::A, &a_rtp, &a_rtcp), (Side::B, &b_rtp, &b_rtcp)] {
            h.cmd
                .send(RelayCmd::Remote {
                    side,
                    rtp: Some(r.local_addr().unwrap()),
                    rtcp: Some(c.local_addr().unwrap()),
                    signal_ip: None,
                    telephone_event: None,
                    active: true,
                })
                .unwrap();
        }
        let mut buf = [0u8; 2048];
        // B's RTP (SSRC 0xB0B) reaches A as the relay's stream towards A.
        b_rtp
            .send_to(&rtp(0xB0B, 1), ("127.0.0.1", b_port))
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), a_rtp.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let towards_a = word(&buf[..n], 8);
        a_rtp
            .send_to(&rtp(0xA0A, 1), ("127.0.0.1", a_port))
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), b_rtp.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let towards_b = word(&buf[..n], 8);

        // B's sender report, relayed to A.
        let ntp: u64 = 0x1111_2222_3333_4444;
        let mut sr = vec![0x80, 200, 0, 6];
        sr.extend_from_slice(&0xB0Bu32.to_be_bytes());
        sr.extend_from_slice(&ntp.to_be_bytes());
        sr.extend_from_slice(&[0; 12]);
        b_rtcp
            .send_to(&sr, ("127.0.0.1", b_port + 1))
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), a_rtcp.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            word(&buf[..n], 4),
            towards_a,
            "SR sender = the SSRC A hears"
        );

        // A's receiver report about the stream it hears, naming that SR, 7 packets lost.
        let mut rr = vec![0x81, 201, 0, 7];
        rr.extend_from_slice(&0xA0Au32.to_be_bytes());
        rr.extend_from_slice(&towards_a.to_be_bytes());
        rr.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 16]);
        rr.extend_from_slice(&(((ntp >> 16) as u32).to_be_bytes()));
        rr.extend_from_slice(&0u32.to_be_bytes());
        a_rtcp
            .send_to(&rr, ("127.0.0.1", a_port + 1))
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), b_rtcp.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            word(&buf[..n], 4),
            towards_b,
            "RR sender = the SSRC B hears"
        );
        assert_eq!(
            word(&buf[..n], 8),
            0xB0B,
            "report block about B's own stream"
        );

        // The live figures (for the API's snapshots) catch up within a refresh or two.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let live = loop {
            let l = h.live.lock().unwrap().clone();
            if l.b_to_a.far_lost == Some(7) || std::time::Instant::now() > deadline {
                break l;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(live.b_to_a.far_lost, Some(7), "{live:?}");
        assert_eq!((live.a_to_b.packets, live.b_to_a.packets), (1, 1));
        assert!(live.mos.is_some(), "{live:?}");

        let (tx, rx) = oneshot::channel();
        h.cmd.send(RelayCmd::Finish(tx)).unwrap();
        let (s, _) = rx.await.unwrap();
        assert_eq!(s.b_to_a.far_lost, Some(7));
        assert_eq!(s.b_to_a.far_jitter_ms, Some(2.0));
        assert_eq!(s.a_to_b.far_lost, None, "B sent no report blocks");
        assert!(s.rtt_ms.is_some(), "{s:?}");
        assert_eq!(s.foreign_dropped, 0);
    }

    /// Blind transfer between two phones on one IP whose SDP names another address (NAT,
    /// or baresip on loopback): the old phone's last packet, still in flight when B moves,
    /// must not latch B — the caller would hear nothing from the new phone, and the new
    /// phone nothing from the caller.
    #[tokio::test]
    async fn the_old_phone_cannot_capture_a_transferred_side() {
        let p = ports();
        let (ev_tx, _ev_rx) = mpsc::unbounded_channel();
        let h = open(5, "127.0.0.1".parse().unwrap(), p, p + 2, None, ev_tx).unwrap();
        let bind = || async { UdpSocket::bind("127.0.0.1:0").await.unwrap() };
        let (a, old, new) = (bind().await, bind().await, bind().await);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let remote = |side, rtp: Option<SocketAddr>, signal_ip| RelayCmd::Remote {
            side,
            rtp,
            rtcp: None,
            signal_ip,
            telephone_event: None,
            active: true,
        };
        let advertised = |s: &UdpSocket| {
            Some(SocketAddr::new(
                "192.0.2.2".parse().unwrap(),
                s.local_addr().unwrap().port(),
            ))
        };
        h.cmd
            .send(remote(Side::A, Some(a.local_addr().unwrap()), Some(lo)))
            .unwrap();
        h.cmd
            .send(remote(Side::B, advertised(&old), Some(lo)))
            .unwrap();
        let to_b = ("127.0.0.1", p + 2);
        let mut buf = [0u8; 2048];
        old.send_to(&rtp_filled(0x01D, 1, 0x11), to_b)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), a.recv(&mut buf))
            .await
            .expect("the first phone is heard")
            .unwrap();

        // Transfer: B is released, then the new phone answers.
        h.cmd.send(remote(Side::B, None, None)).unwrap();
        h.cmd
            .send(remote(Side::B, advertised(&new), Some(lo)))
            .unwrap();
        // A round trip through the relay's command queue (it answers a hand-over on our
        // channel): both moves are applied before the packets below are read.
        let (tx, mut rx) = mpsc::unbounded_channel();
        h.cmd
            .send(RelayCmd::HandOver {
                side: Side::A,
                to: tx,
                to_side: Side::A,
            })
            .unwrap();
        assert!(rx.recv().await.is_some());
        old.send_to(&rtp_filled(0x01D, 2, 0x11), to_b)
            .await
            .unwrap();
        new.send_to(&rtp_filled(0x2E3, 1, 0x22), to_b)
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), a.recv(&mut buf))
            .await
            .expect("the caller hears the new phone")
            .unwrap();
        assert_eq!(
            buf[12..n],
            [0x22; 160],
            "what the caller hears is the new phone"
        );
        a.send_to(&rtp_filled(0xA0A, 1, 0x33), ("127.0.0.1", p))
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), new.recv(&mut buf))
            .await
            .expect("the new phone hears the caller")
            .unwrap();
        assert_eq!(buf[12..n], [0x33; 160]);
    }

    /// A prompt played to A arrives as five 20 ms packets under the SSRC A hears, B's audio
    /// is held back while it plays and while the sides are not bridged, and the end is
    /// reported.
    #[tokio::test]
    async fn prompts_play_to_one_side_and_bridging_gates_the_relay() {
        let p = ports();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let h = open(2, "127.0.0.1".parse().unwrap(), p, p + 2, None, ev_tx).unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for (side, s) in [(Side::A, &a), (Side::B, &b)] {
            h.cmd
                .send(RelayCmd::Remote {
                    side,
                    rtp: Some(s.local_addr().unwrap()),
                    rtcp: None,
                    signal_ip: None,
                    telephone_event: None,
                    active: true,
                })
                .unwrap();
        }
        h.cmd.send(RelayCmd::Bridge(false)).unwrap();
        let prompt = Prompt::from_samples("hello", &[1200i16; 800]);
        h.cmd
            .send(RelayCmd::Play {
                side: Side::A,
                prompts: vec![prompt.clone()],
                law: Law::Pcmu,
                looping: false,
                id: 42,
            })
            .unwrap();
        // B talks the whole time: none of it may reach A.
        b.send_to(&rtp(0xB0B, 1), ("127.0.0.1", p + 2))
            .await
            .unwrap();
        let mut buf = [0u8; 2048];
        let mut got = Vec::new();
        loop {
            tokio::select! {
                r = a.recv(&mut buf) => {
                    let n = r.unwrap();
                    got.push(buf[..n].to_vec());
                    b.send_to(&rtp(0xB0B, got.len() as u16 + 1), ("127.0.0.1", p + 2)).await.unwrap();
                }
                ev = ev_rx.recv() => {
                    assert_eq!(ev, Some((2, MediaEvent::PlayDone { side: Side::A, id: 42 })));
                    break;
                }
            }
        }
        // Whatever was in flight when PlayDone was sent has arrived by now or never will.
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(100), a.recv(&mut buf)).await
        {
            got.push(buf[..n].to_vec());
        }
        assert_eq!(got.len(), 5, "five frames of prompt and nothing of B");
        assert!(got
            .iter()
            .all(|g| g.len() == 172 && g[12..] == prompt.pcmu[..160]));
        let ssrc = word(&got[0], 8);
        assert!(got.iter().all(|g| word(g, 8) == ssrc));

        // Bridged again: B's RTP reaches A, continuing the stream A knows.
        h.cmd.send(RelayCmd::Bridge(true)).unwrap();
        let mut relayed = None;
        for i in 0..50u16 {
            b.send_to(&rtp(0xB0B, 100 + i), ("127.0.0.1", p + 2))
                .await
                .unwrap();
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(100), a.recv(&mut buf)).await
            {
                relayed = Some(buf[..n].to_vec());
                break;
            }
        }
        let relayed = relayed.expect("B's audio relayed once bridged");
        assert_eq!(
            word(&relayed, 8),
            ssrc,
            "one SSRC towards A across prompt and relay"
        );
        assert_eq!(
            u16::from_be_bytes([relayed[2], relayed[3]]),
            u16::from_be_bytes([got[4][2], got[4][3]]).wrapping_add(1),
            "sequence continues"
        );
    }

    /// A leg moved to another relay (attended transfer) keeps hearing one stream: after
    /// `HandOver`, what the new relay sends it carries on with the old relay's SSRC and
    /// sequence numbers.
    #[tokio::test]
    async fn a_handed_over_leg_hears_one_continuous_stream() {
        let (ev_tx, _ev_rx) = mpsc::unbounded_channel();
        let ip = "127.0.0.1".parse().unwrap();
        let p1 = ports();
        let r1 = open(3, ip, p1, p1 + 2, None, ev_tx.clone()).unwrap();
        let p2 = loop {
            let p = ports();
            if !(p1..p1 + 4).contains(&p) && !(p1..p1 + 4).contains(&(p + 3)) {
                break p;
            }
        };
        let r2 = open(4, ip, p2, p2 + 2, None, ev_tx).unwrap();
        let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let first = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let second = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let remote = |s: &UdpSocket, side| RelayCmd::Remote {
            side,
            rtp: Some(s.local_addr().unwrap()),
            rtcp: None,
            signal_ip: None,
            telephone_event: None,
            active: true,
        };
        r1.cmd.send(remote(&first, Side::A)).unwrap();
        r1.cmd.send(remote(&phone, Side::B)).unwrap();
        r2.cmd.send(remote(&second, Side::A)).unwrap();
        r2.cmd.send(remote(&phone, Side::B)).unwrap();
        let mut buf = [0u8; 2048];
        let mut heard = Vec::new();
        // The phone hears `first` through relay 1 ...
        for seq in 1..=3u16 {
            first
                .send_to(&rtp(0x111, seq), ("127.0.0.1", p1))
                .await
                .unwrap();
            let n = tokio::time::timeout(Duration::from_secs(5), phone.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            heard.push(buf[..n].to_vec());
        }
        // ... then, handed over, `second` (another source, far-off numbers) through relay 2
        // (what the media driver sends: relay 2 first waits for the state).
        r2.cmd
            .send(RelayCmd::ExpectStream { side: Side::B })
            .unwrap();
        r1.cmd
            .send(RelayCmd::HandOver {
                side: Side::B,
                to: r2.cmd.clone(),
                to_side: Side::B,
            })
            .unwrap();
        let mut moved = None;
        for seq in 40000..40050u16 {
            second
                .send_to(&rtp(0x222, seq), ("127.0.0.1", p2))
                .await
                .unwrap();
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(100), phone.recv(&mut buf)).await
            {
                moved = Some(buf[..n].to_vec());
                break;
            }
        }
        let moved = moved.expect("relay 2 relays to the phone");
        let last = heard.last().unwrap();
        assert_eq!(word(&moved, 8), word(last, 8), "the same SSRC as before");
        assert_eq!(
            u16::from_be_bytes([moved[2], moved[3]]),
            u16::from_be_bytes([last[2], last[3]]).wrapping_add(1),
            "the sequence carries on"
        );
    }

    /// The lead's RTP reaches the detectors in the relay task: a synthesised machine
    /// greeting sent as PCMU from side A's address comes back as an `Amd` event (machine).
    #[tokio::test]
    async fn a_machine_greeting_from_side_a_is_reported() {
        use crate::dialer::amd::{corpus::amd_clips, Verdict};
        use crate::dialer::amd_config::AmdConfig;
        let p = ports();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let h = open(5, "127.0.0.1".parse().unwrap(), p, p + 2, None, ev_tx).unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        h.cmd
            .send(RelayCmd::Remote {
                side: Side::A,
                rtp: Some(a.local_addr().unwrap()),
                rtcp: None,
                signal_ip: None,
                telephone_event: None,
                active: true,
            })
            .unwrap();
        h.cmd
            .send(RelayCmd::Analyze {
                amd: Some(AmdConfig::default()),
                sit: true,
            })
            .unwrap();
        let greeting = amd_clips(1, 1)
            .into_iter()
            .find(|c| c.family == "greeting")
            .expect("the corpus has greetings")
            .audio;
        for (i, frame) in greeting.chunks(160).enumerate() {
            let mut pkt = rtp(0xA11, i as u16);
            pkt.truncate(12);
            pkt.extend(frame.iter().map(|&s| crate::media::g711::ulaw_encode(s)));
            a.send_to(&pkt, ("127.0.0.1", p)).await.unwrap();
            if i % 25 == 0 {
                // Let the relay keep up (a full socket buffer would drop frames).
                tokio::task::yield_now().await;
            }
        }
        let ev = tokio::time::timeout(Duration::from_secs(30), ev_rx.recv())
            .await
            .expect("a verdict")
            .expect("the relay runs");
        match ev {
            (5, MediaEvent::Amd(r)) => assert_eq!(r.verdict, Verdict::Machine, "{r:?}"),
            other => panic!("expected a machine verdict, got {other:?}"),
        }
    }
}
