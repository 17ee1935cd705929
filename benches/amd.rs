//! Cost per 20 ms frame (160 samples, 8 kHz) of answering machine detection and of SIT
//! detection, on speech-like audio from the evaluation corpus (so the detector does its
//! usual work: mean amplitude per frame; five Goertzel filters per frame for SIT).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::dialer::amd::corpus::{amd_clips, Truth};
use switchboard::dialer::amd::{Amd, SitDetector, FRAME_SAMPLES};
use switchboard::dialer::amd_config::AmdConfig;
use switchboard::media::g711;
use switchboard::sdp::CodecName;

fn speech() -> Vec<i16> {
    amd_clips(7, 1)
        .into_iter()
        .find(|c| c.truth == Truth::Machine)
        .expect("the corpus has machine greetings")
        .audio
}

fn bench(c: &mut Criterion) {
    let audio = speech();
    let frames: Vec<&[i16]> = audio.chunks_exact(FRAME_SAMPLES).collect();
    let payloads: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| f.iter().map(|&s| g711::ulaw_encode(s)).collect())
        .collect();
    // Limits no clip reaches, so every frame is analysed (a decided detector skips frames).
    let never = AmdConfig {
        initial_silence_ms: u32::MAX,
        after_greeting_silence_ms: u32::MAX,
        greeting_ms: u32::MAX,
        total_analysis_ms: u32::MAX,
        maximum_number_of_words: u32::MAX,
        maximum_word_length_ms: u32::MAX,
        ..AmdConfig::default()
    };
    let now = Instant::now();
    let mut g = c.benchmark_group("amd");
    g.bench_function("amd_frame_pcm", |b| {
        let mut amd = Amd::new(&never, now);
        let mut i = 0;
        b.iter(|| {
            amd.handle_frame(now, black_box(frames[i % frames.len()]));
            i += 1;
        });
        assert!(amd.result().is_none());
    });
    g.bench_function("amd_frame_pcmu_payload", |b| {
        let mut amd = Amd::new(&never, now);
        let mut i = 0;
        b.iter(|| {
            amd.handle_payload(
                now,
                CodecName::Pcmu,
                black_box(&payloads[i % payloads.len()]),
            );
            i += 1;
        });
    });
    g.bench_function("sit_frame_pcm", |b| {
        let mut sit = SitDetector::new();
        let mut i = 0;
        b.iter(|| {
            sit.handle_frame(now, black_box(frames[i % frames.len()]));
            i += 1;
        });
        assert!(sit.result().is_none());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
