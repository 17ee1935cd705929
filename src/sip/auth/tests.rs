use super::*;

const REALM: &str = "switchboard.local";
/// Where the tests' challenges go and their answers come from.
const PHONE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10));

fn auth(t0: Instant) -> Authenticator {
    Authenticator::new(
        t0,
        REALM,
        [7; 32],
        Duration::from_secs(300),
        vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
        1,
    )
}

fn creds(pw: &str) -> Option<UserCredentials> {
    Some(UserCredentials {
        password: Some(pw.into()),
        ..Default::default()
    })
}

fn nonce_of(challenge: &str) -> String {
    challenge
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// What a client computes (independent of the verifier's code path).
fn client(
    alg: DigestAlgorithm,
    user: &str,
    pw: &str,
    nonce: &str,
    nc: &str,
    method: &str,
) -> String {
    let h = |s: String| hash(alg, &s);
    let ha1 = h(format!("{user}:{REALM}:{pw}"));
    let ha2 = h(format!("{method}:sip:{REALM}"));
    let resp = h(format!("{ha1}:{nonce}:{nc}:abc:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:{REALM}\", response=\"{resp}\", algorithm={}, cnonce=\"abc\", qop=auth, nc={nc}",
        alg_name(alg)
    )
}

#[test]
fn rfc7616_test_vectors() {
    // RFC 7616 §3.9.1 (HA1 with MD5 and SHA-256, then the response).
    let (user, realm, pw) = ("Mufasa", "http-auth@example.org", "Circle of Life");
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    for (alg, expected) in [
        (DigestAlgorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            DigestAlgorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let ha1 = hash(alg, &format!("{user}:{realm}:{pw}"));
        let ha2 = hash(alg, "GET:/dir/index.html");
        let resp = hash(alg, &format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
        assert_eq!(resp, expected);
    }
}

#[test]
fn challenges_offer_sha256_then_md5_with_one_nonce() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    let ch = a.challenge(t0, false, PHONE);
    assert_eq!(ch.len(), 2);
    assert!(ch[0].contains("algorithm=SHA-256") && ch[1].contains("algorithm=MD5"));
    assert!(ch[0].contains("qop=\"auth\"") && !ch[0].contains("stale"));
    assert_eq!(nonce_of(&ch[0]), nonce_of(&ch[1]));
    assert!(a.challenge(t0, true, PHONE)[0].ends_with("stale=true"));
}

#[test]
fn round_trip_both_algorithms_and_replay() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Md5] {
        let n = nonce_of(&a.challenge(t0, false, PHONE)[0]);
        let h = client(alg, "1001", "pw", &n, "00000001", "REGISTER");
        assert_eq!(
            a.verify(t0, "REGISTER", &h, PHONE, |_| creds("pw")),
            AuthOutcome::Ok {
                username: "1001".into()
            }
        );
        assert_eq!(
            a.verify(t0, "REGISTER", &h, PHONE, |_| creds("pw")),
            AuthOutcome::Failed(AuthFailure::Replay)
        );
        let h2 = client(alg, "1001", "pw", &n, "00000002", "REGISTER");
        assert!(matches!(
            a.verify(t0, "REGISTER", &h2, PHONE, |_| creds("pw")),
            AuthOutcome::Ok { .. }
        ));
    }
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    let n = nonce_of(&a.challenge(t0, false, PHONE)[0]);
    let wrong = client(
        DigestAlgorithm::Md5,
        "1001",
        "nope",
        &n,
        "00000001",
        "REGISTER",
    );
    let unknown = client(
        DigestAlgorithm::Md5,
        "9999",
        "pw",
        &n,
        "00000001",
        "REGISTER",
    );
    let r1 = a.verify(t0, "REGISTER", &wrong, PHONE, |_| creds("pw"));
    let r2 = a.verify(t0, "REGISTER", &unknown, PHONE, |_| None);
    assert_eq!(r1, AuthOutcome::Failed(AuthFailure::BadCredentials));
    assert_eq!(r1, r2);
}

#[test]
fn expired_nonce_is_stale_only_with_right_credentials() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    let n = nonce_of(&a.challenge(t0, false, PHONE)[0]);
    let later = t0 + Duration::from_secs(301);
    let good = client(
        DigestAlgorithm::Sha256,
        "1001",
        "pw",
        &n,
        "00000001",
        "REGISTER",
    );
    assert_eq!(
        a.verify(later, "REGISTER", &good, PHONE, |_| creds("pw")),
        AuthOutcome::Stale
    );
    let bad = client(
        DigestAlgorithm::Sha256,
        "1001",
        "x",
        &n,
        "00000001",
        "REGISTER",
    );
    assert_eq!(
        a.verify(later, "REGISTER", &bad, PHONE, |_| creds("pw")),
        AuthOutcome::Failed(AuthFailure::BadCredentials)
    );
    // Just before expiry it is still fresh.
    let fresh = client(
        DigestAlgorithm::Sha256,
        "1001",
        "pw",
        &n,
        "00000001",
        "REGISTER",
    );
    assert!(matches!(
        a.verify(
            t0 + Duration::from_secs(299),
            "REGISTER",
            &fresh,
            PHONE,
            |_| creds("pw")
        ),
        AuthOutcome::Ok { .. }
    ));
}

