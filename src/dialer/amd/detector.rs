//! The AMD state machine, after Asterisk's app_amd: each 20 ms frame is speech or silence by
//! its mean absolute amplitude, and the cadence of silence and speech decides.

use std::time::{Duration, Instant};

use super::frame::{mean_abs, Framer, FRAME_SAMPLES, SAMPLE_RATE};
use crate::dialer::amd_config::AmdConfig;
use crate::media::g711;
use crate::sdp::CodecName;

/// What answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Human,
    Machine,
    NotSure,
}

impl Verdict {
    /// Asterisk's AMDSTATUS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Human => "HUMAN",
            Verdict::Machine => "MACHINE",
            Verdict::NotSure => "NOTSURE",
        }
    }
}

/// Why: Asterisk's AMDCAUSE names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Silence from the answer on, longer than `initial_silence_ms`: machine.
    InitialSilence,
    /// A short greeting, then `after_greeting_silence_ms` of silence: human.
    Human,
    /// Speech adding up to `greeting_ms`: machine.
    LongGreeting,
    /// One utterance of `maximum_word_length_ms`: machine.
    MaxWordLength,
    /// `maximum_number_of_words` words reached: machine.
    MaxWords,
    /// `total_analysis_ms` passed (in audio or on the clock) with no decision: not sure.
    TooLong,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::InitialSilence => "INITIALSILENCE",
            Cause::Human => "HUMAN",
            Cause::LongGreeting => "LONGGREETING",
            Cause::MaxWordLength => "MAXWORDLENGTH",
            Cause::MaxWords => "MAXWORDS",
            Cause::TooLong => "TOOLONG",
        }
    }
}

/// The decision, with the counters that led to it (Asterisk appends them to AMDCAUSE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmdResult {
    pub verdict: Verdict,
    pub cause: Cause,
    /// Audio analysed when deciding (or the time on the clock, if that ran out first).
    pub decided_after_ms: u32,
    /// Words counted.
    pub words: u32,
    /// Speech heard in all, ms.
    pub voice_ms: u32,
}

/// Limits in samples, so any frame length counts exactly.
#[derive(Debug, Clone, Copy)]
struct Limits {
    initial_silence: u64,
    greeting: u64,
    after_greeting_silence: u64,
    total_analysis: u64,
    min_word: u64,
    between_words: u64,
    max_words: u32,
    threshold: u32,
    max_word: u64,
}

fn samples(ms: u32) -> u64 {
    u64::from(ms) * u64::from(SAMPLE_RATE) / 1000
}

fn ms(samples: u64) -> u32 {
    (samples * 1000 / u64::from(SAMPLE_RATE)).min(u64::from(u32::MAX)) as u32
}

/// The counters of the cadence analysis (one frame at a time).
#[derive(Debug, Clone)]
struct Core {
    lim: Limits,
    total: u64,
    silence_run: u64,
    word_run: u64,
    voice: u64,
    words: u32,
    /// Asterisk starts "in a word": speech that opens the audio with no silence before it is
    /// not counted as a word until a between-words silence has been seen.
    in_word: bool,
    in_initial_silence: bool,
    in_greeting: bool,
    result: Option<AmdResult>,
}

impl Core {
    fn decide(&mut self, verdict: Verdict, cause: Cause) {
        self.result = Some(AmdResult {
            verdict,
            cause,
            decided_after_ms: ms(self.total),
            words: self.words,
            voice_ms: ms(self.voice),
        });
    }

    fn frame(&mut self, frame: &[i16]) {
        if self.result.is_none() {
            if let Some((verdict, cause)) = self.step(frame) {
                self.decide(verdict, cause);
            }
        }
    }

    /// One frame of the cadence analysis; the checks run in Asterisk's order.
    fn step(&mut self, frame: &[i16]) -> Option<(Verdict, Cause)> {
        let len = frame.len() as u64;
        let lim = self.lim;
        self.total += len;
        if self.total >= lim.total_analysis {
            return Some((Verdict::NotSure, Cause::TooLong));
        }
        if mean_abs(frame) < lim.threshold {
            self.silence_run += len;
            if self.silence_run >= lim.between_words {
                self.in_word = false;
                self.word_run = 0;
            }
            if self.in_initial_silence && self.silence_run >= lim.initial_silence {
                return Some((Verdict::Machine, Cause::InitialSilence));
            }
            if self.in_greeting && self.silence_run >= lim.after_greeting_silence {
                return Some((Verdict::Human, Cause::Human));
            }
        } else {
            // Any speech frame ends the silence run, even a blip too short to be a word.
            self.silence_run = 0;
            self.word_run += len;
            self.voice += len;
            if self.word_run >= lim.min_word && !self.in_word {
                self.words += 1;
                self.in_word = true;
            }
            if self.word_run >= lim.max_word {
                return Some((Verdict::Machine, Cause::MaxWordLength));
            }
            if self.words >= lim.max_words {
                return Some((Verdict::Machine, Cause::MaxWords));
            }
            if self.in_greeting && self.voice >= lim.greeting {
                return Some((Verdict::Machine, Cause::LongGreeting));
            }
            if self.word_run >= lim.min_word && !self.in_greeting {
                // The first real word: the greeting has begun.
                self.in_initial_silence = false;
                self.in_greeting = true;
            }
        }
        None
    }
}

