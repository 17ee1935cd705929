//! The writer threads: decode G.711, place frames on the timeline, write WAV with hound and
//! refresh the header about once a second (hound's `flush`), so a file cut by `kill -9`
//! holds its audio up to the last flush once `repair` has fixed its sizes. A write error
//! (disk full, file size limit) fails that recording only: it is closed, the reason logged
//! and reported in its outcome, and the call goes on.

use std::collections::HashMap;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::BufWriter;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::batch::{Batch, Job, Mark};
use super::timeline::{Layout, Timeline, RATE};
use super::{Outcome, Status};
use crate::media::g711::{alaw_decode, ulaw_decode};

const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Written this far behind a batch's cut: room for packets still in the network.
const MARGIN: u64 = RATE as u64 / 5;

type Wav = hound::WavWriter<BufWriter<File>>;

/// One open recording on a writer thread.
pub struct Recording {
    path: PathBuf,
    wav: Option<Wav>,
    timeline: Timeline,
    failed: Option<String>,
    last_flush: Instant,
    scratch: Vec<i16>,
    decoded: Vec<i16>,
    done: Option<tokio::sync::oneshot::Sender<Outcome>>,
}

/// Create `dir/rel` (parents 0700, the file 0600; never overwriting: `-1`, `-2` … are
/// tried) and start a WAV in it.
fn create(dir: &Path, rel: &str, layout: Layout) -> Result<(PathBuf, Wav), String> {
    let mut path = dir.join(rel);
    if let Some(parent) = path.parent() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let stem = path.with_extension("");
    let mut n = 0;
    let file = loop {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => break f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                n += 1;
                path = PathBuf::from(format!("{}-{n}.wav", stem.display()));
            }
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    };
    let spec = hound::WavSpec {
        channels: layout.channels(),
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wav = hound::WavWriter::new(BufWriter::new(file), spec)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((path, wav))
}