#[test]
fn forged_nonce_with_right_password_is_stale_not_ok() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    let forged = "00".repeat(32);
    let h = client(
        DigestAlgorithm::Md5,
        "1001",
        "pw",
        &forged,
        "00000001",
        "REGISTER",
    );
    assert_eq!(
        a.verify(t0, "REGISTER", &h, PHONE, |_| creds("pw")),
        AuthOutcome::Stale
    );
    let other = Authenticator::new(
        t0,
        REALM,
        [8; 32],
        Duration::from_secs(300),
        vec![DigestAlgorithm::Md5],
        2,
    )
    .challenge(t0, false, PHONE);
    let h = client(
        DigestAlgorithm::Md5,
        "1001",
        "pw",
        &nonce_of(&other[0]),
        "00000001",
        "REGISTER",
    );
    assert_eq!(
        a.verify(t0, "REGISTER", &h, PHONE, |_| creds("pw")),
        AuthOutcome::Stale
    );
}

#[test]
fn ha1_only_users_and_realm_and_algorithm_checks() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    let n = nonce_of(&a.challenge(t0, false, PHONE)[0]);
    let md5_only = UserCredentials {
        ha1_md5: Some(hash(DigestAlgorithm::Md5, &format!("1002:{REALM}:pw"))),
        ..Default::default()
    };
    let h = client(
        DigestAlgorithm::Md5,
        "1002",
        "pw",
        &n,
        "00000001",
        "REGISTER",
    );
    assert!(matches!(
        a.verify(t0, "REGISTER", &h, PHONE, |_| Some(md5_only.clone())),
        AuthOutcome::Ok { .. }
    ));
    let h = client(
        DigestAlgorithm::Sha256,
        "1002",
        "pw",
        &n,
        "00000001",
        "REGISTER",
    );
    assert_eq!(
        a.verify(t0, "REGISTER", &h, PHONE, |_| Some(md5_only.clone())),
        AuthOutcome::Failed(AuthFailure::BadCredentials)
    );
    let other_realm = client(
        DigestAlgorithm::Md5,
        "1001",
        "pw",
        &n,
        "00000003",
        "REGISTER",
    )
    .replace(REALM, "evil");
    assert_eq!(
        a.verify(t0, "REGISTER", &other_realm, PHONE, |_| creds("pw")),
        AuthOutcome::Failed(AuthFailure::WrongRealm)
    );
    let sha_only = Authenticator::new(
        t0,
        REALM,
        [7; 32],
        Duration::from_secs(300),
        vec![DigestAlgorithm::Sha256],
        3,
    );
    let mut sha_only = sha_only;
    let h = client(
        DigestAlgorithm::Md5,
        "1001",
        "pw",
        &n,
        "00000004",
        "REGISTER",
    );
    assert_eq!(
        sha_only.verify(t0, "REGISTER", &h, PHONE, |_| creds("pw")),
        AuthOutcome::Failed(AuthFailure::Unsupported)
    );
}

