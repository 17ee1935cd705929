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
