//! A labelled evaluation corpus, synthesised from a seed (so every run and every machine
//! sees the same clips): human answers, answering-machine greetings, SIT-tone announcements
//! and other call-progress tones, at varied levels and noise.
//!
//! Speech is modelled as voiced words: a drifting fundamental (90–230 Hz) with harmonics
//! shaped by two formants that change per syllable, a syllable-rate (4–6 Hz) envelope that
//! dips but stays voiced inside a word, and a little aspiration noise. Words are separated
//! by pauses; what differs between people and machines is the cadence, as AMD assumes.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::frame::SAMPLE_RATE;
use super::sit::{classify, Band, Length, SitCategory, SitSegment};

/// What a clip is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Truth {
    Human,
    Machine,
    /// A SIT announcement of this category (inter-carrier variant or not).
    Sit(SitCategory, bool),
    /// Other call-progress tones: no SIT.
    NoSit,
}

/// One labelled clip of 8 kHz linear PCM.
#[derive(Debug, Clone)]
pub struct Clip {
    pub family: &'static str,
    pub truth: Truth,
    pub audio: Vec<i16>,
}

/// The AMD families, in report order, with what they are and whether they are a known
/// limit of cadence-based AMD ("hard": reported apart, not in the core class totals).
pub const AMD_FAMILIES: [(&str, Truth, bool); 12] = [
    ("hello", Truth::Human, false),
    ("hello-this-is", Truth::Human, false),
    ("hello-noisy", Truth::Human, false),
    ("hello-quiet", Truth::Human, false),
    ("yes-late", Truth::Human, false),
    ("greeting", Truth::Machine, false),
    ("greeting-noisy", Truth::Machine, false),
    ("greeting-fast", Truth::Machine, false),
    ("silent-start", Truth::Machine, false),
    // A person who talks on like a greeting ("Hello, Smith residence, Mary speaking").
    ("human-long", Truth::Human, true),
    // Line noise louder than silence_threshold: every frame is "speech".
    ("hello-loud-line", Truth::Human, true),
    // "Leave a message." + beep: as short as a person's hello.
    ("greeting-short", Truth::Machine, true),
];

/// Whether a family is a known limit (see [`AMD_FAMILIES`]).
pub fn is_hard(family: &str) -> bool {
    AMD_FAMILIES.iter().any(|&(f, _, hard)| f == family && hard)
}

/// `per_family` clips of each AMD family.
pub fn amd_clips(seed: u64, per_family: usize) -> Vec<Clip> {
    let mut out = Vec::with_capacity(per_family * AMD_FAMILIES.len());
    for (i, &(family, truth, _)) in AMD_FAMILIES.iter().enumerate() {
        for n in 0..per_family {
            let mut s = Synth::new(seed, i as u64, n as u64);
            amd_family(&mut s, family);
            out.push(Clip {
                family,
                truth,
                audio: s.finish(),
            });
        }
    }
    out
}

fn amd_family(s: &mut Synth, family: &str) {
    let level = s.log_uniform(1800.0, 9000.0);
    match family {
        "hello" => {
            s.silence_r(250.0, 1500.0);
            if s.rng.random_bool(0.2) {
                // "Hel- lo?" with a break between the syllables: two words to AMD.
                s.word_r(150.0, 300.0, level);
                s.silence_r(60.0, 120.0);
                s.word_r(200.0, 450.0, level);
            } else {
                s.word_r(300.0, 900.0, level);
            }
            s.silence(3000.0);
        }
        "human-long" => {
            s.silence_r(250.0, 1000.0);
            for _ in 0..s.rng.random_range(3..6) {
                s.word_r(250.0, 600.0, level);
                s.silence_r(60.0, 200.0);
            }
            s.silence(3000.0);
        }
        "hello-loud-line" => {
            s.noise = s.range(250.0, 420.0);
            s.silence_r(250.0, 1500.0);
            s.word_r(300.0, 900.0, level);
            s.silence(3000.0);
        }
        "greeting-short" => {
            s.silence_r(200.0, 900.0);
            s.word_r(250.0, 450.0, level);
            s.silence_r(60.0, 150.0);
            s.word_r(400.0, 700.0, level);
            s.silence_r(200.0, 500.0);
            let beep = s.range(300.0, 600.0);
            s.tone(&[1000.0], beep, level * 0.7);
            s.silence(3000.0);
        }
        "hello-this-is" => {
            // "Hello? ... this is Bob." then waiting for the caller.
            s.silence_r(250.0, 1200.0);
            s.word_r(300.0, 550.0, level);
            s.silence_r(200.0, 450.0);
            s.word_r(450.0, 800.0, level);
            s.silence(3000.0);
        }
        "hello-noisy" => {
            s.noise = s.range(40.0, 140.0);
            s.silence_r(250.0, 1500.0);
            s.word_r(300.0, 900.0, level);
            s.silence(3000.0);
        }
        "hello-quiet" => {
            let quiet = s.log_uniform(900.0, 1800.0);
            s.silence_r(250.0, 1500.0);
            s.word_r(300.0, 900.0, quiet);
            s.silence(3000.0);
        }
        "yes-late" => {
            s.silence_r(1500.0, 2200.0);
            s.word_r(200.0, 400.0, level);
            s.silence(3000.0);
        }
        "greeting" => greeting(s, level, (150.0, 600.0), (60.0, 250.0)),
        "greeting-noisy" => {
            s.noise = s.range(40.0, 140.0);
            greeting(s, level, (150.0, 600.0), (60.0, 250.0));
        }
        "greeting-fast" => greeting(s, level, (120.0, 350.0), (50.0, 120.0)),
        "silent-start" => {
            s.silence_r(2700.0, 4000.0);
            greeting(s, level, (150.0, 600.0), (60.0, 250.0));
        }
        _ => unreachable!("AMD_FAMILIES lists every family"),
    }
}

