//! Each decision path of the AMD state machine, on crafted frames and a virtual clock.

use std::time::{Duration, Instant};

use super::*;
use crate::dialer::amd_config::AmdConfig;
use crate::media::g711;
use crate::sdp::CodecName;

const SILENCE: [i16; FRAME_SAMPLES] = [0; FRAME_SAMPLES];

/// A frame of alternating ±amp: mean |sample| is exactly `amp`.
fn voice(amp: i16) -> [i16; FRAME_SAMPLES] {
    let mut f = [amp; FRAME_SAMPLES];
    for s in f.iter_mut().step_by(2) {
        *s = -amp;
    }
    f
}

/// Feeds `ms` of one frame kind, 20 ms at a time, on a clock that follows the audio.
struct Feed {
    amd: Amd,
    t0: Instant,
    at_ms: u64,
}

impl Feed {
    fn new(cfg: &AmdConfig) -> Self {
        let t0 = Instant::now();
        Feed {
            amd: Amd::new(cfg, t0),
            t0,
            at_ms: 0,
        }
    }

    fn feed(&mut self, frame: &[i16; FRAME_SAMPLES], ms: u64) -> &mut Self {
        for _ in 0..ms / 20 {
            self.at_ms += 20;
            let now = self.t0 + Duration::from_millis(self.at_ms);
            self.amd.handle_frame(now, frame);
        }
        self
    }

    fn silence(&mut self, ms: u64) -> &mut Self {
        self.feed(&SILENCE, ms)
    }

    fn speech(&mut self, ms: u64) -> &mut Self {
        self.feed(&voice(2000), ms)
    }

    fn result(&self) -> Option<AmdResult> {
        self.amd.result()
    }
}

fn verdict(f: &Feed) -> (Verdict, Cause, u32) {
    let r = f.result().expect("a decision");
    (r.verdict, r.cause, r.decided_after_ms)
}

#[test]
fn silence_from_the_answer_on_is_a_machine_at_initial_silence() {
    let mut f = Feed::new(&AmdConfig::default());
    f.silence(2480);
    assert_eq!(f.result(), None, "not before 2500 ms");
    f.silence(20);
    assert_eq!(verdict(&f), (Verdict::Machine, Cause::InitialSilence, 2500));
}

#[test]
fn a_short_hello_then_silence_is_a_human() {
    let mut f = Feed::new(&AmdConfig::default());
    f.silence(300).speech(500).silence(780);
    assert_eq!(f.result(), None, "after-greeting silence not yet 800 ms");
    f.silence(20);
    let r = f.result().expect("decided");
    assert_eq!((r.verdict, r.cause), (Verdict::Human, Cause::Human));
    assert_eq!(r.decided_after_ms, 300 + 500 + 800);
    assert_eq!((r.words, r.voice_ms), (1, 500));
}

#[test]
fn speech_adding_up_to_the_greeting_length_is_a_machine() {
    // One long word (no pause): words stay at 1, the greeting runs out at 1500 ms of voice.
    let mut f = Feed::new(&AmdConfig::default());
    f.silence(200).speech(1480);
    assert_eq!(f.result(), None);
    f.speech(20);
    assert_eq!(verdict(&f), (Verdict::Machine, Cause::LongGreeting, 1700));
}

#[test]
fn reaching_the_word_count_is_a_machine() {
    // Defaults: 2 words reach the maximum. The second word counts once it is 100 ms long.
    let mut f = Feed::new(&AmdConfig::default());
    f.silence(200).speech(300).silence(100).speech(80);
    assert_eq!(f.result(), None, "80 ms is not yet a word");
    f.speech(20);
    let r = f.result().expect("decided");
    assert_eq!(
        (r.verdict, r.cause, r.words),
        (Verdict::Machine, Cause::MaxWords, 2)
    );
    assert_eq!(r.decided_after_ms, 200 + 300 + 100 + 100);
}

#[test]
fn a_pause_shorter_than_between_words_silence_does_not_split_a_word() {
    let cfg = AmdConfig {
        between_words_silence_ms: 60,
        ..AmdConfig::default()
    };
    let mut f = Feed::new(&cfg);
    // 40 ms dips inside speech: still one word; the greeting length decides.
    f.silence(200);
    for _ in 0..10 {
        f.speech(200).silence(40);
    }
    let r = f.result().expect("decided");
    assert_eq!((r.cause, r.words), (Cause::LongGreeting, 1));
}

#[test]
fn speech_opening_the_audio_is_not_counted_until_a_pause() {
    // Asterisk starts "in a word": an utterance at t=0, before any pause, is not counted,
    // so three utterances are two words and a 3-word limit is not reached.
    let cfg = AmdConfig {
        maximum_number_of_words: 3,
        ..AmdConfig::default()
    };
    let mut f = Feed::new(&cfg);
    f.speech(300)
        .silence(100)
        .speech(300)
        .silence(100)
        .speech(300);
    assert_eq!(f.result(), None);
    f.silence(800);
    let r = f.result().expect("decided");
    assert_eq!((r.verdict, r.words), (Verdict::Human, 2));
}

