//! 20 ms framing and the one DSP primitive both detectors share (Goertzel). Whatever the
//! packetization (10, 20, 30 ms ptime), the detectors see 160-sample frames, so their
//! decisions do not depend on how the far end packs its RTP.

/// Samples per second of the narrowband audio the detectors analyse.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms analysis frame.
pub const FRAME_SAMPLES: usize = 160;
/// Milliseconds in one analysis frame.
pub const FRAME_MS: u32 = 20;

/// Re-blocks arbitrary slices into whole 20 ms frames (a fixed buffer: no allocation).
#[derive(Clone)]
pub(crate) struct Framer {
    buf: [i16; FRAME_SAMPLES],
    len: usize,
}

impl std::fmt::Debug for Framer {
    // The buffered samples are noise in a detector's Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Framer({} buffered)", self.len)
    }
}

impl Framer {
    pub(crate) fn new() -> Self {
        Framer {
            buf: [0; FRAME_SAMPLES],
            len: 0,
        }
    }

    /// Calls `f` once per completed frame; a partial tail waits for the next call.
    pub(crate) fn push(&mut self, mut samples: &[i16], mut f: impl FnMut(&[i16; FRAME_SAMPLES])) {
        if self.len > 0 {
            let take = (FRAME_SAMPLES - self.len).min(samples.len());
            self.buf[self.len..self.len + take].copy_from_slice(&samples[..take]);
            self.len += take;
            samples = &samples[take..];
            if self.len < FRAME_SAMPLES {
                return;
            }
            f(&self.buf);
            self.len = 0;
        }
        let mut chunks = samples.chunks_exact(FRAME_SAMPLES);
        for c in &mut chunks {
            // chunks_exact yields exactly FRAME_SAMPLES elements: the conversion cannot fail.
            f(c.try_into().expect("chunks_exact yields whole frames"));
        }
        let rest = chunks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.len = rest.len();
    }
}

/// Mean absolute amplitude of a frame (what Asterisk's silence detector compares with
/// `silence_threshold`).
pub(crate) fn mean_abs(frame: &[i16]) -> u32 {
    if frame.is_empty() {
        return 0;
    }
    let sum: u64 = frame.iter().map(|&s| u64::from(s.unsigned_abs())).sum();
    (sum / frame.len() as u64) as u32
}

/// The generalized Goertzel filter: the power of one frequency (need not be a bin centre).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Goertzel {
    coef: f32,
}

impl Goertzel {
    pub(crate) fn new(freq_hz: f32) -> Self {
        let w = 2.0 * std::f32::consts::PI * freq_hz / SAMPLE_RATE as f32;
        Goertzel {
            coef: 2.0 * w.cos(),
        }
    }

    /// |X(f)|² over the frame.
    pub(crate) fn power(&self, frame: &[i16]) -> f32 {
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in frame {
            let s = f32::from(x) + self.coef * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - self.coef * s1 * s2
    }
}

/// The share of a frame's energy at one frequency: 1.0 for a pure tone there, ~0 elsewhere.
/// `energy` is Σx² of the same frame.
pub(crate) fn purity(power: f32, energy: f32, n: usize) -> f32 {
    if energy <= 0.0 {
        return 0.0;
    }
    2.0 * power / (n as f32 * energy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, n: usize, amp: f32) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                (amp * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn framer_reblocks_any_packetization() {
        let input: Vec<i16> = (0..1000).map(|i| i as i16).collect();
        let mut framer = Framer::new();
        let mut out = Vec::new();
        for piece in input.chunks(73) {
            framer.push(piece, |f| out.extend_from_slice(f));
        }
        // 1000 = 6 whole frames + 40 samples still waiting.
        assert_eq!(out.len(), 6 * FRAME_SAMPLES);
        assert_eq!(out[..], input[..out.len()]);
        framer.push(&input[..120], |f| out.extend_from_slice(f));
        assert_eq!(out.len(), 7 * FRAME_SAMPLES);
        assert_eq!(out[960..1000], input[960..1000]);
    }

    #[test]
    fn goertzel_purity_separates_neighbouring_sit_frequencies() {
        let frame = tone(985.2, FRAME_SAMPLES, 8000.0);
        let energy: f32 = frame.iter().map(|&s| f32::from(s) * f32::from(s)).sum();
        let at = |f| purity(Goertzel::new(f).power(&frame), energy, frame.len());
        assert!(at(985.2) > 0.9, "on-frequency purity {}", at(985.2));
        assert!(at(913.8) < 0.2, "neighbour purity {}", at(913.8));
        assert!(at(1776.7) < 0.01);
    }

    #[test]
    fn mean_abs_handles_the_most_negative_sample() {
        assert_eq!(mean_abs(&[i16::MIN, i16::MIN]), 32768);
        assert_eq!(mean_abs(&[]), 0);
        assert_eq!(mean_abs(&[100, -300]), 200);
    }
}
