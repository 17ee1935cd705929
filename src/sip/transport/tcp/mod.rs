//! TCP: accept loop with a per-IP connection cap; one task per connection that frames the
//! stream by Content-Length, answers CRLF keep-alive pings, and closes idle connections.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use dashmap::DashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{NetEvent, TcpLimits};
use crate::sip::message::{frame_stream, Frame};
use crate::sip::{Peer, TransportKind};

/// TCP connection ids start high so they never collide with UDP socket ids in `Peer::conn`.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1 << 32);

pub async fn accept_loop(
    listener: TcpListener,
    limits: TcpLimits,
    conns: Arc<DashMap<u64, mpsc::Sender<Bytes>>>,
    per_ip: Arc<DashMap<IpAddr, usize>>,
    inbound: mpsc::Sender<NetEvent>,
) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "tcp accept failed");
                continue;
            }
        };
        let ip = addr.ip();
        {
            let mut n = per_ip.entry(ip).or_insert(0);
            if *n >= limits.max_connections_per_ip {
                tracing::warn!(source = %ip, limit = limits.max_connections_per_ip, "security: tcp connection cap reached; refusing");
                continue;
            }
            *n += 1;
        }
        let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(256);
        conns.insert(id, tx);
        let peer = Peer {
            transport: TransportKind::Tcp,
            addr,
            conn: Some(id),
        };
        let (conns, per_ip, inbound, limits) = (
            conns.clone(),
            per_ip.clone(),
            inbound.clone(),
            limits.clone(),
        );
        tokio::spawn(async move {
            if let Err(e) = serve(stream, peer, rx, inbound, &limits).await {
                tracing::debug!(peer = %addr, error = %e, "tcp connection ended");
            }
            conns.remove(&id);
            if let Some(mut n) = per_ip.get_mut(&ip) {
                *n = n.saturating_sub(1);
            }
            per_ip.remove_if(&ip, |_, n| *n == 0);
        });
    }
}

async fn serve(
    mut stream: TcpStream,
    peer: Peer,
    mut outbound: mpsc::Receiver<Bytes>,
    inbound: mpsc::Sender<NetEvent>,
    limits: &TcpLimits,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(8192);
    loop {
        tokio::select! {
            read = tokio::time::timeout(limits.idle_timeout, stream.read_buf(&mut buf)) => {
                let n = match read {
                    Ok(r) => r?,
                    Err(_) => {
                        tracing::debug!(peer = %peer.addr, "tcp idle timeout");
                        return Ok(());
                    }
                };
                if n == 0 {
                    return Ok(());
                }
                loop {
                    match frame_stream(&buf) {
                        Frame::Incomplete => break,
                        Frame::Ping(len) => {
                            buf.advance(len);
                            stream.write_all(b"\r\n").await?;
                        }
                        Frame::Skip(len) => buf.advance(len),
                        Frame::Message(len) => {
                            let bytes = buf.split_to(len).freeze();
                            if inbound.send(NetEvent::Message { bytes, peer }).await.is_err() {
                                return Ok(());
                            }
                        }
                        Frame::Invalid(e) => {
                            tracing::info!(peer = %peer.addr, error = %e, "unframeable tcp stream; closing");
                            return Ok(());
                        }
                    }
                }
            }
            out = outbound.recv() => match out {
                Some(bytes) => stream.write_all(&bytes).await?,
                None => return Ok(()),
            },
        }
    }
}
