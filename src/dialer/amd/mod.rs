//! Call progress analysis for answered outbound calls: answering machine detection
//! ([`Amd`]) and special information tones ([`SitDetector`]). Both are sans-IO: the media
//! side feeds the callee's audio, the dialer reads one result. No allocation per frame.
//!
//! ```text
//! let mut amd = Amd::new(&cfg.amd, answered_at);      // AmdConfig: Asterisk's amd.conf names
//! let mut sit = SitDetector::new();
//! // per RTP packet from the callee (G.711), or per decoded 8 kHz slice:
//! amd.handle_payload(now, CodecName::Pcmu, payload);  // or handle_frame(now, &pcm)
//! sit.handle_payload(now, CodecName::Pcmu, payload);
//! if let Some(s) = sit.poll_result() { /* failed call: s.category (IC/VC/RO/NC) */ }
//! if let Some(r) = amd.poll_result() { /* r.verdict: Human / Machine / NotSure, r.cause */ }
//! // with no packets at all, wake at amd.poll_timeout() and call amd.handle_timeout(now).
//! ```
//!
//! A SIT is followed by a recorded announcement, which AMD calls a machine: when both
//! report, the SIT wins. Keep feeding the SIT detector until AMD decides (a SIT lasts about
//! one second from the answer, before any AMD decision but INITIALSILENCE).
//!
//! AMD follows Asterisk's AMD() semantics: a 20 ms frame whose mean |sample| is below
//! `silence_threshold` is silence; speech of `min_word_length_ms` after a
//! `between_words_silence_ms` pause is a word; then, in this order per frame: analysis time
//! used up → NOTSURE/TOOLONG; silence run ≥ `initial_silence_ms` before any word →
//! MACHINE/INITIALSILENCE; silence ≥ `after_greeting_silence_ms` after the first word →
//! HUMAN; one word ≥ `maximum_word_length_ms` → MACHINE/MAXWORDLENGTH; words reaching
//! `maximum_number_of_words` → MACHINE/MAXWORDS; speech in all ≥ `greeting_ms` →
//! MACHINE/LONGGREETING. Lost packets should be fed as silence frames.
//!
//! With `machine_action = "message"`, [`BeepWait`] then listens on for the voicemail's beep
//! (or the silence after the greeting) so the message starts when the machine records.
//!
//! [`corpus`] synthesises labelled clips (seeded) and [`eval`] scores the detectors on them
//! (`switchboard amd-eval`).

pub mod beep;
pub mod corpus;
mod detector;
pub mod eval;
mod frame;
pub mod sit;

pub use beep::{BeepResult, BeepWait, Cue};
pub use detector::{Amd, AmdResult, Cause, Verdict};
pub use frame::{FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE};
pub use sit::{Sit, SitCategory, SitDetector};

#[cfg(test)]
mod sit_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tts_tests;