/// "Hi, you've reached ... please leave a message after the tone." + beep: 2–8 s of words
/// with short pauses and a sentence pause every few words.
fn greeting(s: &mut Synth, level: f32, word_ms: (f32, f32), pause_ms: (f32, f32)) {
    s.silence_r(200.0, 900.0);
    let length = s.range(2000.0, 8000.0);
    let start = s.len_ms();
    let mut until_sentence = s.rng.random_range(3..7);
    while s.len_ms() - start < length {
        s.word_r(word_ms.0, word_ms.1, level);
        until_sentence -= 1;
        if until_sentence == 0 {
            s.silence_r(300.0, 650.0);
            until_sentence = s.rng.random_range(3..7);
        } else {
            s.silence_r(pause_ms.0, pause_ms.1);
        }
    }
    let beep = s.range(400.0, 800.0);
    s.tone(&[1000.0], beep, level * 0.7);
    s.silence(1000.0);
}

/// The SIT patterns: (first band, second band, lengths) of the US table.
pub const SIT_PATTERNS: [(Band, Band, [Length; 3]); 8] = {
    use Band::{High as H, Low as L};
    use Length::{Long as G, Short as S};
    [
        (L, L, [S, S, G]),
        (L, L, [G, G, G]),
        (H, L, [G, S, G]),
        (H, L, [S, G, G]),
        (L, H, [S, G, G]),
        (L, H, [G, S, S]),
        (H, H, [G, G, G]),
        (H, H, [S, S, G]),
    ]
};

/// The non-SIT families (call-progress tones and near misses), in report order.
pub const NON_SIT_FAMILIES: [&str; 8] = [
    "ringback-us",
    "ringback-uk",
    "busy",
    "reorder",
    "dial-tone",
    "beep",
    "sit-reversed",
    "tone-1776",
];

/// `per_family` clips of each SIT pattern (followed by an announcement) and of each
/// non-SIT family.
pub fn sit_clips(seed: u64, per_family: usize) -> Vec<Clip> {
    let mut out = Vec::new();
    for (i, &(b1, b2, lengths)) in SIT_PATTERNS.iter().enumerate() {
        let nominal = [b1, b2, Band::Low]
            .iter()
            .zip(lengths)
            .map(|(&band, length)| SitSegment {
                band,
                length,
                ms: 0,
            })
            .collect::<Vec<_>>();
        let (cat, carrier) = classify(&[nominal[0], nominal[1], nominal[2]]);
        for n in 0..per_family {
            let mut s = Synth::new(seed ^ 0x5157, i as u64, n as u64);
            s.noise = s.range(0.0, 60.0);
            s.silence_r(0.0, 600.0);
            let level = s.log_uniform(700.0, 6000.0);
            let offset = 1.0 + s.range(-0.005, 0.005);
            for (k, (&band, &length)) in [b1, b2, Band::Low].iter().zip(&lengths).enumerate() {
                let f = sit_freq(k, band);
                let ms = match length {
                    Length::Short => 274.0,
                    Length::Long => 380.0,
                } + s.range(-8.0, 8.0);
                s.tone(&[f * offset], ms, level);
                s.silence_r(0.0, 25.0);
            }
            s.silence_r(100.0, 400.0);
            let speech = s.log_uniform(1800.0, 9000.0);
            for _ in 0..5 {
                s.word_r(150.0, 500.0, speech);
                s.silence_r(60.0, 250.0);
            }
            out.push(Clip {
                family: SIT_FAMILY_NAMES[i],
                truth: Truth::Sit(cat, carrier),
                audio: s.finish(),
            });
        }
    }
    for (i, &family) in NON_SIT_FAMILIES.iter().enumerate() {
        for n in 0..per_family {
            let mut s = Synth::new(seed ^ 0x7041, i as u64, n as u64);
            s.noise = s.range(0.0, 60.0);
            non_sit(&mut s, family);
            out.push(Clip {
                family,
                truth: Truth::NoSit,
                audio: s.finish(),
            });
        }
    }
    out
}

