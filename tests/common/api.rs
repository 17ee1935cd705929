//! gRPC API clients for tests: the three test tokens, a channel that retries while the API
//! task binds, bearer auth, and a Subscribe that collects events in the background.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard::api::pb;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::Request;

pub const READ: &str = "read-token-0123456789";
pub const CONTROL: &str = "control-token-0123456789";
pub const ADMIN: &str = "admin-token-0123456789";

/// A channel to the API on `api_port`. The daemon answered OPTIONS, so the API is bound;
/// connecting may still race its task, hence the retries (5 s in all).
pub async fn channel(api_port: u16) -> Channel {
    let url = format!("http://127.0.0.1:{api_port}");
    let mut last = None;
    for _ in 0..50 {
        match Channel::from_shared(url.clone()).unwrap().connect().await {
            Ok(c) => return c,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to the API: {last:?}");
}

/// `msg` with `authorization: Bearer <token>`.
pub fn authed<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    let v: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    r.metadata_mut().insert("authorization", v);
    r
}

pub type Seen = Arc<Mutex<Vec<pb::Event>>>;

/// Subscribe with `req` (as the read token) and collect every event in the background.
pub async fn subscribe(ch: Channel, req: pb::SubscribeRequest) -> Seen {
    let mut client = pb::events_client::EventsClient::new(ch);
    let mut stream = client
        .subscribe(authed(req, READ))
        .await
        .expect("subscribe")
        .into_inner();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Ok(Some(ev)) = stream.message().await {
            sink.lock().unwrap().push(ev);
        }
    });
    seen
}

/// Poll `seen` until `f` holds (deadline `secs`).
pub async fn wait_for(seen: &Seen, secs: u64, what: &str, f: impl Fn(&[pb::Event]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if f(&seen.lock().unwrap()) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; got {:#?}",
                seen.lock().unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A channel to the API on `api_port` whose connections come from `local` (any 127.0.0.0/8
/// address is loopback on Linux: a second "source" for per-source limits). One attempt: the
/// caller decides whether a refusal is expected.
pub async fn channel_from(
    api_port: u16,
    local: std::net::IpAddr,
) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("http://127.0.0.1:{api_port}"))
        .unwrap()
        .local_address(Some(local))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
}