#[test]
fn one_very_long_word_is_a_machine_at_maximum_word_length() {
    let cfg = AmdConfig {
        greeting_ms: 60_000,
        total_analysis_ms: 60_000,
        maximum_word_length_ms: 3000,
        ..AmdConfig::default()
    };
    let mut f = Feed::new(&cfg);
    f.silence(100).speech(2980);
    assert_eq!(f.result(), None);
    f.speech(20);
    assert_eq!(verdict(&f), (Verdict::Machine, Cause::MaxWordLength, 3100));
}

#[test]
fn blips_shorter_than_a_word_reset_the_silence_but_never_start_a_greeting() {
    // 60 ms clicks every 1.2 s: the initial silence never reaches 2.5 s and no word is
    // ever heard, so the analysis time runs out.
    let mut f = Feed::new(&AmdConfig::default());
    for _ in 0..10 {
        f.silence(1140).speech(60);
    }
    let r = f.result().expect("decided");
    assert_eq!(
        (r.verdict, r.cause, r.words),
        (Verdict::NotSure, Cause::TooLong, 0)
    );
    assert_eq!(r.decided_after_ms, 5000);
}

#[test]
fn the_threshold_is_exclusive_for_silence() {
    let cfg = AmdConfig::default();
    let mut f = Feed::new(&cfg);
    // Mean |s| = 255: silence. Mean |s| = 256: speech.
    f.feed(&voice(255), 2500);
    assert_eq!(verdict(&f).1, Cause::InitialSilence);
    let mut f = Feed::new(&cfg);
    f.silence(200).feed(&voice(256), 1500);
    assert_eq!(verdict(&f).1, Cause::LongGreeting);
}

#[test]
fn the_clock_ends_the_analysis_when_no_audio_arrives() {
    let t0 = Instant::now();
    let mut amd = Amd::new(&AmdConfig::default(), t0);
    let deadline = amd.poll_timeout().expect("a deadline while undecided");
    assert_eq!(deadline, t0 + Duration::from_millis(5000));
    amd.handle_timeout(t0 + Duration::from_millis(4999));
    assert_eq!(amd.poll_result(), None);
    amd.handle_timeout(deadline);
    let r = amd.poll_result().expect("decided");
    assert_eq!((r.verdict, r.cause), (Verdict::NotSure, Cause::TooLong));
    assert_eq!(r.decided_after_ms, 5000);
    assert_eq!(amd.poll_timeout(), None);
}

#[test]
fn the_result_is_reported_once_and_later_audio_is_ignored() {
    let mut f = Feed::new(&AmdConfig::default());
    f.silence(2500);
    let first = f.amd.poll_result().expect("decided");
    assert_eq!(f.amd.poll_result(), None);
    f.speech(3000);
    assert_eq!(f.amd.result(), Some(first));
}

#[test]
fn packetization_does_not_change_the_decision() {
    // The same audio in 30 ms and in 7-sample pieces decides like 20 ms frames.
    let mut audio = vec![0i16; 8 * 300];
    for _ in 0..25 {
        audio.extend_from_slice(&voice(1500));
    }
    audio.extend(std::iter::repeat_n(0, 8 * 900));
    let run = |piece: usize| {
        let t0 = Instant::now();
        let mut amd = Amd::new(&AmdConfig::default(), t0);
        for p in audio.chunks(piece) {
            amd.handle_frame(t0, p);
        }
        amd.poll_result()
    };
    let r20 = run(160).expect("decided");
    assert_eq!(r20.cause, Cause::Human);
    assert_eq!(run(240), Some(r20));
    assert_eq!(run(7), Some(r20));
}

#[test]
fn g711_payloads_are_decoded_before_analysis() {
    for (codec, enc) in [
        (CodecName::Pcmu, g711::ulaw_encode as fn(i16) -> u8),
        (CodecName::Pcma, g711::alaw_encode as fn(i16) -> u8),
    ] {
        let t0 = Instant::now();
        let mut amd = Amd::new(&AmdConfig::default(), t0);
        let quiet: Vec<u8> = [0i16; 160].iter().map(|&s| enc(s)).collect();
        let loud: Vec<u8> = voice(3000).iter().map(|&s| enc(s)).collect();
        for _ in 0..10 {
            amd.handle_payload(t0, codec, &quiet);
        }
        for _ in 0..75 {
            amd.handle_payload(t0, codec, &loud);
        }
        let r = amd.poll_result().expect("decided");
        assert_eq!(r.cause, Cause::LongGreeting, "{codec:?}");
        assert_eq!(r.voice_ms, 1500);
    }
}
