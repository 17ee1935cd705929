//! Transport drivers (tokio): UDP sockets and TCP connections. They only move bytes: framing
//! and parsing happen in `sip::message`, decisions in the sans-IO endpoint.

mod backoff;
mod bans;
mod budget;
mod deadline;
mod tcp;
mod throttle;
mod udp;

pub use bans::SharedBans;
pub use budget::{Budget, BudgetError, ConnectionCap};
pub use deadline::StreamTimeouts;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use dashmap::DashMap;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Peer, TransportKind};

/// What the transports deliver to the endpoint task.
#[derive(Debug)]
pub enum NetEvent {
    /// A datagram or a framed stream message.
    Message { bytes: Bytes, peer: Peer },
}

#[derive(Debug, Clone)]
pub struct TcpLimits {
    pub timeouts: StreamTimeouts,
    pub max_connections_per_ip: usize,
    /// Across all sources and listeners; kept below the descriptor limit (`Budget`).
    pub max_connections: usize,
}

/// The bound sockets and the live TCP connections.
pub struct Transports {
    udp: Vec<Arc<UdpSocket>>,
    conns: Arc<DashMap<u64, mpsc::Sender<Bytes>>>,
    tasks: Vec<JoinHandle<()>>,
    local: Vec<(TransportKind, SocketAddr)>,
}

impl Transports {
    /// Bind every listen address; `inbound` receives every message. TCP connections from
    /// a source in `bans` are refused.
    pub async fn bind(
        listen: &[(TransportKind, SocketAddr)],
        tcp_limits: TcpLimits,
        bans: SharedBans,
        inbound: mpsc::Sender<NetEvent>,
    ) -> std::io::Result<Transports> {
        let tcp_shared = tcp::TcpShared::new(&tcp_limits, bans, inbound.clone());
        let mut t = Transports {
            udp: Vec::new(),
            conns: tcp_shared.conns.clone(),
            tasks: Vec::new(),
            local: Vec::new(),
        };
        for (kind, addr) in listen {
            match kind {
                TransportKind::Udp => {
                    let sock = Arc::new(udp::bind(*addr)?);
                    let local = sock.local_addr()?;
                    let id = t.udp.len() as u64;
                    t.tasks.push(tokio::spawn(udp::recv_loop(
                        sock.clone(),
                        id,
                        inbound.clone(),
                    )));
                    t.udp.push(sock);
                    t.local.push((TransportKind::Udp, local));
                }
                TransportKind::Tcp => {
                    let listener = tokio::net::TcpListener::bind(addr).await?;
                    t.local.push((TransportKind::Tcp, listener.local_addr()?));
                    t.tasks.push(tokio::spawn(tcp::accept_loop(
                        listener,
                        tcp_limits.clone(),
                        tcp_shared.clone(),
                    )));
                }
            }
        }
        Ok(t)
    }

    /// Addresses actually bound (ephemeral ports resolved).
    pub fn local_addrs(&self) -> &[(TransportKind, SocketAddr)] {
        &self.local
    }

    /// Send without waiting. UDP drops on a full socket buffer (timers retransmit); TCP queues
    /// on the connection the peer used and drops if that connection is gone or backed up.
    /// Send `bytes`; false when they could not be (counted in the metrics; the transaction
    /// layer's timers handle the loss like any other).
    pub fn send(&self, peer: &Peer, bytes: Bytes) -> bool {
        if !is_sendable(peer.addr.ip()) {
            tracing::warn!(dest = %peer.addr, "refusing to send to a broadcast/multicast/unspecified address");
            return false;
        }
        match peer.transport {
            TransportKind::Udp => {
                let sock = peer
                    .conn
                    .and_then(|i| self.udp.get(i as usize))
                    .or_else(|| self.udp_for(peer.addr));
                let Some(sock) = sock else {
                    return false;
                };
                if let Err(e) = sock.try_send_to(&bytes, peer.addr) {
                    tracing::debug!(dest = %peer.addr, error = %e, "udp send failed");
                    return false;
                }
                true
            }
            TransportKind::Tcp => {
                let sent = peer
                    .conn
                    .and_then(|c| self.conns.get(&c).map(|tx| tx.try_send(bytes).is_ok()));
                if sent != Some(true) {
                    tracing::debug!(dest = %peer.addr, "no usable tcp connection; message dropped");
                    return false;
                }
                true
            }
        }
    }

    fn udp_for(&self, dest: SocketAddr) -> Option<&Arc<UdpSocket>> {
        self.udp
            .iter()
            .find(|s| s.local_addr().is_ok_and(|l| l.is_ipv4() == dest.is_ipv4()))
            .or(self.udp.first())
    }

    /// Stop accepting and receiving (graceful shutdown, step one).
    pub fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.conns.clear();
    }
}

/// RFC 4475 bcast: never answer towards broadcast, multicast or unspecified addresses.
pub fn is_sendable(ip: IpAddr) -> bool {
    crate::netaddr::is_unicast_target(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_and_multicast_are_never_targets() {
        assert!(!is_sendable("255.255.255.255".parse().unwrap()));
        assert!(!is_sendable("224.0.0.1".parse().unwrap()));
        assert!(!is_sendable("0.0.0.0".parse().unwrap()));
        assert!(!is_sendable("ff02::1".parse().unwrap()));
        assert!(is_sendable("127.0.0.1".parse().unwrap()));
        assert!(is_sendable("::1".parse().unwrap()));
    }
}
