//! The gRPC server: Events, Control, the standard health service and reflection (so
//! grpcurl-style tools can list and call everything without the .proto files), served on
//! our own accept loop (`incoming`: connection caps, bans, TLS and the preface deadline).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::command::ApiRequest;
use super::control::ControlService;
use super::events::EventsService;
use super::guard::{GuardConfig, LOG_EVERY};
use super::incoming::Incoming;
use super::shield::Shield;
use super::tls::TlsSetupError;
use super::{pb, BusReader, Tokens};
use crate::config::{ApiLimits, ApiSecurity, Cidr};

/// What the server needs from the daemon.
pub struct Server {
    pub bus: BusReader,
    pub tokens: Tokens,
    pub commands: mpsc::Sender<ApiRequest>,
    /// Serve TLS with this certificate and key (plaintext without).
    pub tls: Option<crate::config::ApiTls>,
    /// Connection caps and the preface deadline (`[api]`).
    pub limits: ApiLimits,
    /// Bans for invalid tokens (`[api.security]`), never for `trusted` sources.
    pub security: ApiSecurity,
    pub trusted: Vec<Cidr>,
}

/// Bind the API's address (the daemon does it before serving, so a taken port fails start).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// A server ready to run: its TLS identity (if any) has been checked.
pub struct Ready {
    router: tonic::transport::server::Router,
    limits: ApiLimits,
    tls: Option<TlsAcceptor>,
    shield: Arc<Shield>,
}

impl Ready {
    /// Serve on `listener` until the runtime stops.
    pub async fn serve(self, listener: TcpListener) -> Result<(), tonic::transport::Error> {
        tokio::spawn(self.shield.clone().run_timers());
        let incoming = Incoming {
            listener,
            limits: self.limits,
            tls: self.tls,
            shield: self.shield,
        }
        .spawn();
        self.router.serve_with_incoming(incoming).await
    }
}

impl Server {
    /// Build the services. Fails on a certificate or key rustls refuses (at start, so the
    /// daemon does not run without the API it was configured with).
    pub async fn build(self) -> Result<Ready, TlsSetupError> {
        let tls = self.tls.as_ref().map(super::tls::acceptor).transpose()?;
        let shield = Shield::new(GuardConfig {
            limits: self.security,
            trusted: self.trusted,
            log_every: LOG_EVERY,
        });
        let tokens = Arc::new(self.tokens.guarded(shield.clone()));
        let events = super::codec::EventsServer::new(EventsService {
            bus: self.bus,
            tokens: tokens.clone(),
        });
        let control = pb::control_server::ControlServer::new(ControlService {
            commands: self.commands,
            tokens,
        });
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<super::codec::EventsServer>().await;
        health
            .set_serving::<pb::control_server::ControlServer<ControlService>>()
            .await;
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let mut router = tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(events)
            .add_service(control);
        // v1 and the older v1alpha: tools of either generation can list the services.
        match (reflection().build_v1(), reflection().build_v1alpha()) {
            (Ok(v1), Ok(v1alpha)) => router = router.add_service(v1).add_service(v1alpha),
            (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "gRPC reflection unavailable"),
        }
        Ok(Ready {
            router,
            limits: self.limits,
            tls,
            shield,
        })
    }
}
