//! Self-validating nonces: issue time, randomness and a MAC under our secret, so validating
//! one needs no storage and forging one is impossible. The MAC also covers the IP address
//! the challenge was sent to: a nonce is only ours for that source, so a response carrying it
//! could only come from someone who received packets at that address (like Kamailio's
//! `auth_checks` source-IP flag). A spoofer who never sees our challenges cannot produce one.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub struct NonceMint {
    secret: [u8; 32],
    epoch: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum NonceCheck {
    Fresh,
    Expired,
    /// Not one of ours for this source (forged, garbled, issued to another address, or from
    /// before a restart with another secret).
    Foreign,
}

impl NonceMint {
    pub fn new(epoch: Instant, secret: [u8; 32]) -> Self {
        NonceMint { secret, epoch }
    }

    fn mac(&self, body: &[u8], ip: IpAddr) -> [u8; 16] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(body);
        // IPv4 and its IPv6-mapped form are one source (dual-stack sockets report either).
        m.update(&ip.to_canonical().to_string().into_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// A nonce for a challenge sent to `ip`.
    pub fn issue(&self, now: Instant, random: [u8; 8], ip: IpAddr) -> String {
        let ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        let mut body = [0u8; 16];
        body[..8].copy_from_slice(&ms.to_be_bytes());
        body[8..].copy_from_slice(&random);
        let mac = self.mac(&body, ip);
        let mut all = Vec::with_capacity(32);
        all.extend_from_slice(&body);
        all.extend_from_slice(&mac);
        hex::encode(all)
    }

    /// Whether `nonce` is ours, issued to `ip`, and younger than `ttl`; also returns when it
    /// expires.
    pub fn check(
        &self,
        now: Instant,
        nonce: &str,
        ttl: Duration,
        ip: IpAddr,
    ) -> (NonceCheck, Option<Instant>) {
        let Ok(bytes) = hex::decode(nonce) else {
            return (NonceCheck::Foreign, None);
        };
        if bytes.len() != 32 {
            return (NonceCheck::Foreign, None);
        }
        let mac = self.mac(&bytes[..16], ip);
        if !super::ct_eq(&mac, &bytes[16..]) {
            return (NonceCheck::Foreign, None);
        }
        let mut ms = [0u8; 8];
        ms.copy_from_slice(&bytes[..8]);
        let issued = self.epoch + Duration::from_millis(u64::from_be_bytes(ms));
        if issued > now {
            return (NonceCheck::Foreign, None);
        }
        let expires = issued + ttl;
        if now >= expires {
            (NonceCheck::Expired, Some(expires))
        } else {
            (NonceCheck::Fresh, Some(expires))
        }
    }
}
