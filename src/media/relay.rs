//! The anchored relay: one task per call owns the call's four sockets (RTP and RTCP for
//! each side) and forwards packets from one side to the other in place — no allocation and
//! no channel hop per packet. Symmetric RTP: each side is latched to the first packets from
//! its expected address, after which only that exact source is relayed (RTP bleed gets
//! nothing); packets go back to the latched address. SSRC, sequence and timestamp are
//! rewritten so each far end sees one continuous stream across re-INVITEs.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{
    estimate_mos, parse_rtp, rewrite_rtcp_ssrc, DtmfDetector, ReceiveStats, StreamRewriter,
};
use crate::call::cdr::MediaQuality;
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
    /// Stop relaying and report the call's media figures.
    Finish(oneshot::Sender<MediaSummary>),
}

/// The call's media quality at the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaSummary {
    /// What arrived from A (and went to B), and the reverse.
    pub a_to_b: MediaQuality,
    pub b_to_a: MediaQuality,
    pub mos: Option<f64>,
    /// Packets dropped because they came from somewhere other than the latched source.
    pub foreign_dropped: u64,
}

pub struct RelayHandle {
    pub cmd: mpsc::UnboundedSender<RelayCmd>,
}

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
        events,
    };
    tokio::spawn(run(relay, sockets, rx));
    Ok(RelayHandle { cmd: tx })
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
    latched: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    telephone_event: Option<u8>,
    /// Packets received from this side.
    stats: ReceiveStats,
    last_ssrc: Option<u32>,
    dtmf: DtmfDetector,
    /// Rewrites what we send *to* this side.
    out: StreamRewriter,
}

impl SideState {
    fn new(ssrc: u32) -> Self {
        SideState {
            expected: None,
            expected_rtcp: None,
            signal_ip: None,
            latched: None,
            latched_rtcp: None,
            telephone_event: None,
            stats: ReceiveStats::new(CLOCK),
            last_ssrc: None,
            dtmf: DtmfDetector::new(CLOCK),
            out: StreamRewriter::new(ssrc, (ssrc >> 16) as u16, ssrc.rotate_left(7), CLOCK),
        }
    }

    /// Symmetric RTP latching: before latching, accept the first packet from the address
    /// the SDP named (any port: NAT may rewrite it) or from the phone's signalling address;
    /// after, only that exact source.
    fn accept(
        latched: &mut Option<SocketAddr>,
        expected: Option<SocketAddr>,
        signal_ip: Option<IpAddr>,
        src: SocketAddr,
    ) -> bool {
        match *latched {
            Some(l) => l == src,
            None => {
                let ok =
                    expected.is_some_and(|e| e.ip() == src.ip()) || signal_ip == Some(src.ip());
                if ok {
                    *latched = Some(src);
                }
                ok
            }
        }
    }

    fn rtp_dest(&self) -> Option<SocketAddr> {
        self.latched.or(self.expected)
    }

    fn rtcp_dest(&self) -> Option<SocketAddr> {
        self.latched_rtcp.or(self.expected_rtcp).or_else(|| {
            self.latched
                .map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
        })
    }

