#![no_main]
//! The Authorization parser and the whole verifier must never panic on any header value.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use switchboard::config::DigestAlgorithm;
use switchboard::sip::auth::{parse_credentials, Authenticator, UserCredentials};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_credentials(text);
    let now = Instant::now();
    let mut auth = Authenticator::new(
        now,
        "switchboard.local",
        [1; 32],
        Duration::from_secs(300),
        vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
        7,
    );
    let creds = UserCredentials { password: Some("pw".into()), ..Default::default() };
    let _ = auth.verify(now, "REGISTER", text, [192, 0, 2, 1].into(), |_| Some(creds));
    auth.handle_timeout(now + Duration::from_secs(301));
});
