//! The transports' view of the rate limiter's bans. The limiter lives in the endpoint task
//! and sees messages only; the TCP accept loop needs to know too, so that a banned source
//! cannot hold descriptors. The daemon copies each new ban here.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use dashmap::DashMap;

/// Sweeping expired bans when the map reaches this size (and then twice the live count)
/// keeps its memory proportional to the live bans at O(1) amortized per insert.
const FIRST_SWEEP: usize = 1024;

#[derive(Debug, Clone)]
pub struct SharedBans {
    until: Arc<DashMap<IpAddr, Instant>>,
    sweep_at: Arc<AtomicUsize>,
}

impl Default for SharedBans {
    fn default() -> Self {
        SharedBans {
            until: Arc::new(DashMap::new()),
            sweep_at: Arc::new(AtomicUsize::new(FIRST_SWEEP)),
        }
    }
}

impl SharedBans {
    /// `ip` is banned until `until` (a later ban of the same source extends it).
    pub fn insert(&self, now: Instant, ip: IpAddr, until: Instant) {
        self.until
            .entry(ip)
            .and_modify(|t| *t = (*t).max(until))
            .or_insert(until);
        if self.until.len() >= self.sweep_at.load(Ordering::Relaxed) {
            self.until.retain(|_, t| now < *t);
            let next = (2 * self.until.len()).max(FIRST_SWEEP);
            self.sweep_at.store(next, Ordering::Relaxed);
        }
    }

    pub fn is_banned(&self, now: Instant, ip: IpAddr) -> bool {
        let banned = self.until.get(&ip).is_some_and(|t| now < *t);
        if !banned {
            self.until.remove_if(&ip, |_, t| now >= *t);
        }
        banned
    }

    pub fn len(&self) -> usize {
        self.until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.until.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn a_ban_holds_until_it_ends_and_is_then_forgotten() {
        let t0 = Instant::now();
        let bans = SharedBans::default();
        bans.insert(t0, ip(1), t0 + 300 * S);
        assert!(bans.is_banned(t0 + 299 * S, ip(1)));
        assert!(!bans.is_banned(t0, ip(2)));
        assert!(!bans.is_banned(t0 + 300 * S, ip(1)));
        assert!(bans.is_empty());
    }

    #[test]
    fn a_later_ban_extends_and_an_earlier_one_does_not_shorten() {
        let t0 = Instant::now();
        let bans = SharedBans::default();
        bans.insert(t0, ip(1), t0 + 300 * S);
        bans.insert(t0, ip(1), t0 + 10 * S);
        assert!(bans.is_banned(t0 + 100 * S, ip(1)));
        bans.insert(t0, ip(1), t0 + 900 * S);
        assert!(bans.is_banned(t0 + 800 * S, ip(1)));
    }

    #[test]
    fn expired_bans_of_sources_never_seen_again_are_swept() {
        let t0 = Instant::now();
        let bans = SharedBans::default();
        for n in 0..10_000 {
            bans.insert(t0 + n * S, ip(n), t0 + (n + 5) * S);
        }
        // Only the last five are live; the sweeps keep the map within twice the sweep size.
        assert!(bans.len() <= 2 * FIRST_SWEEP, "{}", bans.len());
        assert!(bans.is_banned(t0 + 9_999 * S, ip(9_999)));
    }
}
