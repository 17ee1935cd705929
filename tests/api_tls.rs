//! The gRPC API over TLS (`[api] tls`): a client trusting the server's certificate calls it;
//! a plaintext client gets nowhere.

mod common;

use common::*;

use std::time::Duration;

use switchboard::api::pb;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic::Request;

const TOKEN: &str = "tls-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_tls_with_the_configured_certificate() {
    let dir = temp_dir();
    let (port, api_port) = (free_port(), free_port());
    // Invariant: generating a key and a self-signed certificate cannot fail with ring.
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = ck.cert.pem();
    std::fs::write(dir.path().join("api-cert.pem"), &cert_pem).unwrap();
    std::fs::write(
        dir.path().join("api-key.pem"),
        ck.signing_key.serialize_pem(),
    )
    .unwrap();
    let extra = format!(
        r#"[api]
listen = "127.0.0.1:{api_port}"
tokens = [{{ token = "{TOKEN}", scopes = ["read"] }}]
tls = {{ cert = "api-cert.pem", key = "api-key.pem" }}
"#
    );
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, &extra),
    );
    assert!(
        d.wait_log("tls=true", Duration::from_secs(5)),
        "{}",
        d.log_text()
    );

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
