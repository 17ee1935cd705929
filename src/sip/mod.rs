//! SIP: message boundary, transports, sans-IO transactions, digest auth, registrar.

pub use rsipstack::rsip;

pub mod auth;
pub mod endpoint;
pub mod message;
pub mod ratelimit;
pub mod registrar;
pub mod transaction;
pub mod transport;
pub mod uas;

use std::net::SocketAddr;

/// Which transport a message travelled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    Udp,
    Tcp,
}

impl TransportKind {
    /// Reliable transports switch off retransmission timers (RFC 3261 §17).
    pub fn is_reliable(self) -> bool {
        matches!(self, TransportKind::Tcp)
    }

    pub fn as_via_str(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
        }
    }
}

/// The other end of a message: transport, address, and the local socket it used: for UDP
/// the index of our socket, for TCP the connection id (ids start at 2^32 so they never clash);
/// responses go back the same way (RFC 3261 §18.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: TransportKind,
    pub addr: SocketAddr,
    pub conn: Option<u64>,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Self {
        Peer {
            transport: TransportKind::Udp,
            addr,
            conn: None,
        }
    }
}