impl Recording {
    pub fn open(
        dir: &Path,
        rel: &str,
        layout: Layout,
        done: Option<tokio::sync::oneshot::Sender<Outcome>>,
    ) -> Recording {
        let (path, wav, failed) = match create(dir, rel, layout) {
            Ok((p, w)) => (p, Some(w), None),
            Err(e) => (dir.join(rel), None, Some(e)),
        };
        if let Some(e) = &failed {
            tracing::error!(path = %path.display(), error = %e, "recording failed");
        }
        Recording {
            path,
            wav,
            timeline: Timeline::new(layout),
            failed,
            last_flush: Instant::now(),
            scratch: Vec::with_capacity(2 * RATE as usize),
            decoded: Vec::with_capacity(super::batch::MAX_PAYLOAD),
            done,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Samples per channel written so far.
    pub fn written(&self) -> u64 {
        self.timeline.written()
    }

    pub fn batch(&mut self, b: &Batch) {
        let mut marks = b.marks.iter().peekable();
        for f in &b.frames {
            // Marks before this frame's arrival take effect first (their order matters
            // only for what is already placed; emit() applies them by position).
            while let Some(m) = marks.next_if(|m| mark_at(m) <= f.arrival) {
                self.mark(*m);
            }
            self.decoded.clear();
            let payload = &f.payload[..f.len as usize];
            if f.pt == 8 {
                self.decoded.extend(payload.iter().map(|&c| alaw_decode(c)));
            } else {
                self.decoded.extend(payload.iter().map(|&c| ulaw_decode(c)));
            }
            self.timeline
                .place(f.side as usize, f.arrival, f.ts, &self.decoded);
        }
        for m in marks {
            self.mark(*m);
        }
        self.write_upto(b.cut.saturating_sub(MARGIN));
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.last_flush = Instant::now();
            if let Some(w) = self.wav.as_mut() {
                if let Err(e) = w.flush() {
                    self.fail(e);
                }
            }
        }
    }

    fn mark(&mut self, m: Mark) {
        match m {
            Mark::Pause(at) => self.timeline.pause(at),
            Mark::Resume(at) => self.timeline.resume(at),
        }
    }

    fn write_upto(&mut self, upto: u64) {
        self.scratch.clear();
        self.timeline.emit(upto, &mut self.scratch);
        let Some(w) = self.wav.as_mut() else { return };
        let mut res = Ok(());
        for &s in &self.scratch {
            res = w.write_sample(s);
            if res.is_err() {
                break;
            }
        }
        if let Err(e) = res {
            self.fail(e);
        }
    }

    fn fail(&mut self, e: hound::Error) {
        let why = match e {
            hound::Error::IoError(io) => io.to_string(),
            other => other.to_string(),
        };
        tracing::error!(path = %self.path.display(), error = %why, "recording failed: write error; the call goes on");
        self.failed = Some(why);
        // Dropping the writer closes the file (hound's best-effort header update; the
        // startup repair fixes what it could not write).
        self.wav = None;
    }

    /// Write to `end` and finalize; the outcome goes to whoever waits for it.
    pub fn close(mut self, end: u64) -> Outcome {
        self.write_upto(end);
        if let Some(w) = self.wav.take() {
            if let Err(e) = w.finalize() {
                self.fail(e);
            }
        }
        let ms = (self.timeline.written() * 1000 / u64::from(RATE)) as i64;
        let outcome = Outcome {
            path: Some(self.path.display().to_string()),
            ms: Some(ms),
            status: match self.failed.take() {
                None => Status::Ok,
                Some(why) => Status::Failed(why),
            },
        };
        if let Some(tx) = self.done.take() {
            let _ = tx.send(outcome.clone());
        }
        outcome
    }
}

fn mark_at(m: &Mark) -> u64 {
    match *m {
        Mark::Pause(a) | Mark::Resume(a) => a,
    }
}

/// A writer thread's loop: its recordings by id, until every sender is gone.
pub fn run(dir: PathBuf, rx: Receiver<Job>, active: Arc<AtomicUsize>) {
    let mut recs: HashMap<u64, Recording> = HashMap::new();
    while let Ok(job) = rx.recv() {
        match job {
            Job::Open {
                id,
                rel,
                layout,
                done,
            } => {
                recs.insert(id, Recording::open(&dir, &rel, layout, Some(done)));
            }
            Job::Batch { id, batch } => {
                if let Some(r) = recs.get_mut(&id) {
                    r.batch(&batch);
                }
            }
            Job::Close { id, end } => {
                if let Some(r) = recs.remove(&id) {
                    let o = r.close(end);
                    tracing::info!(path = ?o.path, ms = ?o.ms, status = %o.status, "recording closed");
                    active.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711::ulaw_encode;
    use crate::recording::batch::{Frame, MAX_PAYLOAD};

    fn frame(side: u8, f: u64, ts0: u32, level: i16) -> Frame {
        let mut payload = [0u8; MAX_PAYLOAD];
        payload[..160].fill(ulaw_encode(level));
        Frame {
            side,
            pt: 0,
            len: 160,
            ts: ts0.wrapping_add((f * 160) as u32),
            arrival: f * 160,
            payload,
        }
    }

    /// Batches on a virtual timeline through the real writer and hound: the paused span is
    /// exact silence on both channels, a lost frame is silence on its side only, and the
    /// file is exactly as long as the recording.
    #[test]
    fn writer_keeps_pauses_and_gaps_silent_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Recording::open(dir.path(), "x/y.wav", Layout::Stereo, None);
        let (pause, resume) = (3 * 8000 / 2 + 17, 2 * 8000 + 5);
        for b in 0..6u64 {
            let mut batch = Batch::new();
            for f in b * 25..(b + 1) * 25 {
                if f != 7 {
                    batch.frames.push(frame(0, f, 1234, 4000));
                }
                batch.frames.push(frame(1, f, 99, -4000));
            }
            if b == 3 {
                batch.marks.push(Mark::Pause(pause));
            }
            if b == 4 {
                batch.marks.push(Mark::Resume(resume));
            }
            batch.cut = (b + 1) * 25 * 160;
            r.batch(&batch);
        }
        let path = r.path().to_path_buf();
        let o = r.close(6 * 25 * 160);
        assert_eq!(o.status, Status::Ok);
        assert_eq!(o.ms, Some(3000));
        let mut rd = hound::WavReader::open(&path).unwrap();
        let s: Vec<i16> = rd.samples::<i16>().map(|x| x.unwrap()).collect();
        assert_eq!(s.len(), 2 * 24_000);
        let dec = crate::media::g711::ulaw_decode(ulaw_encode(4000));
        for (i, pair) in s.chunks(2).enumerate() {
            let i = i as u64;
            let paused = (pause..resume).contains(&i);
            let lost = (7 * 160..8 * 160).contains(&i);
            let want_l = if paused || lost { 0 } else { dec };
            let want_r = if paused { 0 } else { -dec };
            assert_eq!(pair, [want_l, want_r], "sample {i}");
        }
    }

    #[test]
    fn an_unwritable_directory_fails_the_recording_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let r = Recording::open(dir.path(), "file/sub.wav", Layout::Mono, None);
        let o = r.close(8000);
        assert!(matches!(o.status, Status::Failed(ref why) if why.contains("cannot create")));
    }
}
