//! Supervisor monitoring inside the relays. The monitored call's relay owns a `Tap`: it
//! keeps the last frames of caller (A) and agent (B) and, every 20 ms, sends the supervisor
//! their mix; in whisper mode the agent hears caller + supervisor, in barge mode the caller
//! hears agent + supervisor as well (those directions are then mixed, not passed through).
//! The supervisor's own relay owns a `Feed`: it plays what the tap sends and hands the
//! supervisor's voice back. Frames cross between the two tasks on bounded channels (off the
//! plain relay path: calls nobody monitors never touch this).

use tokio::sync::mpsc;

use super::mixer::{mix, Frame, JitterQueue};
use super::player::{Law, FRAME, PACKET};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    /// The supervisor hears both parties and is heard by nobody.
    Listen,
    /// ... and is heard by the agent only.
    Whisper,
    /// ... and is heard by both (a three-way call).
    Barge,
}

/// Frames queued between the two relays (80 ms): a stalled peer costs frames, not delay.
pub const CHANNEL: usize = 4;

#[derive(Debug)]
pub struct Tap {
    pub mode: MonitorMode,
    pub law: Law,
    pub to_supervisor: mpsc::Sender<Frame>,
    pub a: JitterQueue,
    pub b: JitterQueue,
    pub s: JitterQueue,
    /// Our own sequence/timestamp for mixed packets (the side's rewriter then makes them
    /// continue the stream that side already hears).
    seq: u16,
    ts: u32,
    ssrc: u32,
}

/// What the tap wants sent this tick.
#[derive(Default)]
pub struct TickOut {
    /// A mixed packet for the caller (barge) and for the agent (whisper, barge).
    pub to_a: Option<[u8; PACKET]>,
    pub to_b: Option<[u8; PACKET]>,
}

/// The SSRC of mixed packets before the rewriter (distinct from the relayed streams, and per
/// session, so the rewriter re-bases when mixing starts and stops).
fn mix_ssrc() -> u32 {
    0x4d49_5821 ^ rand::random::<u32>()
}

impl Tap {
    /// (The supervisor's frames arrive on a receiver the relay's loop owns, and are
    /// pushed into `s`.)
    pub fn new(mode: MonitorMode, law: Law, to_supervisor: mpsc::Sender<Frame>) -> Self {
        Tap {
            mode,
            law,
            to_supervisor,
            a: JitterQueue::default(),
            b: JitterQueue::default(),
            s: JitterQueue::default(),
            seq: 0,
            ts: 0,
            ssrc: mix_ssrc(),
        }
    }

    /// Does traffic from A (`from_a`) reach the other side mixed rather than as is?
    pub fn mixes_from(&self, from_a: bool) -> bool {
        match self.mode {
            MonitorMode::Listen => false,
            MonitorMode::Whisper => from_a,
            MonitorMode::Barge => true,
        }
    }

    /// One 20 ms step: the supervisor's mix goes out on the channel (dropped when the
    /// supervisor's relay lags), and packets for the mixed directions are returned.
    pub fn tick(&mut self) -> TickOut {
        let (a, b, s) = (
            self.a.pop().copied(),
            self.b.pop().copied(),
            self.s.pop().copied(),
        );
        let mut sup = [0u8; FRAME];
        mix(self.law, &[a.as_ref(), b.as_ref()], &mut sup);
        let _ = self.to_supervisor.try_send(sup);
        let mut out = TickOut::default();
        if self.mode != MonitorMode::Listen {
            out.to_b = Some(self.packet(&[a.as_ref(), s.as_ref()]));
        }
        if self.mode == MonitorMode::Barge {
            out.to_a = Some(self.packet(&[b.as_ref(), s.as_ref()]));
        }
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(FRAME as u32);
        out
    }

