//! The endpoint driven without sockets or clocks: bytes in, outputs out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;
use crate::sip::TransportKind;

fn cfg(domain: &str) -> EndpointConfig {
    let mut users = HashMap::new();
    users.insert(
        "1001".to_string(),
        UserCredentials {
            password: Some("pw".into()),
            ..Default::default()
        },
    );
    EndpointConfig {
        domain: domain.into(),
        realm: domain.into(),
        user_agent: "switchboard".into(),
        force_rport: true,
        timers: TimerConfig::default(),
        registrar: RegistrarLimits::default(),
        rate_limit: RateLimitConfig::default(),
        nonce_ttl: Duration::from_secs(300),
        algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
        auth_secret: [3; 32],
        users,
        permissions: HashMap::new(),
        display_names: HashMap::new(),
        dialplan: Default::default(),
        trunks: Vec::new(),
        max_calls: 100,
        ring_timeout: Duration::from_secs(60),
        hold_music: crate::media::tones::HOLD.to_string(),
        session_expires: Some(1800),
        min_se: 90,
        codecs: vec![crate::sdp::CodecName::Pcmu, crate::sdp::CodecName::Pcma],
        telephone_event: true,
        media_address: "127.0.0.1".parse().unwrap(),
        ptime_ms: 20,
        port_min: 20000,
        port_max: 20100,
        ivr: Default::default(),
        acd: Default::default(),
        features: Default::default(),
        recording: Default::default(),
        dispositions: Vec::new(),
    }
}

fn src() -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.7:5062".parse().unwrap(),
        conn: Some(0),
    }
}

fn sent(ep: &mut Endpoint) -> Vec<String> {
    std::iter::from_fn(|| ep.poll_output())
        .filter_map(|o| match o {
            Output::Transmit { bytes, .. } => Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => None,
        })
        .collect()
}

fn register(auth: &str) -> String {
    format!(
        "REGISTER sip:d SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{}\r\nFrom: <sip:1001@d>;tag=1\r\nTo: <sip:1001@d>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@192.0.2.7:5062>\r\n{auth}Content-Length: 0\r\n\r\n",
        auth.len()
    )
}

#[test]
fn options_is_answered_and_register_is_challenged_statelessly() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    let opt = "OPTIONS sip:d SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKo\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:d>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    ep.handle_message(t0, opt.as_bytes(), src());
    let out = sent(&mut ep);
    assert!(
        out[0].starts_with("SIP/2.0 200") && out[0].contains("Allow: "),
        "{out:?}"
    );
    assert!(out[0].contains("received=192.0.2.7"), "{out:?}");
    ep.handle_message(t0, register("").as_bytes(), src());
    let out = sent(&mut ep);
    assert!(out[0].starts_with("SIP/2.0 401"));
    assert_eq!(out[0].matches("WWW-Authenticate: Digest").count(), 2);
    // Only the OPTIONS transaction remains: the challenge kept no state.
    assert_eq!(ep.txns.len(), 1);
}

#[test]
fn failed_authentication_names_the_user_tried() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    let auth = "Authorization: Digest username=\"9999\", realm=\"d\", nonce=\"00\", uri=\"sip:d\", response=\"00\", algorithm=MD5, cnonce=\"c\", qop=auth, nc=00000001\r\n";
    ep.handle_message(t0, register(auth).as_bytes(), src());
    let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert!(
        outs.iter().any(|o| matches!(o,
        Output::Security(SecurityEvent::AuthFailed { user: Some(u), .. }) if u == "9999")),
        "{outs:?}"
    );
    assert!(outs.iter().any(|o| matches!(o,
        Output::Transmit { bytes, .. } if bytes.starts_with(b"SIP/2.0 403"))));
}

#[test]
fn reload_keeps_domain_and_realm_but_applies_the_rest() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    let mut same = cfg("d");
    same.registrar.max_contacts_per_aor = 1;
    assert!(ep.reconfigure(same));
    assert_eq!(ep.cfg.registrar.max_contacts_per_aor, 1);
    assert!(
        !ep.reconfigure(cfg("other.example")),
        "a domain change must be reported"
    );
    assert_eq!(ep.cfg.domain, "d");
    assert_eq!(ep.cfg.realm, "d");
    // Challenges still carry the realm the daemon started with.
    ep.handle_message(t0, register("").as_bytes(), src());
    assert!(sent(&mut ep)[0].contains("realm=\"d\""));
}

#[test]
fn a_failed_store_write_answers_500_without_contacts() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    ep.handle_message(t0, register("").as_bytes(), src());
    let challenge = sent(&mut ep).remove(0);
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let h = |s: String| hex::encode(<md5::Md5 as sha2::Digest>::digest(s.as_bytes()));
    let ha1 = h("1001:d:pw".into());
    let ha2 = h("REGISTER:sip:d".into());
    let resp = h(format!("{ha1}:{nonce}:00000001:c:auth:{ha2}"));
    let auth = format!("Authorization: Digest username=\"1001\", realm=\"d\", nonce=\"{nonce}\", uri=\"sip:d\", response=\"{resp}\", algorithm=MD5, cnonce=\"c\", qop=auth, nc=00000001\r\n");
    ep.handle_message(
        t0,
        register(&auth).replace("CSeq: 1", "CSeq: 2").as_bytes(),
        src(),
    );
    let id = std::iter::from_fn(|| ep.poll_output())
        .find_map(|o| match o {
            Output::Persist { id, .. } => Some(id),
            _ => None,
        })
        .expect("the binding is persisted before answering");
    assert!(ep.has_parked());
    ep.handle_store_done(t0, id, false);
    let out = sent(&mut ep);
    assert!(
        out[0].starts_with("SIP/2.0 500") && !out[0].contains("Contact:"),
        "{out:?}"
    );
    assert!(!ep.has_parked());
}
