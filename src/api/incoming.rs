//! The API's accept loop, in place of tonic's own: closes connections from banned sources and
//! beyond the connection caps at once, gives each other connection its own task for TLS and
//! the HTTP/2 preface (`conn`), and hands tonic only the connections that got that far.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use super::conn::ApiConn;
use super::conns::{ConnCounts, ConnPermit, RefusalLog};
use super::shield::Shield;
use crate::config::ApiLimits;

/// At most one "connection cap reached" line per this long.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// A failed accept (e.g. out of file descriptors) is retried after this pause, not in a
/// tight loop.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

pub struct Incoming {
    pub listener: TcpListener,
    pub limits: ApiLimits,
    pub tls: Option<TlsAcceptor>,
    pub shield: Arc<Shield>,
}

impl Incoming {
    /// Start accepting; the stream yields connections ready for tonic.
    pub fn spawn(self) -> ReceiverStream<io::Result<ApiConn>> {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(self.run(tx));
        ReceiverStream::new(rx)
    }

    async fn run(self, tx: mpsc::Sender<io::Result<ApiConn>>) {
        let counts = Arc::new(Mutex::new(ConnCounts::new(&self.limits)));
        let mut refusals = RefusalLog::new(REFUSAL_LOG_EVERY);
        loop {
            let (stream, addr) = match self.listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "gRPC API accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            };
            if tx.is_closed() {
                return;
            }
            // An IPv4 client of a dual-stack listener counts (and is trusted) as its IPv4.
            let ip = addr.ip().to_canonical();
            if self.shield.is_banned(ip) {
                // The ban was logged when it started; dropping closes the socket.
                tracing::debug!(peer = %addr, "API connection from a banned source closed");
                continue;
            }
            let permit = match ConnPermit::acquire(&counts, ip) {
                Ok(p) => p,
                Err(refused) => {
                    if let Some(n) = refusals.handle_refusal(Instant::now()) {
                        tracing::warn!(
                            security = true,
                            source = %ip,
                            limit = refused.as_str(),
                            refused = n,
                            "security: API connection cap reached; closing new connections"
                        );
                    }
                    continue;
                }
            };
            tokio::spawn(handshake(
                stream,
                addr,
                self.tls.clone(),
                permit,
                self.limits.preface_timeout,
                tx.clone(),
            ));
        }
    }
}

async fn handshake(
    stream: TcpStream,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    permit: ConnPermit,
    deadline: Duration,
    tx: mpsc::Sender<io::Result<ApiConn>>,
) {
    match ApiConn::handshake(stream, tls, permit, deadline).await {
        // If tonic has stopped, the connection is dropped (closed) with the send.
        Ok(conn) => {
            let _ = tx.send(Ok(conn)).await;
        }
        Err(e) => tracing::debug!(peer = %addr, error = %e, "API connection closed"),
    }
}
