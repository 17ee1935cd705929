//! The SIT detector on crafted tone sequences.

use std::time::Instant;

use super::corpus::{sit_freq, Synth, SIT_PATTERNS};
use super::sit::{classify, Band, Length, SitSegment};
use super::{SitCategory, SitDetector};
use crate::media::g711;
use crate::sdp::CodecName;

fn ms_of(l: Length) -> f32 {
    match l {
        Length::Short => 274.0,
        Length::Long => 380.0,
    }
}

/// A SIT of the given bands and lengths with `gap_ms` between segments, then silence.
fn sit(b1: Band, b2: Band, lengths: [Length; 3], gap_ms: f32) -> Vec<i16> {
    let mut s = Synth::new(1, 2, 3);
    s.silence(200.0);
    for (k, band) in [b1, b2, Band::Low].into_iter().enumerate() {
        s.tone(&[sit_freq(k, band)], ms_of(lengths[k]), 3000.0);
        s.silence(gap_ms);
    }
    s.silence(500.0);
    s.finish()
}

fn detect(audio: &[i16]) -> Option<super::Sit> {
    let mut d = SitDetector::new();
    // 30 ms pieces: the detector re-frames.
    for p in audio.chunks(240) {
        d.handle_frame(Instant::now(), p);
    }
    d.poll_result()
}

#[test]
fn every_pattern_of_the_table_is_detected_and_categorised() {
    use Band::Low as L;
    let expected = [
        (SitCategory::Intercept, false),
        (SitCategory::NoCircuit, true),
        (SitCategory::VacantCode, false),
        (SitCategory::Reorder, true),
        (SitCategory::Reorder, false),
        (SitCategory::Reserved, false),
        (SitCategory::NoCircuit, false),
        (SitCategory::Reserved, false),
    ];
    for (&(b1, b2, lengths), want) in SIT_PATTERNS.iter().zip(expected) {
        let got = detect(&sit(b1, b2, lengths, 0.0)).expect("detected");
        assert_eq!(
            (got.category, got.carrier),
            want,
            "{b1:?} {b2:?} {lengths:?}"
        );
        for (k, seg) in got.segments.iter().enumerate() {
            assert_eq!(seg.length, lengths[k], "segment {k}: {seg:?}");
            assert!((seg.ms as f32 - ms_of(lengths[k])).abs() <= 30.0, "{seg:?}");
        }
        assert_eq!(got.segments[0].band, b1);
        assert_eq!(got.segments[1].band, b2);
        assert_eq!(got.segments[2].band, L);
        // Reported when the third segment ends: 200 ms lead + the three segments.
        let total: f32 = lengths.iter().map(|&l| ms_of(l)).sum::<f32>() + 200.0;
        assert!((got.detected_after_ms as f32 - total).abs() <= 40.0);
    }
}

#[test]
fn the_four_code_table_by_frequency_alone_is_the_fallback() {
    let seg = |band, length| SitSegment {
        band,
        length,
        ms: 0,
    };
    use Band::{High as H, Low as L};
    use Length::{Long as G, Short as S};
    // All-long low/low is NC (carrier); an unlisted low/low pattern is intercept.
    assert_eq!(
        classify(&[seg(L, G), seg(L, S), seg(L, G)]).0,
        SitCategory::Intercept
    );
    assert_eq!(
        classify(&[seg(H, S), seg(L, S), seg(L, G)]).0,
        SitCategory::VacantCode
    );
    assert_eq!(
        classify(&[seg(L, G), seg(H, G), seg(L, G)]).0,
        SitCategory::Reorder
    );
    assert_eq!(
        classify(&[seg(H, S), seg(H, G), seg(L, G)]).0,
        SitCategory::NoCircuit
    );
    assert!(SitCategory::NoCircuit.retry_later() && !SitCategory::Intercept.retry_later());
}

#[test]
fn short_silences_between_segments_are_allowed_long_ones_are_not() {
    use Band::Low as L;
    use Length::{Long as G, Short as S};
    assert!(
        detect(&sit(L, L, [S, S, G], 30.0)).is_some(),
        "30 ms gaps (ITU)"
    );
    assert_eq!(detect(&sit(L, L, [S, S, G], 80.0)), None, "80 ms gaps");
}

#[test]
fn one_lost_frame_inside_a_segment_does_not_split_it() {
    let mut audio = sit(Band::High, Band::High, [Length::Long; 3], 0.0);
    // Zero 20 ms in the middle of the second segment (200 + 380 + 190 ms in).
    let at = (200 + 380 + 190) * 8;
    audio[at..at + 160].fill(0);
    let got = detect(&audio).expect("detected");
    assert_eq!(got.category, SitCategory::NoCircuit);
    assert_eq!(got.segments[1].length, Length::Long);
}

#[test]
fn tones_out_of_order_or_too_long_are_not_a_sit() {
    let mut s = Synth::new(4, 5, 6);
    for f in [1776.7, 1370.6, 913.8, 1776.7] {
        s.tone(&[f], 380.0, 3000.0);
    }
    s.silence(300.0);
    assert_eq!(detect(&s.finish()), None, "reversed");
    let mut s = Synth::new(4, 5, 7);
    s.tone(&[913.8], 274.0, 3000.0);
    s.tone(&[1370.6], 274.0, 3000.0);
    s.tone(&[1776.7], 1500.0, 3000.0);
    s.silence(300.0);
    assert_eq!(detect(&s.finish()), None, "third segment 1.5 s");
    let mut s = Synth::new(4, 5, 8);
    s.tone(&[913.8, 1370.6, 1776.7], 1200.0, 3000.0);
    s.silence(300.0);
    assert_eq!(detect(&s.finish()), None, "all three at once");
}

#[test]
fn a_pcmu_sit_is_detected_from_payloads_and_reported_once() {
    let audio = sit(
        Band::Low,
        Band::High,
        [Length::Short, Length::Long, Length::Long],
        0.0,
    );
    let payload: Vec<u8> = audio.iter().map(|&s| g711::ulaw_encode(s)).collect();
    let mut d = SitDetector::new();
    let now = Instant::now();
    for p in payload.chunks(160) {
        d.handle_payload(now, CodecName::Pcmu, p);
    }
    let got = d.poll_result().expect("detected");
    assert_eq!((got.category, got.carrier), (SitCategory::Reorder, false));
    assert_eq!(d.poll_result(), None);
    assert_eq!(d.result(), Some(got));
}

#[test]
fn quiet_audio_is_never_a_tone() {
    let mut s = Synth::new(9, 9, 9);
    for (k, band) in [Band::Low, Band::Low, Band::Low].into_iter().enumerate() {
        // Peak 100: below the detector's floor (RMS 100).
        s.tone(&[sit_freq(k, band)], 380.0, 100.0);
    }
    s.silence(300.0);
    assert_eq!(detect(&s.finish()), None);
}

#[test]
fn categories_read_back_from_a_failed_dials_cause() {
    for c in SitCategory::ALL {
        // `campaign_sit_detected` reports `sit-` and the code in lower case.
        let cause = format!("sit-{}", c.code().to_ascii_lowercase());
        assert_eq!(SitCategory::from_cause(&cause), Some(c));
        assert!(!(c.number_invalid() && c.retry_later()), "{c:?}");
    }
    assert_eq!(SitCategory::from_cause("sit-"), None);
    assert_eq!(SitCategory::from_cause("503"), None);
    assert_eq!(SitCategory::from_cause("ic"), None);
}