#[test]
fn nonce_counts_are_pruned_after_expiry() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    let n = nonce_of(&a.challenge(t0, false, PHONE)[0]);
    let h = client(
        DigestAlgorithm::Md5,
        "1001",
        "pw",
        &n,
        "00000001",
        "REGISTER",
    );
    assert!(matches!(
        a.verify(t0, "REGISTER", &h, PHONE, |_| creds("pw")),
        AuthOutcome::Ok { .. }
    ));
    let t = a.poll_timeout().unwrap();
    assert_eq!(t, t0 + Duration::from_secs(300));
    a.handle_timeout(t);
    assert!(a.counts.is_empty());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn a_nonce_is_ours_only_for_the_address_it_was_sent_to() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    let n = nonce_of(&a.challenge(t0, false, PHONE)[0]);
    let elsewhere: IpAddr = "198.51.100.4".parse().unwrap();
    let good = client(
        DigestAlgorithm::Sha256,
        "1001",
        "pw",
        &n,
        "00000001",
        "REGISTER",
    );
    let bad = client(
        DigestAlgorithm::Sha256,
        "1001",
        "no",
        &n,
        "00000001",
        "REGISTER",
    );
    // From another address the nonce is foreign: a new challenge, whatever the password,
    // so a spoofer learns nothing and nothing is counted against anybody.
    assert_eq!(
        a.verify(t0, "REGISTER", &bad, elsewhere, |_| creds("pw")),
        AuthOutcome::Stale
    );
    assert_eq!(
        a.verify(t0, "REGISTER", &good, elsewhere, |_| creds("pw")),
        AuthOutcome::Stale
    );
    // From the address it went to, it is judged.
    assert_eq!(
        a.verify(t0, "REGISTER", &bad, PHONE, |_| creds("pw")),
        AuthOutcome::Failed(AuthFailure::BadCredentials)
    );
    assert!(matches!(
        a.verify(t0, "REGISTER", &good, PHONE, |_| creds("pw")),
        AuthOutcome::Ok { .. }
    ));
    // An IPv4-mapped IPv6 source is the same source.
    let mapped: IpAddr = "::ffff:192.0.2.10".parse().unwrap();
    let again = client(
        DigestAlgorithm::Sha256,
        "1001",
        "pw",
        &n,
        "00000002",
        "REGISTER",
    );
    assert!(matches!(
        a.verify(t0, "REGISTER", &again, mapped, |_| creds("pw")),
        AuthOutcome::Ok { .. }
    ));
}

struct Quiet(Authenticator);

impl crate::testutil::Timed for Quiet {
    fn next_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
    fn fire(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
}

#[test]
fn left_alone_after_logins_it_goes_quiet() {
    let t0 = Instant::now();
    let mut a = auth(t0);
    for i in 0..5u64 {
        let at = t0 + Duration::from_secs(i * 70);
        let n = nonce_of(&a.challenge(at, false, PHONE)[0]);
        let h = client(
            DigestAlgorithm::Sha256,
            "1001",
            "pw",
            &n,
            "00000001",
            "REGISTER",
        );
        assert!(matches!(
            a.verify(at, "REGISTER", &h, PHONE, |_| creds("pw")),
            AuthOutcome::Ok { .. }
        ));
    }
    let mut q = Quiet(a);
    crate::testutil::assert_goes_quiet(&mut q, t0 + Duration::from_secs(7200), 5);
    assert_eq!(q.0.poll_timeout(), None);
}