    fn packet(&self, inputs: &[Option<&Frame>]) -> [u8; PACKET] {
        let mut p = [0u8; PACKET];
        p[0] = 0x80;
        p[1] = self.law.payload_type();
        p[2..4].copy_from_slice(&self.seq.to_be_bytes());
        p[4..8].copy_from_slice(&self.ts.to_be_bytes());
        p[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut f = [0u8; FRAME];
        mix(self.law, inputs, &mut f);
        p[12..].copy_from_slice(&f);
        p
    }
}

/// The supervisor's side: what to play them, and where their voice goes.
#[derive(Debug)]
pub struct Feed {
    /// The supervisor's law, and the monitored call's (frames are converted between them).
    pub law: Law,
    pub tap_law: Law,
    pub to_tap: mpsc::Sender<Frame>,
    seq: u16,
    ts: u32,
    ssrc: u32,
}

impl Feed {
    /// (What the tap sends arrives on a receiver the relay's loop owns.)
    pub fn new(law: Law, tap_law: Law, to_tap: mpsc::Sender<Frame>) -> Self {
        Feed {
            law,
            tap_law,
            to_tap,
            seq: 0,
            ts: 0,
            ssrc: mix_ssrc(),
        }
    }

    /// The supervisor's voice, in the monitored call's law.
    pub fn send_voice(&self, payload: &[u8]) {
        let mut frame = [0u8; FRAME];
        frame.copy_from_slice(payload);
        super::mixer::convert(self.law, self.tap_law, &mut frame);
        let _ = self.to_tap.try_send(frame);
    }

    /// An RTP packet carrying `frame` (in the monitored call's law) for the supervisor.
    pub fn packet(&mut self, frame: &Frame) -> [u8; PACKET] {
        let mut frame = *frame;
        super::mixer::convert(self.tap_law, self.law, &mut frame);
        let frame = &frame;
        let mut p = [0u8; PACKET];
        p[0] = 0x80;
        p[1] = self.law.payload_type();
        p[2..4].copy_from_slice(&self.seq.to_be_bytes());
        p[4..8].copy_from_slice(&self.ts.to_be_bytes());
        p[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        p[12..].copy_from_slice(frame);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(FRAME as u32);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711;

    fn f(v: i16) -> Frame {
        [g711::ulaw_encode(v); FRAME]
    }

    fn level(p: &[u8]) -> i32 {
        i32::from(g711::ulaw_decode(p[12]))
    }

    #[test]
    fn who_hears_what_in_each_mode() {
        let (to_s, mut sup_rx) = mpsc::channel(CHANNEL);
        let mut t = Tap::new(MonitorMode::Listen, Law::Pcmu, to_s);
        let (caller, agent, supervisor) = (1000, 4000, 16000);
        let step = |t: &mut Tap| {
            t.a.push(&f(caller));
            t.b.push(&f(agent));
            t.s.push(&f(supervisor));
            t.tick()
        };
        // Listen: the supervisor hears both; nobody else is mixed.
        let out = step(&mut t);
        let heard = i32::from(g711::ulaw_decode(sup_rx.try_recv().unwrap()[0]));
        assert!((heard - 5000).abs() < 300, "{heard}");
        assert!(out.to_a.is_none() && out.to_b.is_none());
        assert!(!t.mixes_from(true) && !t.mixes_from(false));
        // Whisper: the agent hears caller + supervisor; the caller is untouched.
        t.mode = MonitorMode::Whisper;
        let out = step(&mut t);
        let b = level(&out.to_b.unwrap());
        assert!((b - 17000).abs() < 1000, "{b}");
        assert!(out.to_a.is_none());
        assert!(t.mixes_from(true) && !t.mixes_from(false));
        // Barge: the caller hears agent + supervisor too.
        t.mode = MonitorMode::Barge;
        let out = step(&mut t);
        let a = level(&out.to_a.unwrap());
        assert!((a - 20000).abs() < 1200, "{a}");
        // A silent supervisor adds nothing.
        t.a.push(&f(caller));
        let out = t.tick();
        assert!((level(&out.to_b.unwrap()) - i32::from(caller)).abs() < 100);
    }
}
