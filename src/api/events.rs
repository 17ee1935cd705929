//! `Events.Subscribe`: replay from the history, then follow live through the broadcast
//! channel, with the latest snapshot from the bus's watch. The response stream pulls
//! straight from the bus (no task or queue per client): a client that reads slowly holds
//! back nothing but its place in the broadcast ring (shared, bounded in events), the newest
//! snapshot (one) and what HTTP/2 flow control lets be in flight. When it falls more than
//! `LIVE_BUFFER` events behind, the ring moves on without it (`Lagged`) and it gets a `Gap`
//! naming the lost numbers. The writer never waits.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::bus::{BusReader, Shared};
use super::codec::Outgoing;
use super::filter::Filter;
use super::pb;
use super::Tokens;
use crate::config::ApiScope;

pub struct EventsService {
    pub bus: BusReader,
    pub tokens: Arc<Tokens>,
}

fn gap(from: u64, to: u64) -> pb::Event {
    pb::Event {
        seq: to,
        unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        payload: Some(pb::event::Payload::Gap(pb::Gap {
            from_seq: from,
            to_seq: to,
        })),
        ..Default::default()
    }
}

/// One subscriber's position in the bus.
pub(super) struct Follower {
    filter: Filter,
    /// What to send before following live: a gap for history no longer kept, the latest
    /// snapshot, the replay.
    first: VecDeque<Outgoing>,
    replay: std::vec::IntoIter<Shared>,
    live: broadcast::Receiver<Shared>,
    snapshots: watch::Receiver<Option<Shared>>,
    /// The last sequence number this client has had (or was told it lost).
    last: u64,
    lagged: bool,
}

impl Follower {
    pub(super) fn new(bus: &BusReader, after_seq: Option<u64>, filter: Filter) -> Follower {
        let sub = bus.subscribe(after_seq);
        let mut first = VecDeque::new();
        if let Some((from, to)) = sub.missed {
            first.push_back(Outgoing::Own(gap(from, to)));
        }
        if let Some(s) = sub.snapshot.as_ref().and_then(|s| filter.apply(s)) {
            first.push_back(s);
        }
        Follower {
            filter,
            first,
            replay: sub.replay.into_iter(),
            live: sub.live,
            snapshots: sub.snapshots,
            last: sub.last_seq,
            lagged: false,
        }
    }

