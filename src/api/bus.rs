//! The event bus: one writer (the daemon's main loop) numbers every event, keeps the last
//! `HISTORY` of them for reconnecting clients, and broadcasts them live. Subscribers never
//! slow the writer: the broadcast channel drops what a slow one has not read, and the
//! subscriber learns it as a gap (`events.rs`).
//!
//! Snapshots do not go through the broadcast ring but through a `watch` (only the latest is
//! kept): a stalled client then pins at most one snapshot (~100 KB with 1,000 calls), not
//! `LIVE_BUFFER` of them. Every event is shared as an `Arc<BusEvent>` that is protobuf-encoded
//! at most once, by the first subscriber that sends it (`codec.rs`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use prost::Message;
use tokio::sync::{broadcast, watch};

use super::pb;

/// One published event and, once a subscriber needed it, its encoding (shared by all).
#[derive(Debug)]
pub struct BusEvent {
    pub event: pb::Event,
    encoded: OnceLock<Bytes>,
}

impl BusEvent {
    pub fn new(event: pb::Event) -> BusEvent {
        BusEvent {
            event,
            encoded: OnceLock::new(),
        }
    }

    /// The event's protobuf encoding, made on first use.
    pub fn encoded(&self) -> &Bytes {
        self.encoded
            .get_or_init(|| Bytes::from(self.event.encode_to_vec()))
    }
}

impl std::ops::Deref for BusEvent {
    type Target = pb::Event;
    fn deref(&self) -> &pb::Event {
        &self.event
    }
}

pub type Shared = Arc<BusEvent>;

/// Sequenced events kept for replay.
pub const HISTORY: usize = 10_000;
/// Events a subscriber may fall behind live before it gets a gap.
pub(super) const LIVE_BUFFER: usize = 4096;

struct Inner {
    /// The kept history, oldest first. Locked only to push one event or to copy the tail
    /// (never across an await), and the broadcast send happens under the same lock so a
    /// new subscriber sees each event exactly once: in its replay or live.
    history: Mutex<VecDeque<Shared>>,
    /// The latest snapshot: a new subscriber's first event, then each one live.
    snapshot: watch::Sender<Option<Shared>>,
    live: broadcast::Sender<Shared>,
}

/// The writer's half (owned by the daemon's main loop).
pub struct Bus {
    shared: Arc<Inner>,
    /// The last sequence number given out (0: none yet).
    last_seq: u64,
}

/// The subscribers' half (cloned into the gRPC service).
#[derive(Clone)]
pub struct BusReader {
    shared: Arc<Inner>,
}

