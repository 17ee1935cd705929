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

/// Ask for a challenge from `from` and answer its MD5 offer as `user` with `pw`.
fn answered(ep: &mut Endpoint, now: Instant, from: Peer, user: &str, pw: &str) -> String {
    ep.handle_message(now, register("").as_bytes(), from);
    let challenge = sent(ep)
        .into_iter()
        .find(|m| m.starts_with("SIP/2.0 401"))
        .expect("a 401");
    let md5 = challenge
        .lines()
        .filter_map(|l| l.strip_prefix("WWW-Authenticate: "))
        .find(|v| v.contains("algorithm=MD5"))
        .expect("an MD5 challenge")
        .to_string();
    let value = crate::sip::auth::client::answer(&md5, "REGISTER", "sip:d", user, pw, "c", 1)
        .expect("answerable");
    format!("Authorization: {value}\r\n")
}

fn register_as(user: &str, auth: &str, branch: &str) -> String {
    format!(
        "REGISTER sip:d SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{branch}\r\nFrom: <sip:{user}@d>;tag=1\r\nTo: <sip:{user}@d>\r\nCall-ID: r-{branch}\r\nCSeq: 1 REGISTER\r\nContact: <sip:{user}@192.0.2.7:5062>\r\n{auth}Content-Length: 0\r\n\r\n"
    )
}

fn security(outs: &[Output]) -> Vec<&SecurityEvent> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Security(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[test]
fn failed_authentication_names_the_user_tried() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    let auth = answered(&mut ep, t0, src(), "9999", "guess");
    ep.handle_message(t0, register_as("9999", &auth, "f1").as_bytes(), src());
    let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert!(
        outs.iter().any(|o| matches!(o,
        Output::Security(SecurityEvent::AuthFailed { user: Some(u), .. }) if u == "9999")),
        "{outs:?}"
    );
    assert!(outs.iter().any(|o| matches!(o,
        Output::Transmit { bytes, .. } if bytes.starts_with(b"SIP/2.0 403"))));
}

/// The defect: forged packets with a phone's source address banned the phone.
#[test]
fn forged_failures_from_a_phones_address_never_ban_it() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    // A spoofer cannot see our challenges to the phone: its nonces are made up, or were
    // issued to the spoofer's own address.
    let spoofer = Peer {
        addr: "198.51.100.66:5060".parse().unwrap(),
        ..src()
    };
    let theirs = answered(&mut ep, t0, spoofer, "1001", "guess");
    let made_up = "Authorization: Digest username=\"1001\", realm=\"d\", nonce=\"00\", uri=\"sip:d\", response=\"00\", algorithm=MD5, cnonce=\"c\", qop=auth, nc=00000001\r\n";
    for i in 0..25 {
        let auth = if i % 2 == 0 { made_up } else { theirs.as_str() };
        let t = t0 + Duration::from_millis(100 * i);
        ep.handle_message(
            t,
            register_as("1001", auth, &format!("s{i}")).as_bytes(),
            src(),
        );
        let out = sent(&mut ep);
        assert!(
            out[0].starts_with("SIP/2.0 401"),
            "a new challenge: {out:?}"
        );
    }
    let t = t0 + Duration::from_secs(5);
    assert!(!ep.limiter.is_banned(t, src().addr.ip()));
    let auth = answered(&mut ep, t, src(), "1001", "pw");
    ep.handle_message(t, register_as("1001", &auth, "ok").as_bytes(), src());
    let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert!(
        outs.iter().any(|o| matches!(o, Output::Persist { .. })),
        "the phone registers: {outs:?}"
    );
}

#[test]
fn a_guessing_user_is_banned_from_its_source_but_others_behind_it_are_not() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    let mut bans = Vec::new();
    for i in 0..10 {
        let t = t0 + Duration::from_secs(i);
        let auth = answered(&mut ep, t, src(), "1001", "guess");
        ep.handle_message(
            t,
            register_as("1001", &auth, &format!("g{i}")).as_bytes(),
            src(),
        );
        let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
        bans.extend(security(&outs).into_iter().filter_map(|e| match e {
            SecurityEvent::UserBanned { user, .. } => Some(user.clone()),
            _ => None,
        }));
    }
    assert_eq!(bans, vec!["1001".to_string()]);
    // Even the right password is refused for that user from there now...
    let t = t0 + Duration::from_secs(11);
    let auth = answered(&mut ep, t, src(), "1001", "pw");
    ep.handle_message(t, register_as("1001", &auth, "late").as_bytes(), src());
    assert!(sent(&mut ep)[0].starts_with("SIP/2.0 403"));
    // ...but the source is not banned: the next phone behind the same NAT is answered.
    assert!(!ep.limiter.is_banned(t, src().addr.ip()));
    ep.handle_message(t, register_as("1002", "", "other").as_bytes(), src());
    assert!(sent(&mut ep)[0].starts_with("SIP/2.0 401"));
}

struct Quiet(Endpoint);

impl crate::testutil::Timed for Quiet {
    fn next_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
    fn fire(&mut self, now: Instant) {
        self.0.handle_timeout(now);
        while self.0.poll_output().is_some() {}
    }
}

/// The defect: after one wrong REGISTER the daemon's loop ran at 100 % for a minute.
#[test]
fn after_a_failed_login_and_a_ban_the_endpoint_goes_quiet() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(t0, cfg("d"), 1);
    let auth = answered(&mut ep, t0, src(), "1001", "guess");
    ep.handle_message(t0, register_as("1001", &auth, "bad").as_bytes(), src());
    // And a request-rate ban of another source.
    let flooder = Peer {
        addr: "198.51.100.9:5060".parse().unwrap(),
        ..src()
    };
    for _ in 0..40 {
        ep.handle_message(t0, b"OPTIONS sip:d SIP/2.0\r\n\r\n", flooder);
    }
    while ep.poll_output().is_some() {}
    let mut q = Quiet(ep);
    crate::testutil::assert_goes_quiet(&mut q, t0 + Duration::from_secs(3600), 20);
    assert_eq!(
        q.0.limiter.tracked(),
        0,
        "everything forgotten after the ban"
    );
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
