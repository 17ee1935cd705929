//! Waiting for the answering machine's beep before leaving a message: voicemail records
//! only after its beep, so a message started at the AMD verdict loses its beginning.
//!
//! After the MACHINE verdict the callee's audio keeps coming here, 20 ms frame by frame, and
//! the message starts at the first of:
//! - the end of a beep: one steady tone of 400–2000 Hz (most of the frame's energy within
//!   25 Hz of one frequency, frame after frame) lasting at least 120 ms;
//! - `message_wait_silence_ms` of silence (no beep, or one we did not hear: the greeting is
//!   over);
//! - `message_max_wait_secs` after the verdict (on the clock too, so a line that sends no
//!   RTP at all still gets its message).
//!
//! Sans-IO like the other detectors: `handle_frame` / `handle_payload` / `handle_timeout`
//! in, `poll_result` out; no allocation per frame (the filter bank is built once).

use std::time::{Duration, Instant};

use super::detector::for_each_decoded;
use super::frame::{mean_abs, purity, Framer, Goertzel, FRAME_MS, FRAME_SAMPLES};
use crate::dialer::amd_config::AmdConfig;
use crate::sdp::CodecName;

/// The beep band and the filter spacing (half a 20 ms frame's 50 Hz resolution, so a tone
/// between two filters still keeps ~80 % of its power in the nearer one).
const LOW_HZ: f32 = 400.0;
const HIGH_HZ: f32 = 2000.0;
const STEP_HZ: f32 = 25.0;
const FILTERS: usize = ((HIGH_HZ - LOW_HZ) / STEP_HZ) as usize + 1;
/// A frame is tone when this share of its energy sits at one filter (a clean tone keeps
/// 0.8–1.0, G.711 included; voiced speech spreads over its harmonics, rarely above 0.4).
const MIN_PURITY: f32 = 0.6;
/// Consecutive tone frames may move this many filters (a steady tone does not glide).
const MAX_DRIFT: usize = 1;
/// A beep lasts at least this long.
const MIN_BEEP_MS: u32 = 120;

/// Why the message may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cue {
    /// A beep ended.
    Beep,
    /// `message_wait_silence_ms` of silence.
    Silence,
    /// `message_max_wait_secs` passed.
    MaxWait,
}

impl Cue {
    pub fn as_str(self) -> &'static str {
        match self {
            Cue::Beep => "beep",
            Cue::Silence => "silence",
            Cue::MaxWait => "max-wait",
        }
    }
}

/// The cue, when it came, and the beep's frequency if there was one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeepResult {
    pub cue: Cue,
    /// Audio analysed since the verdict (or the time on the clock, for `MaxWait`).
    pub after_ms: u32,
    /// The beep's frequency (filter centre, ±25 Hz), for `Beep`.
    pub beep_hz: Option<f32>,
}

/// Waits for the moment to start a message on one call.
#[derive(Debug, Clone)]
pub struct BeepWait {
    framer: Framer,
    filters: [Goertzel; FILTERS],
    silence_threshold: u32,
    silence_frames: u32,
    max_frames: u32,
    deadline: Instant,
    started: Instant,
    frames: u32,
    silent_run: u32,
    /// The current tone run: (filter, frames).
    tone: Option<(usize, u32)>,
    result: Option<BeepResult>,
    taken: bool,
}

fn filter_hz(i: usize) -> f32 {
    LOW_HZ + STEP_HZ * i as f32
}

impl BeepWait {
    /// From the MACHINE verdict at `now`, with the campaign's AMD settings
    /// (`silence_threshold`, `message_wait_silence_ms`, `message_max_wait_secs`).
    pub fn new(cfg: &AmdConfig, now: Instant) -> Self {
        let max = Duration::from_secs(u64::from(cfg.message_max_wait_secs));
        BeepWait {
            framer: Framer::new(),
            filters: std::array::from_fn(|i| Goertzel::new(filter_hz(i))),
            silence_threshold: cfg.silence_threshold,
            silence_frames: cfg.message_wait_silence_ms.div_ceil(FRAME_MS).max(1),
            max_frames: (cfg.message_max_wait_secs.saturating_mul(1000) / FRAME_MS).max(1),
            deadline: now + max,
            started: now,
            frames: 0,
            silent_run: 0,
            tone: None,
            result: None,
            taken: false,
        }
    }