    fn quality(&self) -> MediaQuality {
        MediaQuality {
            packets: self.stats.packets(),
            lost: self.stats.lost(),
            jitter_ms: self.stats.jitter_ms(),
        }
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
    events: mpsc::UnboundedSender<(CallRef, MediaEvent)>,
}

fn idx(side: Side) -> usize {
    side as usize
}

impl Relay {
    fn on_rtp(&mut self, sockets: &Sockets, from: Side, buf: &mut [u8], src: SocketAddr) {
        let to = from.other();
        {
            let s = &mut self.sides[idx(from)];
            if !SideState::accept(&mut s.latched, s.expected, s.signal_ip, src) {
                self.foreign_dropped += 1;
                return;
            }
        }
        let Ok(h) = parse_rtp(buf) else { return };
        let now = Instant::now();
        self.last_rx = now;
        let std_now = now.into_std();
        let s = &mut self.sides[idx(from)];
        if s.last_ssrc != Some(h.ssrc) {
            if s.last_ssrc.is_some() {
                s.stats.on_new_source();
            }
            s.last_ssrc = Some(h.ssrc);
        }
        s.stats
            .on_packet(std_now, h.sequence, h.timestamp, h.payload_len);
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
        {
            let s = &mut self.sides[idx(from)];
            let expected = s.expected_rtcp.or(s.expected);
            if !SideState::accept(&mut s.latched_rtcp, expected, s.signal_ip, src) {
                self.foreign_dropped += 1;
                return;
            }
        }
        // Relayed as is apart from the sender SSRC, which must match the stream the other
        // side sees; a malformed compound packet is dropped (the rewrite checks it).
        // Quality comes from our own RTP statistics: RTCP reports are not read yet.
        let t = &self.sides[idx(to)];
        let Some(dest) = t.rtcp_dest() else { return };
        if rewrite_rtcp_ssrc(buf, t.out.out_ssrc()) {
            let _ = sockets.rtcp(to).try_send_to(buf, dest);
        }
    }

    fn on_cmd(&mut self, cmd: RelayCmd) -> Option<oneshot::Sender<MediaSummary>> {
        match cmd {
            RelayCmd::Remote {
                side,
                rtp,
                rtcp,
                signal_ip,
                telephone_event,
                active,
            } => {
                let s = &mut self.sides[idx(side)];
                if s.expected != rtp {
                    // The far end moved (re-INVITE): latch afresh.
                    s.latched = None;
                    s.latched_rtcp = None;
                }
                s.expected = rtp;
                s.expected_rtcp = rtcp;
                s.signal_ip = signal_ip;
                s.telephone_event = telephone_event;
                self.active = active;
                self.last_rx = Instant::now();
                None
            }
            RelayCmd::Finish(tx) => Some(tx),
        }
    }

    fn tick(&mut self) {
        let now = Instant::now();
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
        let a = &self.sides[0].stats;
        let b = &self.sides[1].stats;
        let got_media = a.packets() + b.packets() > 0;
        let loss = a.loss_fraction().max(b.loss_fraction());
        let jitter = a.jitter_ms().max(b.jitter_ms());
        MediaSummary {
            a_to_b: self.sides[0].quality(),
            b_to_a: self.sides[1].quality(),
            mos: got_media.then(|| (estimate_mos(loss, jitter, None) * 100.0).round() / 100.0),
            foreign_dropped: self.foreign_dropped,
        }
    }
}

async fn run(mut relay: Relay, sockets: Sockets, mut rx: mpsc::UnboundedReceiver<RelayCmd>) {
    let mut bufs = [[0u8; 2048]; 4];
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let [b0, b1, b2, b3] = &mut bufs;
        tokio::select! {
            r = sockets.a_rtp.recv_from(b0) => if let Ok((n, src)) = r { relay.on_rtp(&sockets, Side::A, &mut b0[..n], src) },
            r = sockets.b_rtp.recv_from(b1) => if let Ok((n, src)) = r { relay.on_rtp(&sockets, Side::B, &mut b1[..n], src) },
            r = sockets.a_rtcp.recv_from(b2) => if let Ok((n, src)) = r { relay.on_rtcp(&sockets, Side::A, &mut b2[..n], src) },
            r = sockets.b_rtcp.recv_from(b3) => if let Ok((n, src)) = r { relay.on_rtcp(&sockets, Side::B, &mut b3[..n], src) },
            cmd = rx.recv() => match cmd {
                Some(cmd) => if let Some(done) = relay.on_cmd(cmd) {
                    let _ = done.send(relay.summary());
                    return;
                },
                // The driver dropped us (shutdown): stop.
                None => return,
            },
            _ = tick.tick() => relay.tick(),
        }
    }
}
