//! The relay's side of recording: copy each G.711 payload into a preallocated batch (no
//! allocation and no channel hop per packet) and hand the batch to a writer thread every
//! `BATCH_EVERY`. The channel is bounded: a full channel drops the batch (counted; the
//! writer turns the hole into silence, so the file stays aligned) — the call never waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timeline::{Layout, RATE};
use super::Outcome;

/// Up to 40 ms of G.711 per packet (longer packets are cut: nobody sends them).
pub const MAX_PAYLOAD: usize = 320;
pub const BATCH_EVERY: Duration = Duration::from_millis(500);
/// Frames one batch holds before it is sent early: 0.5 s of 20 ms packets from both sides,
/// with room for bursts.
pub const BATCH_FRAMES: usize = 64;

#[derive(Clone, Copy)]
pub struct Frame {
    /// 0 = caller (A), 1 = callee (B).
    pub side: u8,
    /// RTP payload type: 0 PCMU, 8 PCMA.
    pub pt: u8,
    pub len: u16,
    pub ts: u32,
    /// Samples after the recording's start when it arrived.
    pub arrival: u64,
    pub payload: [u8; MAX_PAYLOAD],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Pause(u64),
    Resume(u64),
}

pub struct Batch {
    pub frames: Vec<Frame>,
    pub marks: Vec<Mark>,
    /// Samples after the start when the batch was cut: what came before is complete
    /// (give or take the network's jitter).
    pub cut: u64,
}

impl Batch {
    pub fn new() -> Self {
        Batch {
            frames: Vec::with_capacity(BATCH_FRAMES),
            marks: Vec::new(),
            cut: 0,
        }
    }
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

/// Work for a writer thread; one recording always goes to the same thread, in order.
pub enum Job {
    Open {
        id: u64,
        /// Relative to the recordings directory.
        rel: String,
        layout: Layout,
        done: tokio::sync::oneshot::Sender<Outcome>,
    },
    Batch {
        id: u64,
        batch: Batch,
    },
    Close {
        id: u64,
        end: u64,
    },
}

/// One call's recording, owned by its relay task.
pub struct Tap {
    id: u64,
    start: Instant,
    batch: Batch,
    last_sent: Instant,
    paused: bool,
    tx: SyncSender<Job>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap")
            .field("id", &self.id)
            .field("paused", &self.paused)
            .field("frames", &self.batch.frames.len())
            .finish()
    }
}

impl Tap {
    /// A tap feeding `tx` (`Recorder::begin` makes them; public for benches).
    pub fn new(id: u64, start: Instant, tx: SyncSender<Job>, dropped: Arc<AtomicU64>) -> Tap {
        Tap {
            id,
            start,
            batch: Batch::new(),
            last_sent: start,
            paused: false,
            tx,
            dropped,
        }
    }

    fn at(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.start);
        (d.as_nanos() * u128::from(RATE) / 1_000_000_000) as u64
    }

    /// A packet from `side`; anything but PCMU/PCMA (DTMF, comfort noise) is left out
    /// and becomes silence.
    pub fn on_packet(&mut self, now: Instant, side: usize, pt: u8, ts: u32, payload: &[u8]) {
        if self.paused || !(pt == 0 || pt == 8) || payload.is_empty() {
            return;
        }
        let len = payload.len().min(MAX_PAYLOAD);
        let mut f = Frame {
            side: side as u8,
            pt,
            len: len as u16,
            ts,
            arrival: self.at(now),
            payload: [0; MAX_PAYLOAD],
        };
        f.payload[..len].copy_from_slice(&payload[..len]);
        self.batch.frames.push(f);
        if self.batch.frames.len() >= BATCH_FRAMES {
            self.send(now);
        }
    }

    pub fn pause(&mut self, now: Instant) {
        if !self.paused {
            self.paused = true;
            let at = self.at(now);
            self.batch.marks.push(Mark::Pause(at));
        }
    }

    pub fn resume(&mut self, now: Instant) {
        if self.paused {
            self.paused = false;
            let at = self.at(now);
            self.batch.marks.push(Mark::Resume(at));
        }
    }

    /// Called from the relay's periodic tick.
    pub fn tick(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_sent) >= BATCH_EVERY {
            self.send(now);
        }
    }

    fn send(&mut self, now: Instant) {
        self.last_sent = now;
        let mut batch = std::mem::take(&mut self.batch);
        batch.cut = self.at(now);
        match self.tx.try_send(Job::Batch { id: self.id, batch }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The end of the recording at `at`: the last batch and the close. These two must
    /// arrive (a missing close leaks the file), so a full channel hands them to a thread
    /// that waits — the call does not.
    pub fn stop(mut self, at: Instant) {
        let end = self.at(at);
        let mut batch = std::mem::take(&mut self.batch);
        batch.cut = end;
        let jobs = [
            Job::Batch { id: self.id, batch },
            Job::Close { id: self.id, end },
        ];
        let mut rest = Vec::new();
        for job in jobs {
            if !rest.is_empty() {
                rest.push(job);
                continue;
            }
            match self.tx.try_send(job) {
                Ok(()) => {}
                Err(TrySendError::Full(job)) => rest.push(job),
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        if !rest.is_empty() {
            let tx = self.tx.clone();
            std::thread::spawn(move || {
                for job in rest {
                    if tx.send(job).is_err() {
                        return;
                    }
                }
            });
        }
    }
}