/// Report names of the SIT patterns, in `SIT_PATTERNS` order.
pub const SIT_FAMILY_NAMES: [&str; 8] = [
    "sit-IC",
    "sit-NC-carrier",
    "sit-VC",
    "sit-RO-carrier",
    "sit-RO",
    "sit-reserved-1",
    "sit-NC",
    "sit-reserved-2",
];

/// The nominal frequency of segment `k` (0, 1, 2) in `band`.
pub fn sit_freq(k: usize, band: Band) -> f32 {
    match (k, band) {
        (0, Band::Low) => 913.8,
        (0, Band::High) => 985.2,
        (1, Band::Low) => 1370.6,
        (1, Band::High) => 1428.5,
        _ => 1776.7,
    }
}

fn non_sit(s: &mut Synth, family: &str) {
    let level = s.log_uniform(700.0, 5000.0);
    match family {
        "ringback-us" => {
            for _ in 0..2 {
                s.tone(&[440.0, 480.0], 2000.0, level);
                s.silence(4000.0);
            }
        }
        "ringback-uk" => {
            for _ in 0..3 {
                s.tone(&[400.0, 450.0], 400.0, level);
                s.silence(200.0);
                s.tone(&[400.0, 450.0], 400.0, level);
                s.silence(2000.0);
            }
        }
        "busy" => {
            for _ in 0..6 {
                s.tone(&[480.0, 620.0], 500.0, level);
                s.silence(500.0);
            }
        }
        "reorder" => {
            for _ in 0..12 {
                s.tone(&[480.0, 620.0], 250.0, level);
                s.silence(250.0);
            }
        }
        "dial-tone" => s.tone(&[350.0, 440.0], 5000.0, level),
        "beep" => {
            // Answering-machine beeps: 1000 / 1400 / 1800 Hz, alone.
            s.silence_r(200.0, 800.0);
            let f = [1000.0, 1400.0, 1800.0][s.rng.random_range(0..3)];
            let ms = s.range(300.0, 1000.0);
            s.tone(&[f], ms, level);
            s.silence(1000.0);
        }
        "sit-reversed" => {
            // The right tones in the wrong order is no SIT.
            for f in [1776.7, 1370.6, 913.8] {
                s.tone(&[f], 380.0, level);
            }
            s.silence(1000.0);
        }
        "tone-1776" => {
            // A lone third-segment tone, too long.
            s.tone(&[1776.7], 2000.0, level);
            s.silence(1000.0);
        }
        _ => unreachable!("NON_SIT_FAMILIES lists every family"),
    }
}

/// A seeded sound builder.
pub struct Synth {
    rng: StdRng,
    /// Per-sample noise comes from a xorshift: StdRng per sample is slow in debug builds.
    xs: u32,
    out: Vec<f32>,
    /// Standard deviation of the background noise added to everything (0 = clean).
    noise: f32,
}

