//! UDP: one receive loop per socket.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::NetEvent;
use crate::sip::{Peer, TransportKind};

pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let std_sock = std::net::UdpSocket::bind(addr)?;
    std_sock.set_nonblocking(true)?;
    UdpSocket::from_std(std_sock)
}

pub async fn recv_loop(sock: Arc<UdpSocket>, id: u64, inbound: mpsc::Sender<NetEvent>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, from)) => {
                // A lone CRLF keep-alive on UDP needs no answer.
                if buf[..n].iter().all(|b| *b == b'\r' || *b == b'\n') {
                    continue;
                }
                let peer = Peer {
                    transport: TransportKind::Udp,
                    addr: from,
                    conn: Some(id),
                };
                let ev = NetEvent::Message {
                    bytes: Bytes::copy_from_slice(&buf[..n]),
                    peer,
                };
                if inbound.send(ev).await.is_err() {
                    return;
                }
            }
            // ICMP port-unreachable surfaces as an error on some platforms: keep serving.
            Err(e) => tracing::debug!(error = %e, "udp recv error"),
        }
    }
}