    /// Decoded 8 kHz audio from the callee, any slice length. Lost packets should be fed
    /// as silence.
    pub fn handle_frame(&mut self, _now: Instant, samples: &[i16]) {
        if self.result.is_some() {
            return;
        }
        let mut framer = std::mem::replace(&mut self.framer, Framer::new());
        framer.push(samples, |f| self.frame(f));
        self.framer = framer;
    }

    /// One G.711 payload from the callee.
    pub fn handle_payload(&mut self, now: Instant, codec: CodecName, payload: &[u8]) {
        for_each_decoded(codec, payload, |pcm| self.handle_frame(now, pcm));
    }

    /// The clock guard: with no audio (RTP stopped), the wait still ends at the max wait.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.result.is_none() && now >= self.deadline {
            self.result = Some(BeepResult {
                cue: Cue::MaxWait,
                after_ms: now.duration_since(self.started).as_millis() as u32,
                beep_hz: None,
            });
        }
    }

    /// When `handle_timeout` must be called if no audio comes.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.result.is_none().then_some(self.deadline)
    }

    /// The cue, once.
    pub fn poll_result(&mut self) -> Option<BeepResult> {
        if self.taken {
            return None;
        }
        let r = self.result?;
        self.taken = true;
        Some(r)
    }

    pub fn result(&self) -> Option<BeepResult> {
        self.result
    }

    fn frame(&mut self, f: &[i16; FRAME_SAMPLES]) {
        if self.result.is_some() {
            return;
        }
        self.frames += 1;
        let loud = mean_abs(f) >= self.silence_threshold;
        let tone = if loud { self.tone_of(f) } else { None };
        // A run of steady tone that stops (silence, speech, another tone) is a beep.
        match (self.tone, tone) {
            (Some((was, n)), Some(now)) if was.abs_diff(now) <= MAX_DRIFT => {
                self.tone = Some((now, n + 1));
            }
            (Some((was, n)), _) if n * FRAME_MS >= MIN_BEEP_MS => {
                return self.decide(Cue::Beep, Some(filter_hz(was)));
            }
            _ => self.tone = tone.map(|t| (t, 1)),
        }
        self.silent_run = if loud { 0 } else { self.silent_run + 1 };
        if self.silent_run >= self.silence_frames {
            self.decide(Cue::Silence, None);
        } else if self.frames >= self.max_frames {
            self.decide(Cue::MaxWait, None);
        }
    }

    /// The filter holding most of the frame's energy, if it holds enough to be a tone.
    fn tone_of(&self, f: &[i16; FRAME_SAMPLES]) -> Option<usize> {
        let energy: f32 = f.iter().map(|&s| f32::from(s) * f32::from(s)).sum();
        let (best, power) = self
            .filters
            .iter()
            .map(|g| g.power(f))
            .enumerate()
            .fold((0, 0.0f32), |b, (i, p)| if p > b.1 { (i, p) } else { b });
        (purity(power, energy, f.len()) >= MIN_PURITY).then_some(best)
    }

    fn decide(&mut self, cue: Cue, beep_hz: Option<f32>) {
        self.result = Some(BeepResult {
            cue,
            after_ms: self.frames * FRAME_MS,
            beep_hz,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialer::amd::corpus::Synth;
    use crate::media::g711::ulaw_encode;

    fn cfg() -> AmdConfig {
        AmdConfig::default()
    }

    /// Feeds `audio` as 20 ms PCMU payloads on a virtual clock; the cue.
    fn run(audio: &[i16]) -> Option<BeepResult> {
        let t0 = Instant::now();
        let mut w = BeepWait::new(&cfg(), t0);
        let mut payload = [0u8; FRAME_SAMPLES];
        for (i, frame) in audio.chunks(FRAME_SAMPLES).enumerate() {
            for (o, s) in payload.iter_mut().zip(frame) {
                *o = ulaw_encode(*s);
            }
            let now = t0 + Duration::from_millis(20 * i as u64);
            w.handle_payload(now, CodecName::Pcmu, &payload[..frame.len()]);
            w.handle_timeout(now);
            if let Some(r) = w.poll_result() {
                assert_eq!(w.poll_result(), None, "once");
                return Some(r);
            }
        }
        None
    }

    /// The rest of a voicemail greeting: words with short pauses.
    fn greeting(s: &mut Synth, words: usize) {
        for _ in 0..words {
            s.word(350.0, 6000.0);
            s.silence(180.0);
        }
    }

    #[test]
    fn the_message_starts_when_the_beep_ends() {
        for (hz, ms) in [(1000.0f32, 400.0f32), (440.0, 150.0), (1950.0, 800.0)] {
            let mut s = Synth::new(7, 1, hz as u64);
            greeting(&mut s, 6); // 3.18 s
            s.tone(&[hz], ms, 8000.0);
            s.silence(3000.0);
            let r = run(&s.finish()).expect("a cue");
            assert_eq!(r.cue, Cue::Beep, "{hz} Hz {ms} ms: {r:?}");
            let end = 3180.0 + f64::from(ms);
            assert!(
                (f64::from(r.after_ms) - end).abs() <= 60.0,
                "{hz} Hz: cue at {} ms, beep ended at {end}",
                r.after_ms
            );
            let got = r.beep_hz.unwrap();
            assert!((got - hz).abs() <= 25.0, "{got} vs {hz}");
        }
    }

    #[test]
    fn speech_and_short_or_out_of_band_tones_are_no_beep() {
        let mut s = Synth::new(7, 2, 0);
        greeting(&mut s, 4);
        s.tone(&[1000.0], 80.0, 8000.0); // too short
        s.silence(200.0);
        s.tone(&[300.0], 500.0, 8000.0); // below the band
        s.silence(200.0);
        s.tone(&[350.0, 440.0], 500.0, 6000.0); // dial-tone-like pair: no single tone
        s.silence(2000.0);
        let r = run(&s.finish()).expect("a cue");
        assert_eq!(r.cue, Cue::Silence, "{r:?}");
    }

    #[test]
    fn without_a_beep_silence_after_the_greeting_starts_it() {
        let mut s = Synth::new(7, 3, 0);
        greeting(&mut s, 5); // 2.65 s
        s.silence(4000.0);
        let r = run(&s.finish()).expect("a cue");
        assert_eq!(r.cue, Cue::Silence);
        let want = 2650 + cfg().message_wait_silence_ms;
        assert!(r.after_ms.abs_diff(want) <= 200, "{} vs {want}", r.after_ms);
    }

    #[test]
    fn continuous_noise_waits_the_maximum() {
        // Line noise above the silence threshold, no tone: neither cue, so the max wait.
        let mut x: u32 = 12345;
        let audio: Vec<i16> = (0..8000 * 25)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((x >> 16) as i16 as i32 / 16) as i16
            })
            .collect();
        let r = run(&audio).expect("a cue");
        assert_eq!(r.cue, Cue::MaxWait);
        assert_eq!(r.after_ms, cfg().message_max_wait_secs * 1000);
    }

    #[test]
    fn no_audio_at_all_ends_on_the_clock() {
        let t0 = Instant::now();
        let mut w = BeepWait::new(&cfg(), t0);
        let deadline = w.poll_timeout().unwrap();
        assert_eq!(deadline, t0 + Duration::from_secs(20));
        w.handle_timeout(deadline - Duration::from_millis(1));
        assert_eq!(w.poll_result(), None);
        w.handle_timeout(deadline);
        let r = w.poll_result().unwrap();
        assert_eq!((r.cue, r.after_ms), (Cue::MaxWait, 20_000));
        assert_eq!(w.poll_timeout(), None);
    }
}
