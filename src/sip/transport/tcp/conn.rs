//! One TCP connection: frames the stream by Content-Length, answers CRLF keep-alive pings,
//! and closes the connection when its time is up (`ReadDeadline`: idle between messages, a
//! deadline per message), when a write is not taken in time, or when its source is banned.

use std::io;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::TcpShared;
use crate::sip::message::{frame_stream, Frame};
use crate::sip::transport::deadline::{Expired, ReadDeadline};
use crate::sip::transport::{NetEvent, TcpLimits};
use crate::sip::Peer;

pub(super) async fn serve(
    mut stream: TcpStream,
    peer: Peer,
    mut outbound: mpsc::Receiver<Bytes>,
    limits: &TcpLimits,
    shared: &TcpShared,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(8192);
    let mut clock = ReadDeadline::new(Instant::now(), limits.timeouts);
    loop {
        let deadline = tokio::time::Instant::from_std(clock.deadline());
        tokio::select! {
            read = stream.read_buf(&mut buf) => {
                if read? == 0 {
                    return Ok(());
                }
                let mut completed = false;
                loop {
                    match frame_stream(&buf) {
                        Frame::Incomplete => break,
                        Frame::Ping(len) => {
                            buf.advance(len);
                            completed = true;
                            write(&mut stream, b"\r\n", limits).await?;
                        }
                        Frame::Skip(len) => {
                            buf.advance(len);
                            completed = true;
                        }
                        Frame::Message(len) => {
                            completed = true;
                            let bytes = buf.split_to(len).freeze();
                            // Banned after the connection was made: the limiter drops its
                            // messages anyway; closing frees the descriptor too.
                            if shared.bans.is_banned(Instant::now(), peer.addr.ip()) {
                                tracing::debug!(peer = %peer.addr, "banned source; closing its tcp connection");
                                return Ok(());
                            }
                            if shared.inbound.send(NetEvent::Message { bytes, peer }).await.is_err() {
                                return Ok(());
                            }
                        }
                        Frame::Invalid(e) => {
                            tracing::info!(peer = %peer.addr, error = %e, "unframeable tcp stream; closing");
                            return Ok(());
                        }
                    }
                }
                clock.handle_read(Instant::now(), completed, message_bytes(&buf));
            }
            () = tokio::time::sleep_until(deadline) => match clock.expired(Instant::now()) {
                Some(Expired::Idle) => {
                    tracing::debug!(peer = %peer.addr, "tcp idle timeout");
                    return Ok(());
                }
                Some(Expired::Message { bytes }) => {
                    let log = shared.slow_log.lock().map(|mut t| t.handle(Instant::now()));
                    // A poisoned lock (a panic while logging): log anyway.
                    if let Some(suppressed) = log.unwrap_or(Some(0)) {
                        tracing::warn!(security = true, source = %peer.addr.ip(), bytes, suppressed, "security: tcp message not completed in time; closing");
                    }
                    return Ok(());
                }
                // Woken a little early: sleep again until the deadline.
                None => {}
            },
            out = outbound.recv() => match out {
                Some(bytes) => write(&mut stream, &bytes, limits).await?,
                None => return Ok(()),
            },
        }
    }
}

/// Buffered bytes of an unfinished message. The start of a keep-alive ping (a lone CRLF)
/// is none: phones that send it alone are idle, not slow.
fn message_bytes(buf: &[u8]) -> usize {
    if b"\r\n\r\n".starts_with(buf) {
        0
    } else {
        buf.len()
    }
}

/// A peer that does not read must not hold the task (and its descriptor) in `write_all`.
async fn write(stream: &mut TcpStream, bytes: &[u8], limits: &TcpLimits) -> io::Result<()> {
    match tokio::time::timeout(limits.timeouts.message_max, stream.write_all(bytes)).await {
        Ok(written) => written,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "peer did not take our message in time",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_a_keepalive_is_not_a_message() {
        assert_eq!(message_bytes(b""), 0);
        assert_eq!(message_bytes(b"\r\n"), 0);
        assert_eq!(message_bytes(b"\r\n\r"), 0);
        assert_eq!(message_bytes(b"REG"), 3);
        assert_eq!(message_bytes(b"\r\nX"), 3);
    }
}
