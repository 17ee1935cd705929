//! Mixing 20 ms G.711 frames for supervisor monitoring: decode, sum with clipping, encode.
//! Sans-IO and allocation-free; each input has a small jitter queue so packets that arrive
//! a little early or late against the mixing tick are neither lost nor doubled.

use super::g711;
use super::player::{Law, FRAME};

pub type Frame = [u8; FRAME];

/// Up to `DEPTH` frames waiting per input; older ones are dropped when it overflows
/// (a sender faster than the tick must not build up delay).
const DEPTH: usize = 4;

#[derive(Debug, Clone)]
pub struct JitterQueue {
    frames: [Frame; DEPTH],
    head: usize,
    len: usize,
}

impl Default for JitterQueue {
    fn default() -> Self {
        JitterQueue {
            frames: [[0; FRAME]; DEPTH],
            head: 0,
            len: 0,
        }
    }
}

impl JitterQueue {
    pub fn push(&mut self, frame: &[u8]) {
        if frame.len() != FRAME {
            return;
        }
        if self.len == DEPTH {
            self.head = (self.head + 1) % DEPTH;
            self.len -= 1;
        }
        let slot = (self.head + self.len) % DEPTH;
        self.frames[slot].copy_from_slice(frame);
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<&Frame> {
        if self.len == 0 {
            return None;
        }
        let at = self.head;
        self.head = (self.head + 1) % DEPTH;
        self.len -= 1;
        Some(&self.frames[at])
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

fn decode(law: Law, b: u8) -> i32 {
    i32::from(match law {
        Law::Pcmu => g711::ulaw_decode(b),
        Law::Pcma => g711::alaw_decode(b),
    })
}

fn encode(law: Law, s: i32) -> u8 {
    let s = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    match law {
        Law::Pcmu => g711::ulaw_encode(s),
        Law::Pcma => g711::alaw_encode(s),
    }
}

/// The same audio in the other law (the supervisor's phone may use the other one).
pub fn convert(from: Law, to: Law, frame: &mut Frame) {
    if from != to {
        for b in frame.iter_mut() {
            *b = encode(to, decode(from, *b));
        }
    }
}

/// Sum the present inputs into `out` (silence when none is present).
pub fn mix(law: Law, inputs: &[Option<&Frame>], out: &mut Frame) {
    for (i, o) in out.iter_mut().enumerate() {
        let sum: i32 = inputs.iter().flatten().map(|f| decode(law, f[i])).sum();
        *o = encode(law, sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(law: Law, v: i16) -> Frame {
        let b = match law {
            Law::Pcmu => g711::ulaw_encode(v),
            Law::Pcma => g711::alaw_encode(v),
        };
        [b; FRAME]
    }

    #[test]
    fn sums_decoded_samples_and_clips() {
        for law in [Law::Pcmu, Law::Pcma] {
            let (a, b) = (frame(law, 1000), frame(law, 2000));
            let mut out = [0; FRAME];
            mix(law, &[Some(&a), Some(&b)], &mut out);
            let got = decode(law, out[0]);
            assert!((got - 3000).abs() < 150, "{law:?}: {got}");
            mix(
                law,
                &[Some(&frame(law, 30000)), Some(&frame(law, 30000))],
                &mut out,
            );
            assert!(
                decode(law, out[0]) > 30000,
                "clipped at the top, not wrapped"
            );
            mix(law, &[None, None], &mut out);
            assert_eq!(
                decode(law, out[0]),
                decode(law, frame(law, 0)[0]),
                "silence"
            );
            mix(law, &[None, Some(&a)], &mut out);
            assert_eq!(out, a, "one input passes through");
        }
    }

    #[test]
    fn jitter_queue_keeps_order_and_drops_the_oldest() {
        let mut q = JitterQueue::default();
        assert!(q.pop().is_none());
        for v in 1..=6u8 {
            q.push(&[v; FRAME]);
        }
        let got: Vec<u8> = std::iter::from_fn(|| q.pop().map(|f| f[0])).collect();
        assert_eq!(got, vec![3, 4, 5, 6]);
        q.push(&[9; 10]);
        assert!(q.pop().is_none(), "a short frame is ignored");
    }
}
