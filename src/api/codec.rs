//! `Events.Subscribe` on the wire with events encoded once: the bus shares each event as an
//! `Arc<BusEvent>` whose protobuf bytes are made by the first subscriber that sends it, and
//! this codec copies those bytes into each response (the same bytes prost would write, so
//! any gRPC client decodes them as `Event`). Narrowed snapshots of filtered subscribers are
//! their own and encoded as usual.
//!
//! tonic's generated `EventsServer` fixes its response type to `pb::Event` (encoded per
//! subscriber), so the service is routed here by hand, as the generated code does it.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BufMut;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{http, Body, BoxFuture, Service, StdError};
use tonic::Status;

use super::bus::Shared;
use super::events::EventsService;
use super::pb;

/// One response of the stream.
#[derive(Debug)]
pub enum Outgoing {
    /// An event as published (its encoding shared by every subscriber).
    Shared(Shared),
    /// An event made for this subscriber (a gap, a filtered snapshot).
    Own(pb::Event),
}

#[cfg(test)]
impl Outgoing {
    pub fn event(&self) -> &pb::Event {
        match self {
            Outgoing::Shared(s) => &s.event,
            Outgoing::Own(e) => e,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct EventsCodec;

#[derive(Debug, Default, Clone, Copy)]
pub struct OutgoingEncoder;

impl Encoder for OutgoingEncoder {
    type Item = Outgoing;
    type Error = Status;

    fn encode(&mut self, item: Outgoing, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        match item {
            Outgoing::Shared(s) => buf.put_slice(s.encoded()),
            Outgoing::Own(e) => e
                .encode(buf)
                // EncodeBuf grows as needed: prost only errors on a full fixed buffer.
                .map_err(|e| Status::internal(format!("encoding an event: {e}")))?,
        }
        Ok(())
    }
}

type RequestDecoder = <tonic_prost::ProstCodec<pb::Event, pb::SubscribeRequest> as Codec>::Decoder;

/// Decodes like prost (the generated code's decoder).
pub struct SubscribeDecoder(RequestDecoder);

impl Decoder for SubscribeDecoder {
    type Item = pb::SubscribeRequest;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        self.0.decode(buf)
    }
}

impl Codec for EventsCodec {
    type Encode = Outgoing;
    type Decode = pb::SubscribeRequest;
    type Encoder = OutgoingEncoder;
    type Decoder = SubscribeDecoder;

    fn encoder(&mut self) -> OutgoingEncoder {
        OutgoingEncoder
    }

    fn decoder(&mut self) -> SubscribeDecoder {
        SubscribeDecoder(
            tonic_prost::ProstCodec::<pb::Event, pb::SubscribeRequest>::default().decoder(),
        )
    }
}

/// The `switchboard.v1.Events` service, routed by hand (see the module doc).
#[derive(Clone)]
pub struct EventsServer {
    inner: Arc<EventsService>,
}

impl EventsServer {
    pub fn new(service: EventsService) -> EventsServer {
        EventsServer {
            inner: Arc::new(service),
        }
    }
}

impl tonic::server::NamedService for EventsServer {
    const NAME: &'static str = pb::events_server::SERVICE_NAME;
}

struct SubscribeSvc(Arc<EventsService>);

impl tonic::server::ServerStreamingService<pb::SubscribeRequest> for SubscribeSvc {
    type Response = Outgoing;
    type ResponseStream = super::events::EventStream;
    type Future = BoxFuture<tonic::Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: tonic::Request<pb::SubscribeRequest>) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move { inner.subscribe(request) })
    }
}

impl<B> Service<http::Request<B>> for EventsServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != "/switchboard.v1.Events/Subscribe" {
            // What the generated router answers for a method it does not know.
            return Box::pin(async move {
                Ok(Status::unimplemented("switchboard.v1.Events has only Subscribe").into_http())
            });
        }
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(EventsCodec);
            Ok(grpc.server_streaming(SubscribeSvc(inner), req).await)
        })
    }
}