/// Answering machine detection for one answered call. Feed it the callee's audio from the
/// answer on; read the verdict with [`Amd::poll_result`].
#[derive(Debug, Clone)]
pub struct Amd {
    framer: Framer,
    core: Core,
    start: Instant,
    deadline: Instant,
    reported: bool,
}

impl Amd {
    /// Starts the analysis at `now` (the answer).
    pub fn new(cfg: &AmdConfig, now: Instant) -> Self {
        let lim = Limits {
            initial_silence: samples(cfg.initial_silence_ms),
            greeting: samples(cfg.greeting_ms),
            after_greeting_silence: samples(cfg.after_greeting_silence_ms),
            total_analysis: samples(cfg.total_analysis_ms),
            min_word: samples(cfg.min_word_length_ms),
            between_words: samples(cfg.between_words_silence_ms),
            max_words: cfg.maximum_number_of_words,
            threshold: cfg.silence_threshold,
            max_word: samples(cfg.maximum_word_length_ms),
        };
        Amd {
            framer: Framer::new(),
            core: Core {
                lim,
                total: 0,
                silence_run: 0,
                word_run: 0,
                voice: 0,
                words: 0,
                in_word: true,
                in_initial_silence: true,
                in_greeting: false,
                result: None,
            },
            start: now,
            deadline: now + Duration::from_millis(u64::from(cfg.total_analysis_ms)),
            reported: false,
        }
    }

    /// Feeds 8 kHz linear PCM, any length (analysed in 20 ms frames; a partial frame waits
    /// for the next call). Lost packets should be fed as silence so the cadence holds.
    pub fn handle_frame(&mut self, now: Instant, samples: &[i16]) {
        if self.core.result.is_some() {
            return;
        }
        let core = &mut self.core;
        self.framer.push(samples, |f| core.frame(f));
        self.handle_timeout(now);
    }

    /// Feeds one G.711 RTP payload (decoded in 20 ms pieces on the stack).
    pub fn handle_payload(&mut self, now: Instant, codec: CodecName, payload: &[u8]) {
        for_each_decoded(codec, payload, |pcm| self.handle_frame(now, pcm));
    }

    /// The clock guard: with no audio at all (RTP stopped), the analysis still ends at
    /// `total_analysis_ms` after the answer, as not sure.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.core.result.is_none() && now >= self.deadline {
            self.core.decide(Verdict::NotSure, Cause::TooLong);
            if let Some(r) = &mut self.core.result {
                let wall = now.saturating_duration_since(self.start).as_millis();
                r.decided_after_ms = r
                    .decided_after_ms
                    .max(wall.min(u128::from(u32::MAX)) as u32);
            }
        }
    }

    /// When to call [`Amd::handle_timeout`] if no audio arrives; `None` once decided.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.result.is_none().then_some(self.deadline)
    }

    /// The verdict, once: `Some` the first call after the decision, `None` before and after.
    pub fn poll_result(&mut self) -> Option<AmdResult> {
        if self.reported {
            return None;
        }
        let r = self.core.result?;
        self.reported = true;
        Some(r)
    }

    /// The verdict, if decided (does not consume it).
    pub fn result(&self) -> Option<AmdResult> {
        self.core.result
    }
}

/// Decodes a G.711 payload a frame's worth at a time (a stack buffer: no allocation) and
/// hands each decoded piece to `f`: every detector's `handle_payload`.
pub(crate) fn for_each_decoded(codec: CodecName, payload: &[u8], mut f: impl FnMut(&[i16])) {
    let decode = match codec {
        CodecName::Pcmu => g711::ulaw_decode,
        CodecName::Pcma => g711::alaw_decode,
    };
    let mut pcm = [0i16; FRAME_SAMPLES];
    for chunk in payload.chunks(FRAME_SAMPLES) {
        for (o, &b) in pcm.iter_mut().zip(chunk) {
            *o = decode(b);
        }
        f(&pcm[..chunk.len()]);
    }
}