impl Synth {
    /// Each clip has its own stream: the same (seed, family, index) is the same clip.
    pub fn new(seed: u64, family: u64, index: u64) -> Self {
        let mix = seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(family.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
            .wrapping_add(index.wrapping_mul(0x1656_67B1_9E37_79F9));
        Synth {
            rng: StdRng::seed_from_u64(mix),
            xs: (mix as u32) | 1,
            out: Vec::new(),
            noise: 0.0,
        }
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        if hi <= lo {
            return lo;
        }
        self.rng.random_range(lo..hi)
    }

    fn log_uniform(&mut self, lo: f32, hi: f32) -> f32 {
        (self.range(lo.ln(), hi.ln())).exp()
    }

    /// Uniform in [-0.5, 0.5) (xorshift32).
    fn white(&mut self) -> f32 {
        self.xs ^= self.xs << 13;
        self.xs ^= self.xs >> 17;
        self.xs ^= self.xs << 5;
        (self.xs >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    }

    fn len_ms(&self) -> f32 {
        self.out.len() as f32 * 1000.0 / SAMPLE_RATE as f32
    }

    fn samples(ms: f32) -> usize {
        (ms.max(0.0) * SAMPLE_RATE as f32 / 1000.0) as usize
    }

    fn silence_r(&mut self, lo: f32, hi: f32) {
        let ms = self.range(lo, hi);
        self.silence(ms);
    }

    fn word_r(&mut self, lo: f32, hi: f32, level: f32) {
        let ms = self.range(lo, hi);
        self.word(ms, level);
    }

    pub fn silence(&mut self, ms: f32) {
        self.out.extend(std::iter::repeat_n(0.0, Self::samples(ms)));
    }

    /// Steady tones (summed, each at `level` peak) with 5 ms ramps.
    pub fn tone(&mut self, freqs: &[f32], ms: f32, level: f32) {
        let n = Self::samples(ms);
        let ramp = Self::samples(5.0).max(1);
        let phase0: f32 = self.range(0.0, std::f32::consts::TAU);
        for i in 0..n {
            let t = i as f32 / SAMPLE_RATE as f32;
            let edge = (i.min(n - 1 - i) as f32 / ramp as f32).min(1.0);
            let v: f32 = freqs
                .iter()
                .map(|f| (std::f32::consts::TAU * f * t + phase0).sin())
                .sum();
            self.out.push(v * level * edge);
        }
    }

    /// One voiced word at roughly `level` peak.
    pub fn word(&mut self, ms: f32, level: f32) {
        let n = Self::samples(ms);
        if n == 0 {
            return;
        }
        let f0_start = self.range(90.0, 230.0);
        let f0_end = f0_start * self.range(0.8, 1.2);
        let syllables = ((ms / self.range(160.0, 250.0)).round() as usize).max(1);
        let syl_len = n / syllables;
        let mut phase = 0.0f32;
        let mut weights = [0.0f32; 40];
        for syl in 0..syllables {
            let f1 = self.range(300.0, 800.0);
            let f2 = self.range(900.0, 2300.0);
            let begin = syl * syl_len;
            let end = if syl + 1 == syllables {
                n
            } else {
                begin + syl_len
            };
            let f0_mid = f0_start + (f0_end - f0_start) * (begin as f32 / n as f32);
            let harmonics = ((3400.0 / f0_mid) as usize).min(weights.len());
            let mut norm = 0.0;
            for (k, w) in weights.iter_mut().enumerate().take(harmonics) {
                let f = (k + 1) as f32 * f0_mid;
                *w = (-((f - f1) / 180.0).powi(2)).exp()
                    + 0.6 * (-((f - f2) / 260.0).powi(2)).exp()
                    + 0.04;
                norm += *w * *w;
            }
            let norm = norm.sqrt().max(1e-6);
            for i in begin..end {
                let f0 = f0_start + (f0_end - f0_start) * (i as f32 / n as f32);
                phase += std::f32::consts::TAU * f0 / SAMPLE_RATE as f32;
                if phase > std::f32::consts::TAU {
                    phase -= std::f32::consts::TAU;
                }
                // sin(kφ) by the Chebyshev recurrence: one multiply-add per harmonic.
                let (s1, c1) = phase.sin_cos();
                let (mut prev, mut cur) = (0.0f32, s1);
                let mut v = 0.0;
                for w in weights.iter().take(harmonics) {
                    v += w * cur;
                    let next = 2.0 * c1 * cur - prev;
                    prev = cur;
                    cur = next;
                }
                // Syllable envelope: dips to 0.4 between syllables, never to silence.
                let x = (i - begin) as f32 / (end - begin) as f32;
                let env = 0.4 + 0.6 * (std::f32::consts::PI * x).sin();
                // Word attack and release (15 ms).
                let edge = (i.min(n - 1 - i) as f32 / Self::samples(15.0) as f32).min(1.0);
                let breath = 0.1 * self.white();
                self.out.push((v / norm + breath) * level * env * edge);
            }
        }
    }

    /// The clip with background noise added, clipped to 16 bits.
    pub fn finish(mut self) -> Vec<i16> {
        let sigma = self.noise;
        let mut out = Vec::with_capacity(self.out.len());
        for i in 0..self.out.len() {
            let mut v = self.out[i];
            if sigma > 0.0 {
                // Sum of four uniforms: close enough to Gaussian for line noise.
                let g = self.white() + self.white() + self.white() + self.white();
                v += g * sigma * 1.732;
            }
            out.push(v.clamp(-32768.0, 32767.0) as i16);
        }
        out
    }
}
