//! Where each side's audio lands in the file, sans-IO: positions are sample offsets from the
//! recording's start (the wall clock, 8 kHz). Each side is anchored at its first packet's
//! arrival and then follows its RTP timestamps (so jitter does not smear the audio); a jump
//! between timestamp and arrival of more than `REANCHOR` (new SSRC after a re-INVITE, a
//! phone that froze its clock during hold) re-anchors on arrival. Whatever no packet covers
//! (loss, hold, silence suppression, a dropped batch) is silence, so both channels stay
//! aligned with the wall clock; paused spans are silence whatever arrived.

use std::collections::VecDeque;

/// 8 kHz.
pub const RATE: u32 = 8000;
/// Half a second of disagreement between the RTP clock and arrival: a new timeline.
const REANCHOR: i64 = 4000;
/// Audio more than this far ahead of what is written is garbage (a wild timestamp).
const MAX_AHEAD: u64 = 10 * RATE as u64;

/// One side's RTP clock against the recording's.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideClock {
    anchor: Option<(i64, u32)>,
}

impl SideClock {
    /// The position of a packet with RTP timestamp `ts` that arrived `arrival` samples
    /// after the recording started.
    pub fn position(&mut self, arrival: u64, ts: u32) -> u64 {
        let arrival = arrival as i64;
        if let Some((pos, ats)) = self.anchor {
            let p = pos + i64::from(ts.wrapping_sub(ats) as i32);
            if p >= 0 && (p - arrival).abs() <= REANCHOR {
                return p as u64;
            }
        }
        self.anchor = Some((arrival, ts));
        arrival as u64
    }
}

/// Stereo (caller left, callee right) or a mono mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    #[default]
    Stereo,
    Mono,
}

impl Layout {
    pub fn channels(self) -> u16 {
        match self {
            Layout::Stereo => 2,
            Layout::Mono => 1,
        }
    }
}

/// Both sides' samples not yet written, and the spans to keep silent.
#[derive(Debug)]
pub struct Timeline {
    layout: Layout,
    clocks: [SideClock; 2],
    /// Samples from `written` on, per side (missing = silence).
    pending: [VecDeque<i16>; 2],
    written: u64,
    /// Paused spans: [start, end) with end None while still paused.
    mutes: VecDeque<(u64, Option<u64>)>,
}

impl Timeline {
    pub fn new(layout: Layout) -> Self {
        Timeline {
            layout,
            clocks: [SideClock::default(); 2],
            pending: [VecDeque::new(), VecDeque::new()],
            written: 0,
            mutes: VecDeque::new(),
        }
    }

    /// Samples per side written so far (the recording's length).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// A decoded frame from `side` (0 = caller, 1 = callee).
    pub fn place(&mut self, side: usize, arrival: u64, ts: u32, samples: &[i16]) {
        let pos = self.clocks[side].position(arrival, ts);
        self.place_at(side, pos, samples);
    }

    /// A frame at a known position. What falls before the written part is too late.
    pub fn place_at(&mut self, side: usize, pos: u64, samples: &[i16]) {
        let end = pos + samples.len() as u64;
        if end <= self.written || pos > self.written + MAX_AHEAD {
            return;
        }
        let skip = self.written.saturating_sub(pos) as usize;
        let from = (pos.max(self.written) - self.written) as usize;
        let q = &mut self.pending[side];
        let need = from + samples.len() - skip;
        if q.len() < need {
            q.resize(need, 0);
        }
        for (i, s) in samples[skip..].iter().enumerate() {
            q[from + i] = *s;
        }
    }

    pub fn pause(&mut self, at: u64) {
        if !matches!(self.mutes.back(), Some((_, None))) {
            self.mutes.push_back((at, None));
        }
    }

    pub fn resume(&mut self, at: u64) {
        if let Some((start, end @ None)) = self.mutes.back_mut() {
            *end = Some(at.max(*start));
        }
    }

    fn muted(&mut self, pos: u64) -> bool {
        while let Some(&(_, Some(end))) = self.mutes.front() {
            if end <= pos {
                self.mutes.pop_front();
            } else {
                break;
            }
        }
        matches!(self.mutes.front(), Some(&(start, _)) if start <= pos)
    }

