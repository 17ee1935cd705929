//! A minimal client of the gRPC API (README "gRPC API"): follows every event from the
//! start of the kept history, with the demo config's read token.

use switchboard::api::pb::{event::Payload, events_client::EventsClient, SubscribeRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut client = EventsClient::connect("http://127.0.0.1:50051").await?;
    let mut req = tonic::Request::new(SubscribeRequest {
        after_seq: Some(0),
        ..Default::default()
    });
    req.metadata_mut().insert(
        "authorization",
        "Bearer demo-wallboard-token-change-me".parse()?,
    );
    let mut events = client.subscribe(req).await?.into_inner();
    while let Some(ev) = events.message().await? {
        match ev.payload {
            Some(Payload::CallEnded(e)) => {
                println!("#{} call {} ended: {}", ev.seq, ev.call_id, e.cause)
            }
            Some(Payload::Gap(g)) => println!("lost events {}..={}", g.from_seq, g.to_seq),
            other => println!("#{} {:?}", ev.seq, other),
        }
    }
    Ok(())
}