/// What a new subscriber starts from.
pub struct Subscription {
    /// Kept events after the asked sequence number, oldest first.
    pub replay: Vec<Shared>,
    /// Sequence numbers asked for but no longer kept (from, to), inclusive.
    pub missed: Option<(u64, u64)>,
    /// The last sequence number covered by `replay` (live events up to it are skipped).
    pub last_seq: u64,
    pub snapshot: Option<Shared>,
    pub live: broadcast::Receiver<Shared>,
    /// Later snapshots (the one in `snapshot`, if any, is marked seen).
    pub snapshots: watch::Receiver<Option<Shared>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind (a VecDeque push or an Option
    // store): still consistent, so keep serving instead of poisoning the API.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Bus {
    pub fn new() -> (Bus, BusReader) {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let shared = Arc::new(Inner {
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            snapshot: watch::Sender::new(None),
            live,
        });
        (
            Bus {
                shared: shared.clone(),
                last_seq: 0,
            },
            BusReader { shared },
        )
    }

    /// Number `ev`, keep it and send it live. Returns its sequence number.
    pub fn publish(&mut self, mut ev: pb::Event) -> u64 {
        self.last_seq += 1;
        ev.seq = self.last_seq;
        let ev = Arc::new(BusEvent::new(ev));
        let mut h = lock(&self.shared.history);
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(ev.clone());
        // No subscriber is not an error: the history still has it.
        let _ = self.shared.live.send(ev);
        self.last_seq
    }

    /// Send a snapshot live (it carries the last sequence number and is not kept in the
    /// history: replaying stale snapshots would only mislead). It replaces the previous one
    /// for subscribers that have not taken that yet.
    pub fn snapshot(&mut self, mut ev: pb::Event) {
        ev.seq = self.last_seq;
        // Replaced even with no subscriber: the next one starts from it.
        self.shared
            .snapshot
            .send_replace(Some(Arc::new(BusEvent::new(ev))));
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Clients following live now (for the metrics).
    pub fn subscribers(&self) -> usize {
        self.shared.live.receiver_count()
    }
}

impl BusReader {
    /// Start following: the kept events after `after_seq` (None: none), then live.
    pub fn subscribe(&self, after_seq: Option<u64>) -> Subscription {
        let h = lock(&self.shared.history);
        let live = self.shared.live.subscribe();
        let mut snapshots = self.shared.snapshot.subscribe();
        let snapshot = snapshots.borrow_and_update().clone();
        let newest = h.back().map_or(0, |e| e.seq);
        let oldest = h.front().map_or(newest + 1, |e| e.seq);
        let (replay, missed) = match after_seq {
            None => (Vec::new(), None),
            // Numbers restart with the daemon: a client ahead of us gets all we kept.
            Some(after) if after > newest => (h.iter().cloned().collect(), None),
            Some(after) => {
                let missed = (after + 1 < oldest).then(|| (after + 1, oldest - 1));
                let skip = (after + 1).saturating_sub(oldest) as usize;
                (h.iter().skip(skip).cloned().collect(), missed)
            }
        };
        Subscription {
            replay,
            missed,
            last_seq: newest,
            snapshot: if after_seq.is_none() { snapshot } else { None },
            live,
            snapshots,
        }
    }

    /// Clients following live now.
    pub fn subscribers(&self) -> usize {
        self.shared.live.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> pb::Event {
        pb::Event::default()
    }

    #[test]
    fn replay_after_a_sequence_number_gives_exactly_the_rest() {
        let (mut bus, reader) = Bus::new();
        for _ in 0..5 {
            bus.publish(ev());
        }
        let s = reader.subscribe(Some(2));
        let seqs: Vec<u64> = s.replay.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        assert_eq!(s.missed, None);
        assert_eq!(s.last_seq, 5);
    }

    #[test]
    fn history_older_than_kept_is_reported_missed() {
        let (mut bus, reader) = Bus::new();
        for _ in 0..HISTORY + 10 {
            bus.publish(ev());
        }
        let s = reader.subscribe(Some(3));
        assert_eq!(s.missed, Some((4, 10)));
        assert_eq!(s.replay.first().map(|e| e.seq), Some(11));
        assert_eq!(s.replay.len(), HISTORY);
    }

    #[test]
    fn live_only_subscriber_gets_later_events_and_the_latest_snapshot() {
        let (mut bus, reader) = Bus::new();
        bus.publish(ev());
        bus.snapshot(ev());
        let mut s = reader.subscribe(None);
        assert!(s.replay.is_empty());
        assert_eq!(s.snapshot.as_ref().map(|e| e.seq), Some(1));
        bus.publish(ev());
        assert_eq!(s.live.try_recv().map(|e| e.seq).ok(), Some(2));
    }

    #[test]
    fn a_subscriber_that_reads_no_snapshot_holds_only_the_latest() {
        let (mut bus, reader) = Bus::new();
        let mut s = reader.subscribe(None);
        for i in 0..100 {
            bus.publish(ev());
            bus.snapshot(pb::Event { unix_ms: i, ..ev() });
        }
        // The ring has the 100 events, no snapshot; the watch the last snapshot only.
        let got: Vec<u64> = std::iter::from_fn(|| s.live.try_recv().ok().map(|e| e.seq)).collect();
        assert_eq!(got, (1..=100).collect::<Vec<_>>());
        assert!(s.snapshots.has_changed().expect("bus alive"));
        let latest = s.snapshots.borrow_and_update().clone().expect("a snapshot");
        assert_eq!((latest.unix_ms, latest.seq), (99, 100));
        // Only the bus and this reader hold it: the 99 older ones are gone.
        assert_eq!(Arc::strong_count(&latest), 2);
    }

    #[test]
    fn an_event_is_encoded_once_and_exactly_as_prost_encodes_it() {
        let e = BusEvent::new(pb::Event {
            call_id: "c".into(),
            ..ev()
        });
        let a = e.encoded().clone();
        assert_eq!(a.as_ref(), e.event.encode_to_vec().as_slice());
        // The same allocation the second time.
        assert_eq!(e.encoded().as_ptr(), a.as_ptr());
    }
}
