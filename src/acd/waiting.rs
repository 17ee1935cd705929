//! A queue's callers in service order: higher caller priority first, then earlier enqueue
//! time, then arrival sequence (unique, so keys never collide).
//!
//! `all` holds every caller still in the queue (waiting or being offered), for positions.
//! `buckets[stage]` holds only callers waiting for an offer, split by routing stage, so a freed
//! agent looks at the first entry of each bucket it qualifies for: O(stages × log n).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Instant;

use super::ids::CallId;

/// (Reverse(priority), enqueued, seq): smaller is served first.
pub(crate) type WaitKey = (Reverse<u8>, Instant, u64);

#[derive(Debug)]
pub(crate) struct WaitingList {
    all: BTreeMap<WaitKey, CallId>,
    buckets: Vec<BTreeMap<WaitKey, CallId>>,
    /// Callers per priority, so the join position of a newest caller costs O(priorities).
    per_priority: BTreeMap<Reverse<u8>, u32>,
}

impl WaitingList {
    pub fn new(stages: usize) -> Self {
        WaitingList {
            all: BTreeMap::new(),
            buckets: (0..stages).map(|_| BTreeMap::new()).collect(),
            per_priority: BTreeMap::new(),
        }
    }

    /// When the longest-waiting caller joined (O(n): the order is by priority first).
    pub fn oldest(&self) -> Option<Instant> {
        self.all.keys().map(|k| k.1).min()
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Add a caller to the queue (not yet matchable); returns its position (1-based).
    /// `newest`: its enqueue time is the latest in the queue (true for live arrivals; false
    /// for restored callbacks), which lets the position come from per-priority counts.
    pub fn join(&mut self, key: WaitKey, call: CallId, newest: bool) -> u32 {
        let pos = if newest {
            self.per_priority
                .range(..=key.0)
                .map(|(_, n)| *n)
                .sum::<u32>()
                + 1
        } else {
            self.position(&key)
        };
        self.all.insert(key, call);
        *self.per_priority.entry(key.0).or_insert(0) += 1;
        pos
    }

    pub fn leave(&mut self, key: &WaitKey, stage: usize) {
        if self.all.remove(key).is_some() {
            if let Some(n) = self.per_priority.get_mut(&key.0) {
                *n -= 1;
                if *n == 0 {
                    self.per_priority.remove(&key.0);
                }
            }
        }
        self.unpark(key, stage);
    }

    /// Make a queued caller matchable at `stage`.
    pub fn park(&mut self, key: WaitKey, call: CallId, stage: usize) {
        if let Some(b) = self.buckets.get_mut(stage) {
            b.insert(key, call);
        }
    }

    pub fn unpark(&mut self, key: &WaitKey, stage: usize) -> bool {
        self.buckets
            .get_mut(stage)
            .is_some_and(|b| b.remove(key).is_some())
    }

    pub fn head(&self, stage: usize) -> Option<(&WaitKey, &CallId)> {
        self.buckets.get(stage).and_then(|b| b.first_key_value())
    }

    #[cfg(test)]
    pub fn bucket(&self, stage: usize) -> impl Iterator<Item = (&WaitKey, &CallId)> {
        self.buckets.get(stage).into_iter().flat_map(|b| b.iter())
    }

    /// 1-based position among everyone still in the queue. O(position): not for hot paths.
    pub fn position(&self, key: &WaitKey) -> u32 {
        self.all.range(..key).count() as u32 + 1
    }

    pub fn calls(&self) -> impl Iterator<Item = &CallId> {
        self.all.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn priority_then_time_and_positions() {
        let t0 = Instant::now();
        let mut w = WaitingList::new(1);
        let k = |p: u8, s: u64| (Reverse(p), t0 + Duration::from_secs(s), s);
        assert_eq!(w.join(k(0, 1), CallId(1), true), 1);
        assert_eq!(w.join(k(0, 2), CallId(2), true), 2);
        assert_eq!(w.join(k(5, 3), CallId(3), true), 1);
        assert_eq!(w.join(k(0, 4), CallId(4), true), 4);
        for (key, c) in [(k(0, 1), 1), (k(0, 2), 2), (k(5, 3), 3), (k(0, 4), 4)] {
            w.park(key, CallId(c), 0);
        }
        assert_eq!(w.head(0).map(|(_, c)| *c), Some(CallId(3)));
        assert_eq!(w.position(&k(0, 2)), 3);
        w.leave(&k(5, 3), 0);
        assert_eq!(w.head(0).map(|(_, c)| *c), Some(CallId(1)));
        assert_eq!(w.position(&k(0, 2)), 2);
        // a restored caller (older enqueue time) is placed by its key, not at the end
        assert_eq!(w.join((Reverse(0), t0, 0), CallId(9), false), 1);
    }
}
