//! One accepted API connection on its way to tonic: TLS (when configured) and the HTTP/2
//! client preface must both be done within the preface deadline, or the connection is closed.
//! The preface is read and checked here, then replayed to hyper, which reads it again.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::conns::ConnPermit;

/// RFC 9113 §3.4: every HTTP/2 client connection starts with these bytes.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A byte stream tonic can serve: plaintext TCP or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Why a connection was closed before tonic got it.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("no HTTP/2 preface within {0:?}")]
    Timeout(Duration),
    #[error("not HTTP/2 (the first bytes are not the client preface)")]
    NotHttp2,
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    #[error("closed before the preface: {0}")]
    Io(#[from] io::Error),
}

/// A connection that sent its preface, holding its slot until dropped.
pub struct ApiConn {
    io: Box<dyn Stream>,
    /// How much of `PREFACE` hyper has been given back so far.
    replayed: usize,
    info: TcpConnectInfo,
    _permit: ConnPermit,
}

impl ApiConn {
    /// TLS (with `tls`) and the preface, within `deadline` from now.
    pub async fn handshake(
        stream: TcpStream,
        tls: Option<TlsAcceptor>,
        permit: ConnPermit,
        deadline: Duration,
    ) -> Result<ApiConn, HandshakeError> {
        // Taken before TLS wraps the socket: tonic's `remote_addr()` reads this.
        let info = stream.connect_info();
        let _ = stream.set_nodelay(true);
        let io = tokio::time::timeout(deadline, async {
            let mut io: Box<dyn Stream> = match tls {
                Some(acceptor) => {
                    Box::new(acceptor.accept(stream).await.map_err(HandshakeError::Tls)?)
                }
                None => Box::new(stream),
            };
            let mut got = [0u8; PREFACE.len()];
            io.read_exact(&mut got).await?;
            if &got != PREFACE {
                return Err(HandshakeError::NotHttp2);
            }
            Ok(io)
        })
        .await
        .map_err(|_| HandshakeError::Timeout(deadline))??;
        Ok(ApiConn {
            io,
            replayed: 0,
            info,
            _permit: permit,
        })
    }
}

impl Connected for ApiConn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for ApiConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.replayed < PREFACE.len() {
            let rest = &PREFACE[self.replayed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            self.replayed += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for ApiConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conns::{ConnCounts, SharedCounts};
    use crate::config::ApiLimits;
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream, SharedCounts) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let counts = Arc::new(Mutex::new(ConnCounts::new(&ApiLimits::default())));
        (client, server, counts)
    }

    fn permit(counts: &SharedCounts) -> ConnPermit {
        ConnPermit::acquire(counts, "127.0.0.1".parse().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_preface_is_checked_then_replayed_with_what_follows() {
        let (mut client, server, counts) = pair().await;
        client.write_all(PREFACE).await.unwrap();
        client.write_all(b"frames").await.unwrap();
        let p = permit(&counts);
        let mut conn = ApiConn::handshake(server, None, p, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            conn.connect_info().remote_addr(),
            Some(client.local_addr().unwrap())
        );
        let mut got = vec![0u8; PREFACE.len() + 6];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..24], PREFACE);
        assert_eq!(&got[24..], b"frames");
        assert_eq!(counts.lock().unwrap().open(), 1);
        drop(conn);
        assert_eq!(counts.lock().unwrap().open(), 0, "closing frees the slot");
    }

    #[tokio::test]
    async fn other_first_bytes_are_refused_and_free_the_slot() {
        let (mut client, server, counts) = pair().await;
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let p = permit(&counts);
        let e = ApiConn::handshake(server, None, p, Duration::from_secs(5)).await;
        assert!(matches!(e, Err(HandshakeError::NotHttp2)), "{:?}", e.err());
        assert_eq!(counts.lock().unwrap().open(), 0);
    }

    #[tokio::test]
    async fn a_silent_connection_times_out() {
        let (_client, server, counts) = pair().await;
        let p = permit(&counts);
        let e = ApiConn::handshake(server, None, p, Duration::from_millis(200)).await;
        assert!(
            matches!(e, Err(HandshakeError::Timeout(_))),
            "{:?}",
            e.err()
        );
        assert_eq!(counts.lock().unwrap().open(), 0);
    }
}
