//! Recording costs: the relay's batching per packet (copy into the per-call batch; the
//! writer is disconnected so only the relay side is measured), and the writer's work per
//! second of stereo audio (decode G.711, place on the timeline, interleave, write with
//! hound), alone and for 1,000 concurrent recordings on one writer thread.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use switchboard::recording::batch::{Batch, Frame, MAX_PAYLOAD};
use switchboard::recording::writer::Recording;
use switchboard::recording::{Layout, Tap};

fn frame(side: u8, f: u64) -> Frame {
    let mut payload = [0u8; MAX_PAYLOAD];
    for (i, b) in payload[..160].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(7).wrapping_add(f as u8);
    }
    Frame {
        side,
        pt: 0,
        len: 160,
        ts: (f * 160) as u32,
        arrival: f * 160,
        payload,
    }
}

/// Half a second of a call: 25 frames per side.
fn half_second(b: u64) -> Batch {
    let mut batch = Batch::new();
    for f in b * 25..(b + 1) * 25 {
        batch.frames.push(frame(0, f));
        batch.frames.push(frame(1, f));
    }
    batch.cut = (b + 1) * 4000;
    batch
}

fn relay_side(c: &mut Criterion) {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    drop(rx);
    let start = Instant::now();
    let mut tap = Tap::new(1, start, tx, Arc::new(AtomicU64::new(0)));
    let payload = [0x55u8; 160];
    let mut g = c.benchmark_group("recording");
    g.throughput(Throughput::Elements(1));
    let mut ts = 0u32;
    g.bench_function("relay_tap_per_packet", |b| {
        b.iter(|| {
            ts = ts.wrapping_add(160);
            tap.on_packet(
                start + Duration::from_millis(u64::from(ts / 8)),
                (ts / 160 % 2) as usize,
                0,
                ts,
                black_box(&payload),
            );
        })
    });
    g.finish();
}

fn writer(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("recording");
    // One second of stereo audio (two batches) per iteration, into one growing file.
    g.throughput(Throughput::Elements(1));
    let mut rec = Recording::open(dir.path(), "bench.wav", Layout::Stereo, None);
    let mut b = 0u64;
    let batches: Vec<Batch> = (0..2).map(half_second).collect();
    g.bench_function("writer_one_second_stereo", |bench| {
        bench.iter(|| {
            for proto in &batches {
                let mut batch = Batch::new();
                batch.frames.extend(proto.frames.iter().map(|f| Frame {
                    arrival: f.arrival + b * 8000,
                    ts: f.ts.wrapping_add((b * 8000) as u32),
                    ..*f
                }));
                batch.cut = proto.cut + b * 8000;
                rec.batch(black_box(&batch));
            }
            b += 1;
        })
    });
    drop(rec.close((b + 1) * 8000));

    // 1,000 recordings open at once, one second of audio each per iteration: how long one
    // writer thread needs for a second of 1,000 calls (below 1 s = it keeps up).
    g.sample_size(10);
    g.throughput(Throughput::Elements(1000));
    let mut recs: Vec<Recording> = (0..1000)
        .map(|i| Recording::open(dir.path(), &format!("many/{i}.wav"), Layout::Stereo, None))
        .collect();
    let mut second = 0u64;
    g.bench_function("writer_1000_recordings_one_second", |bench| {
        bench.iter(|| {
            for half in 0..2 {
                let mut batch = half_second(0);
                let shift = second * 8000 + half * 4000;
                for f in &mut batch.frames {
                    f.arrival += shift;
                    f.ts = f.ts.wrapping_add(shift as u32);
                }
                batch.cut += shift;
                for r in &mut recs {
                    r.batch(&batch);
                }
            }
            second += 1;
        })
    });
    for r in recs {
        drop(r.close((second + 1) * 8000));
    }
    g.finish();
}

criterion_group!(benches, relay_side, writer);
criterion_main!(benches);