    /// Write out everything before `upto` into `out` (interleaved for stereo, summed with
    /// clipping for mono), silence where nothing arrived or while paused.
    pub fn emit(&mut self, upto: u64, out: &mut Vec<i16>) {
        while self.written < upto {
            let a = self.pending[0].pop_front().unwrap_or(0);
            let b = self.pending[1].pop_front().unwrap_or(0);
            let (a, b) = if self.muted(self.written) {
                (0, 0)
            } else {
                (a, b)
            };
            match self.layout {
                Layout::Stereo => {
                    out.push(a);
                    out.push(b);
                }
                Layout::Mono => out.push(a.saturating_add(b)),
            }
            self.written += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_timestamps_through_jitter_and_reanchors_on_jumps() {
        let mut c = SideClock::default();
        assert_eq!(c.position(800, 1000), 800);
        // 20 ms later by the RTP clock, arriving 5 ms late: placed by the timestamp.
        assert_eq!(c.position(800 + 160 + 40, 1160), 960);
        // A new SSRC with a random timestamp: placed where it arrived.
        assert_eq!(c.position(8000, 123_456_789), 8000);
        assert_eq!(c.position(8160, 123_456_949), 8160);
        // Timestamps wrap.
        let mut c = SideClock::default();
        assert_eq!(c.position(0, u32::MAX - 79), 0);
        assert_eq!(c.position(160, 80), 160);
    }

    #[test]
    fn gaps_are_silence_and_channels_stay_aligned() {
        let mut t = Timeline::new(Layout::Stereo);
        t.place_at(0, 0, &[1; 160]);
        // The callee's first packet comes 100 ms in; a 20 ms loss on the caller's side.
        t.place_at(1, 800, &[2; 160]);
        t.place_at(0, 320, &[3; 160]);
        let mut out = Vec::new();
        t.emit(1200, &mut out);
        assert_eq!(out.len(), 2400);
        let left: Vec<i16> = out.iter().step_by(2).copied().collect();
        let right: Vec<i16> = out.iter().skip(1).step_by(2).copied().collect();
        assert!(left[..160].iter().all(|&s| s == 1));
        assert!(
            left[160..320].iter().all(|&s| s == 0),
            "lost frame = silence"
        );
        assert!(left[320..480].iter().all(|&s| s == 3));
        assert!(left[480..].iter().all(|&s| s == 0));
        assert!(right[..800].iter().all(|&s| s == 0));
        assert!(right[800..960].iter().all(|&s| s == 2));
        // Partly too late for what is written: only the part still ahead lands.
        t.place_at(0, 1100, &[9; 160]);
        let mut more = Vec::new();
        t.emit(1360, &mut more);
        assert_eq!(more.len(), 320);
        let left: Vec<i16> = more.iter().step_by(2).copied().collect();
        assert!(left[..60].iter().all(|&s| s == 9), "the part still ahead");
        assert!(left[60..].iter().all(|&s| s == 0));
    }

    #[test]
    fn mono_mixes_with_clipping() {
        let mut t = Timeline::new(Layout::Mono);
        t.place_at(0, 0, &[30000, 100]);
        t.place_at(1, 0, &[30000, -50]);
        let mut out = Vec::new();
        t.emit(3, &mut out);
        assert_eq!(out, vec![i16::MAX, 50, 0]);
    }

    /// Pause/resume on a virtual timeline: exact silence over [pause, resume), audio around.
    /// As in the writer, output lags the batches (marks always arrive ahead of what is
    /// written).
    #[test]
    fn paused_span_is_exact_silence() {
        let mut t = Timeline::new(Layout::Stereo);
        let mut out = Vec::new();
        for f in 0..50u64 {
            // Both sides talk continuously, 20 ms frames, timestamps in step.
            t.place(0, f * 160, (f * 160) as u32, &[1000; 160]);
            t.place(1, f * 160, 5000 + (f * 160) as u32, &[-1000; 160]);
            if f == 10 {
                t.pause(1234);
            }
            if f == 30 {
                t.resume(4321);
            }
            t.emit((f * 160).saturating_sub(400), &mut out);
        }
        t.emit(50 * 160, &mut out);
        assert_eq!(out.len(), 2 * 8000);
        for (i, pair) in out.chunks(2).enumerate() {
            let silent = (1234..4321).contains(&i);
            assert_eq!(pair == [0, 0], silent, "sample {i}: {pair:?}");
            if !silent {
                assert_eq!(pair, [1000, -1000]);
            }
        }
    }
}
