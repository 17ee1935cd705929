//! Per-source request rate limit and bans, like Kamailio's pike: too many requests from one
//! IP within a window, or too many failed authentications, ban the IP for a while. Sans-IO:
//! time comes in as `now`.
//!
//! Memory: a source is forgotten by the timed sweep once it has no ban and no live window, so
//! what is tracked is bounded by (new sources per second × window) plus the banned ones. The
//! sweep runs from `handle_timeout`, never per packet, so a flood of spoofed sources costs
//! O(1) per packet.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// The `[security]` section is exactly the limiter's configuration.
pub use crate::config::SecurityConfig as RateLimitConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanReason {
    RequestRate,
    AuthFailures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop silently.
    Banned,
    /// This request tipped the source over: drop it and log the ban.
    NewBan(BanReason),
}

#[derive(Debug, Default)]
struct Source {
    window_start: Option<Instant>,
    count: u32,
    failures_start: Option<Instant>,
    failures: u32,
    banned_until: Option<Instant>,
}

pub struct RateLimiter {
    cfg: RateLimitConfig,
    sources: HashMap<IpAddr, Source>,
    next_sweep: Option<Instant>,
}

impl RateLimiter {
    pub fn new(cfg: RateLimitConfig) -> Self {
        RateLimiter {
            cfg,
            sources: HashMap::new(),
            next_sweep: None,
        }
    }

    pub fn set_config(&mut self, cfg: RateLimitConfig) {
        self.cfg = cfg;
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.cfg.trusted.iter().any(|n| n.contains(ip))
    }

    pub fn is_banned(&self, now: Instant, ip: IpAddr) -> bool {
        self.sources
            .get(&ip)
            .and_then(|s| s.banned_until)
            .is_some_and(|t| now < t)
    }

    pub fn check(&mut self, now: Instant, ip: IpAddr) -> Verdict {
        if self.trusted(ip) {
            return Verdict::Allow;
        }
        let (window, limit, ban) = (self.cfg.window, self.cfg.requests, self.cfg.ban);
        let s = self.sources.entry(ip).or_default();
        if s.banned_until.is_some_and(|t| now < t) {
            return Verdict::Banned;
        }
        s.banned_until = None;
        match s.window_start {
            Some(start) if now.saturating_duration_since(start) < window => s.count += 1,
            _ => {
                s.window_start = Some(now);
                s.count = 1;
            }
        }
        if s.count > limit {
            s.banned_until = Some(now + ban);
            s.count = 0;
            s.window_start = None;
            self.schedule(now + ban);
            return Verdict::NewBan(BanReason::RequestRate);
        }
        self.schedule(now + window);
        Verdict::Allow
    }

    /// A failed authentication from `ip`; returns the reason when it bans the source.
    pub fn auth_failed(&mut self, now: Instant, ip: IpAddr) -> Option<BanReason> {
        if self.trusted(ip) {
            return None;
        }
        let (window, limit, ban) = (
            self.cfg.auth_failure_window,
            self.cfg.auth_failures,
            self.cfg.ban,
        );
        let s = self.sources.entry(ip).or_default();
        match s.failures_start {
            Some(start) if now.saturating_duration_since(start) < window => s.failures += 1,
            _ => {
                s.failures_start = Some(now);
                s.failures = 1;
            }
        }
        if s.failures >= limit {
            s.failures = 0;
            s.failures_start = None;
            s.banned_until = Some(now + ban);
            self.schedule(now + ban);
            return Some(BanReason::AuthFailures);
        }
        self.schedule(now + window);
        None
    }

    fn schedule(&mut self, at: Instant) {
        if self.next_sweep.is_none_or(|t| at < t) {
            self.next_sweep = Some(at);
        }
    }

    /// Forget sources with no ban and no live window.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_sweep.is_some_and(|t| now >= t) {
            self.next_sweep = None;
            self.sweep(now);
        }
    }

    fn sweep(&mut self, now: Instant) {
        let (w, fw) = (self.cfg.window, self.cfg.auth_failure_window);
        self.sources.retain(|_, s| {
            s.banned_until.is_some_and(|t| now < t)
                || s.window_start
                    .is_some_and(|t| now.saturating_duration_since(t) < w)
                || s.failures_start
                    .is_some_and(|t| now.saturating_duration_since(t) < fw)
        });
        let next = self
            .sources
            .values()
            .filter_map(|s| {
                [
                    s.banned_until,
                    s.window_start.map(|t| t + w),
                    s.failures_start.map(|t| t + fw),
                ]
                .into_iter()
                .flatten()
                .min()
            })
            .min();
        self.next_sweep = next;
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_sweep
    }

    pub fn tracked(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bans_the_31st_request_in_two_seconds_for_300_seconds() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimitConfig::default());
        let a = ip("192.0.2.1");
        for i in 0..30 {
            assert_eq!(
                rl.check(t0 + Duration::from_millis(i * 60), a),
                Verdict::Allow
            );
        }
        assert_eq!(
            rl.check(t0 + Duration::from_millis(1900), a),
            Verdict::NewBan(BanReason::RequestRate)
        );
        assert_eq!(rl.check(t0 + Duration::from_secs(2), a), Verdict::Banned);
        assert!(rl.is_banned(t0 + Duration::from_secs(301), a));
        assert_eq!(
            rl.check(t0 + Duration::from_millis(301_901), a),
            Verdict::Allow
        );
        // Another source is unaffected.
        assert_eq!(
            rl.check(t0 + Duration::from_secs(2), ip("2001:db8::1")),
            Verdict::Allow
        );
    }

    #[test]
    fn windows_reset() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimitConfig::default());
        let a = ip("192.0.2.1");
        for round in 0..5u64 {
            for i in 0..30 {
                let t = t0 + Duration::from_secs(round * 2) + Duration::from_millis(i);
                assert_eq!(rl.check(t, a), Verdict::Allow);
            }
        }
    }

    #[test]
    fn trusted_sources_are_never_banned() {
        let t0 = Instant::now();
        let cfg = RateLimitConfig {
            trusted: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        };
        let mut rl = RateLimiter::new(cfg);
        for _ in 0..1000 {
            assert_eq!(rl.check(t0, ip("127.0.0.1")), Verdict::Allow);
            assert_eq!(rl.auth_failed(t0, ip("127.0.0.1")), None);
        }
    }

    #[test]
    fn auth_failures_ban() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimitConfig::default());
        let a = ip("2001:db8::7");
        for i in 0..9 {
            assert_eq!(rl.auth_failed(t0 + Duration::from_secs(i), a), None);
        }
        assert_eq!(
            rl.auth_failed(t0 + Duration::from_secs(9), a),
            Some(BanReason::AuthFailures)
        );
        assert_eq!(rl.check(t0 + Duration::from_secs(10), a), Verdict::Banned);
    }

    #[test]
    fn idle_sources_are_forgotten() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimitConfig::default());
        for i in 0..100u8 {
            rl.check(t0, IpAddr::from([10, 0, 0, i]));
        }
        assert_eq!(rl.tracked(), 100);
        let t = rl.poll_timeout().unwrap();
        assert_eq!(t, t0 + Duration::from_secs(2));
        rl.handle_timeout(t);
        assert_eq!(rl.tracked(), 0);
        assert_eq!(rl.poll_timeout(), None);
    }
}
