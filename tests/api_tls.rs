//! The gRPC API over TLS (`[api] tls`): a client trusting the server's certificate calls it;
//! a plaintext client gets nowhere; a client that completes the TLS handshake but never sends
//! the HTTP/2 preface is closed at the preface deadline.

mod common;

use common::*;

use std::time::Duration;

use switchboard::api::pb;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic::Request;

const TOKEN: &str = "tls-token-0123456789";

/// A self-signed certificate for "localhost" in `dir`, and the daemon serving the API over
/// TLS with it (`api_extra` inside `[api]`); returns the certificate and the API port.
fn start(
    dir: &std::path::Path,
    api_extra: &str,
) -> (Daemon, rcgen::CertifiedKey<rcgen::KeyPair>, u16) {
    let (port, api_port) = (free_port(), free_port());
    // Invariant: generating a key and a self-signed certificate cannot fail with ring.
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("api-cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("api-key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let extra = format!(
        r#"[api]
listen = "127.0.0.1:{api_port}"
tokens = [{{ token = "{TOKEN}", scopes = ["read"] }}]
tls = {{ cert = "api-cert.pem", key = "api-key.pem" }}
{api_extra}
"#
    );
    let d = Daemon::start(dir, port, &test_config(dir, port, TRUSTING, &extra));
    assert!(
        d.wait_log("tls=true", Duration::from_secs(5)),
        "{}",
        d.log_text()
    );
    (d, ck, api_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_tls_with_the_configured_certificate() {
    let dir = temp_dir();
    let (_d, ck, api_port) = start(dir.path(), "");
    let cert_pem = ck.cert.pem();

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let ch = Channel::from_shared(format!("https://127.0.0.1:{api_port}"))
        .unwrap()
        .tls_config(tls)
        .expect("client tls")
        .connect()
        .await
        .expect("TLS connect");
    let mut req = Request::new(pb::ListCallsRequest {});
    req.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let calls = pb::control_client::ControlClient::new(ch)
        .list_calls(req)
        .await
        .expect("list calls over TLS")
        .into_inner()
        .calls;
    assert!(calls.is_empty());

    // Plaintext HTTP/2 to the TLS port fails.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{api_port}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2));
    let refused = match plain.connect().await {
        Err(_) => true,
        Ok(ch) => pb::control_client::ControlClient::new(ch)
            .list_calls(pb::ListCallsRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a plaintext client was served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_that_never_sends_the_preface_is_closed() {
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    use tokio_rustls::rustls::{self, pki_types::ServerName};

    let dir = temp_dir();
    let (d, ck, api_port) = start(dir.path(), "preface_timeout_secs = 1");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", api_port))
        .await
        .unwrap();
    // The handshake completes: the server is a real TLS server ...
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake");
    // ... and with no preface after it, the connection is closed (generous deadline; what
    // the server may send first is read past: only the end of the stream counts).
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 256];
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a TLS connection without the preface was kept; log:\n{}",
        d.log_text()
    );
}
