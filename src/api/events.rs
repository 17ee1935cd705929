//! `Events.Subscribe`: replay from the history, then follow live through the broadcast
//! channel. Each subscriber has its own task feeding a small bounded channel to tonic; when
//! the client reads too slowly, that task waits, the broadcast channel moves on without it
//! (`Lagged`), and the client gets a `Gap` naming the lost numbers. The writer never waits.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::bus::BusReader;
use super::filter::Filter;
use super::pb;
use super::Tokens;
use crate::config::ApiScope;

/// Events queued for one client in the tonic stream before its task waits.
const CLIENT_BUFFER: usize = 256;

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

fn sequenced(ev: &pb::Event) -> bool {
    !matches!(
        ev.payload,
        Some(pb::event::Payload::Snapshot(_)) | Some(pb::event::Payload::Gap(_))
    )
}

type Tx = mpsc::Sender<Result<pb::Event, Status>>;

/// Send to the client; false once it has gone.
async fn send(tx: &Tx, ev: pb::Event) -> bool {
    tx.send(Ok(ev)).await.is_ok()
}

async fn follow(bus: BusReader, after_seq: Option<u64>, filter: Filter, tx: Tx) {
    let mut sub = bus.subscribe(after_seq);
    if let Some((from, to)) = sub.missed {
        if !send(&tx, gap(from, to)).await {
            return;
        }
    }
    if let Some(s) = sub.snapshot.take().and_then(|s| filter.apply(&s)) {
        if !send(&tx, (*s).clone()).await {
            return;
        }
    }
    for ev in std::mem::take(&mut sub.replay) {
        if let Some(ev) = filter.apply(&ev) {
            if !send(&tx, (*ev).clone()).await {
                return;
            }
        }
    }
    // The last sequence number this client has had (or was told it lost).
    let mut last = sub.last_seq;
    let mut lagged = false;
    loop {
        let ev = match sub.live.recv().await {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                lagged = true;
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let is_seq = sequenced(&ev);
        if is_seq && ev.seq <= last {
            continue;
        }
        if lagged {
            lagged = false;
            // A snapshot carries the last number before it: everything up to it is lost.
            let to = if is_seq { ev.seq - 1 } else { ev.seq };
            if to > last {
                if !send(&tx, gap(last + 1, to)).await {
                    return;
                }
                last = to;
            }
        }
        if is_seq {
            last = ev.seq;
        }
        if let Some(ev) = filter.apply(&ev) {
            if !send(&tx, (*ev).clone()).await {
                return;
            }
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl pb::events_server::Events for EventsService {
    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        let req = req.into_inner();
        for k in &req.kinds {
            if pb::EventKind::try_from(*k).is_err() || *k == 0 {
                return Err(Status::invalid_argument(format!(
                    "kinds: {k} is not an EventKind (see events.proto)"
                )));
            }
        }
        let filter = Filter::new(&req);
        let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
        tokio::spawn(follow(self.bus.clone(), req.after_seq, filter, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
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

    /// Every number accounted for exactly once: delivered, or inside a gap.
    fn covered(got: &[pb::Event]) -> Vec<u64> {
        let mut n = Vec::new();
        for e in got {
            match &e.payload {
                Some(pb::event::Payload::Gap(g)) => n.extend(g.from_seq..=g.to_seq),
                _ => n.push(e.seq),
            }
        }
        n
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_gets_a_gap_then_the_live_events() {
        let (mut bus, reader) = Bus::new();
        let (tx, mut rx) = mpsc::channel(4);
        tokio::spawn(follow(reader.clone(), None, Filter::default(), tx));
        while reader.subscribers() == 0 {
            tokio::task::yield_now().await;
        }
        // The client reads nothing meanwhile; the writer never waits for it.
        let total = 2 * LIVE_BUFFER as u64 + 10;
        for _ in 0..total {
            bus.publish(call_event());
        }
        let mut got = Vec::new();
        while covered(&got).last().copied() != Some(total) {
            got.push(rx.recv().await.expect("stream open").expect("no error"));
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
        let next = rx.recv().await.expect("open").expect("ok");
        assert_eq!(next.seq, total + 1);
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
        let (tx, mut rx) = mpsc::channel(16);
        tokio::spawn(follow(reader.clone(), Some(0), filter, tx));
        let first = rx.recv().await.expect("open").expect("ok");
        assert_eq!((first.seq, first.call_id.as_str()), (2, "mine"));
        bus.publish(other);
        bus.publish(mine);
        let next = rx.recv().await.expect("open").expect("ok");
        assert_eq!((next.seq, next.call_id.as_str()), (4, "mine"));
    }
}
