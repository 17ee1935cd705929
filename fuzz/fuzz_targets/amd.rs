#![no_main]
//! Answering machine and SIT detection take arbitrary audio: bytes as G.711 payloads and as
//! linear PCM slices of any length must never panic, and a verdict, once given, stays.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use switchboard::dialer::amd::{Amd, SitDetector};
use switchboard::dialer::amd_config::AmdConfig;
use switchboard::sdp::CodecName;

fuzz_target!(|data: &[u8]| {
    let Some((&head, body)) = data.split_first() else {
        return;
    };
    let t0 = Instant::now();
    // The first byte picks short limits, so every decision path is reachable.
    let cfg = AmdConfig {
        initial_silence_ms: 20 * u32::from(head & 0x0f),
        greeting_ms: 40 * u32::from(head >> 4),
        total_analysis_ms: 2000,
        ..AmdConfig::default()
    };
    let mut amd = Amd::new(&cfg, t0);
    let mut sit = SitDetector::new();
    let codec = if head & 1 == 0 {
        CodecName::Pcmu
    } else {
        CodecName::Pcma
    };
    let mut at = t0;
    // Payloads of varying length, cut where the data says.
    let mut rest = body;
    while !rest.is_empty() {
        let n = (usize::from(rest[0]) + 1).min(rest.len());
        let (p, r) = rest.split_at(n);
        rest = r;
        at += Duration::from_millis(n as u64 / 8);
        amd.handle_payload(at, codec, p);
        sit.handle_payload(at, codec, p);
    }
    // The same bytes as linear PCM.
    let pcm: Vec<i16> = body
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    for piece in pcm.chunks(usize::from(head) + 1) {
        amd.handle_frame(at, piece);
        sit.handle_frame(at, piece);
    }
    let before = amd.result();
    amd.handle_timeout(at + Duration::from_secs(10));
    let after = amd.poll_result().expect("the clock always ends the analysis");
    if let Some(b) = before {
        assert_eq!(b, after);
    }
    assert!(amd.poll_timeout().is_none());
    let _ = sit.poll_result();
});