    /// The next response; None once the bus is gone.
    pub(super) async fn next(&mut self) -> Option<Outgoing> {
        if let Some(o) = self.first.pop_front() {
            return Some(o);
        }
        for ev in self.replay.by_ref() {
            if let Some(o) = self.filter.apply(&ev) {
                return Some(o);
            }
        }
        loop {
            // Events first: a snapshot carries the number of the last event before it, so
            // it goes out only once the events published before it have (or were lost).
            let ev = tokio::select! {
                biased;
                r = self.live.recv() => match r {
                    Ok(ev) => ev,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.lagged = true;
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                r = self.snapshots.changed() => {
                    r.ok()?;
                    let snap = self.snapshots.borrow_and_update().clone();
                    match snap.and_then(|s| self.filter.apply(&s)) {
                        Some(o) => return Some(o),
                        None => continue,
                    }
                }
            };
            if ev.seq <= self.last {
                continue;
            }
            if std::mem::take(&mut self.lagged) && ev.seq - 1 > self.last {
                let g = gap(self.last + 1, ev.seq - 1);
                // The event itself comes right after the gap.
                if let Some(o) = self.filter.apply(&ev) {
                    self.first.push_back(o);
                }
                self.last = ev.seq;
                return Some(Outgoing::Own(g));
            }
            self.last = ev.seq;
            if let Some(o) = self.filter.apply(&ev) {
                return Some(o);
            }
        }
    }
}

pub type EventStream = Pin<Box<dyn Stream<Item = Result<Outgoing, Status>> + Send + 'static>>;

impl EventsService {
    /// Check the caller and its request, then stream (routed by `codec::EventsServer`).
    pub fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<EventStream>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        let req = req.into_inner();
        for k in &req.kinds {
            if pb::EventKind::try_from(*k).is_err() || *k == 0 {
                return Err(Status::invalid_argument(format!(
                    "kinds: {k} is not an EventKind (see events.proto)"
                )));
            }
        }
        let follower = Follower::new(&self.bus, req.after_seq, Filter::new(&req));
        let stream = futures_util::stream::unfold(follower, |mut f| async move {
            let o = f.next().await?;
            Some((Ok(o), f))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::bus::{Bus, LIVE_BUFFER};

    fn call_event() -> pb::Event {
        pb::Event {
            payload: Some(pb::event::Payload::CallRinging(pb::CallRinging {})),
            ..Default::default()
        }
    }

    fn snapshot(calls: usize) -> pb::Event {
        pb::Event {
            payload: Some(pb::event::Payload::Snapshot(pb::Snapshot {
                calls: (0..calls)
                    .map(|i| pb::CallInfo {
                        call_id: format!("call-{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    /// Every number accounted for exactly once: delivered, or inside a gap.
    fn covered(got: &[pb::Event]) -> Vec<u64> {
        let mut n = Vec::new();
        for e in got {
            match &e.payload {
                Some(pb::event::Payload::Gap(g)) => n.extend(g.from_seq..=g.to_seq),
                Some(pb::event::Payload::Snapshot(_)) => {}
                _ => n.push(e.seq),
            }
        }
        n
    }

    async fn next(f: &mut Follower) -> pb::Event {
        f.next().await.expect("bus open").event().clone()
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_gets_a_gap_then_the_live_events() {
        let (mut bus, reader) = Bus::new();
        let mut f = Follower::new(&reader, None, Filter::default());
        // The client reads nothing meanwhile; the writer never waits for it.
        let total = 2 * LIVE_BUFFER as u64 + 10;
        for _ in 0..total {
            bus.publish(call_event());
        }
        let mut got = Vec::new();
        while covered(&got).last().copied() != Some(total) {
            got.push(next(&mut f).await);
        }
        let gaps: Vec<&pb::Gap> = got
            .iter()
            .filter_map(|e| match &e.payload {
                Some(pb::event::Payload::Gap(g)) => Some(g),
                _ => None,
            })
            .collect();
        assert_eq!(gaps.len(), 1, "one gap for one stall");
        assert_eq!(gaps[0].from_seq, 1);
        assert_eq!(covered(&got), (1..=total).collect::<Vec<_>>());
        // Live again: the next event arrives as such.
        bus.publish(call_event());
        assert_eq!(next(&mut f).await.seq, total + 1);
    }

    #[tokio::test]
    async fn a_stalled_client_under_snapshots_pins_one_snapshot_and_gets_it_after_the_events() {
        let (mut bus, reader) = Bus::new();
        let mut f = Follower::new(&reader, None, Filter::default());
        // 100 s of 1,000-call snapshots and a few events while the client reads nothing.
        for i in 0..100 {
            bus.publish(call_event());
            let mut s = snapshot(1_000);
            s.unix_ms = i;
            bus.snapshot(s);
        }
        // Held for this client: the 100 small events in the ring and the one newest
        // snapshot (the bus's own reference and the follower's watch).
        let mut got = Vec::new();
        for _ in 0..101 {
            got.push(next(&mut f).await);
        }
        assert_eq!(covered(&got), (1..=100).collect::<Vec<_>>());
        let last = got.last().expect("101 read");
        let Some(pb::event::Payload::Snapshot(s)) = &last.payload else {
            panic!("the snapshot comes after the events it follows: {last:?}");
        };
        assert_eq!((last.unix_ms, last.seq, s.calls.len()), (99, 100, 1_000));
        // Nothing else is queued for it.
        let idle = tokio::time::timeout(std::time::Duration::from_millis(50), f.next()).await;
        assert!(idle.is_err(), "no older snapshot was kept: {idle:?}");
    }

    #[tokio::test]
    async fn a_filtered_subscriber_gets_only_its_calls_and_every_gap() {
        let (mut bus, reader) = Bus::new();
        let mut mine = call_event();
        mine.call_id = "mine".into();
        let mut other = call_event();
        other.call_id = "other".into();
        bus.publish(other.clone());
        bus.publish(mine.clone());
        let filter = Filter::new(&pb::SubscribeRequest {
            calls: vec!["mine".into()],
            ..Default::default()
        });
        let mut f = Follower::new(&reader, Some(0), filter);
        let first = next(&mut f).await;
        assert_eq!((first.seq, first.call_id.as_str()), (2, "mine"));
        bus.publish(other);
        bus.publish(mine);
        let n = next(&mut f).await;
        assert_eq!((n.seq, n.call_id.as_str()), (4, "mine"));
        // Its snapshots are narrowed to its call.
        let mut s = snapshot(3);
        if let Some(pb::event::Payload::Snapshot(s)) = &mut s.payload {
            s.calls[1].call_id = "mine".into();
        }
        bus.snapshot(s);
        let n = next(&mut f).await;
        let Some(pb::event::Payload::Snapshot(s)) = &n.payload else {
            panic!("a snapshot: {n:?}");
        };
        let ids: Vec<&str> = s.calls.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(ids, vec!["mine"]);
    }
}
