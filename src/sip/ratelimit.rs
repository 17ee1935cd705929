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
use std::time::{Duration, Instant};

/// The `[security]` section is exactly the limiter's configuration.
pub use crate::config::SecurityConfig as RateLimitConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanReason {
    RequestRate,
    /// Failed authentications of several users from one source: the whole source is banned.
    AuthFailures,
    /// Failed authentications of one user from one source: only that user is refused from
    /// that source (a phone behind the same NAT keeps working).
    UserAuthFailures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop silently.
    Banned,
    /// This request tipped the source over: drop it and log the ban.
    NewBan(BanReason),
}

/// Longest user name kept as a key: longer names share one entry, so a flood of huge names
/// cannot grow memory beyond the per-source cap times this.
const MAX_USER_KEY: usize = 64;

/// A count of events in a fixed window that starts at the first event.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    start: Option<Instant>,
    count: u32,
}

impl Window {
    /// Count one event at `now`; returns the count in the current window.
    fn hit(&mut self, now: Instant, len: Duration) -> u32 {
        match self.start {
            Some(start) if now.saturating_duration_since(start) < len => self.count += 1,
            _ => {
                self.start = Some(now);
                self.count = 1;
            }
        }
        self.count
    }

    fn reset(&mut self) {
        *self = Window::default();
    }

    /// When this window stops mattering, if it is still live at `now`; clears it otherwise.
    fn live_until(&mut self, now: Instant, len: Duration) -> Option<Instant> {
        let end = self.start? + len;
        if end > now {
            Some(end)
        } else {
            self.reset();
            None
        }
    }
}

/// A ban's end if it still runs at `now`; clears it otherwise.
fn live_ban(ban: &mut Option<Instant>, now: Instant) -> Option<Instant> {
    match *ban {
        Some(t) if t > now => Some(t),
        _ => {
            *ban = None;
            None
        }
    }
}

#[derive(Debug, Default)]
struct Source {
    requests: Window,
    failures: Window,
    banned_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct UserFailures {
    failures: Window,
    banned_until: Option<Instant>,
}

pub struct RateLimiter {
    cfg: RateLimitConfig,
    sources: HashMap<IpAddr, Source>,
    users: HashMap<(IpAddr, String), UserFailures>,
    /// Always in the future after `handle_timeout`: the sweep only ever schedules deadlines
    /// that are still live, so a left-alone limiter goes quiet.
    next_sweep: Option<Instant>,
}

impl RateLimiter {
    pub fn new(cfg: RateLimitConfig) -> Self {
        RateLimiter {
            cfg,
            sources: HashMap::new(),
            users: HashMap::new(),
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
        self.banned_until(now, ip).is_some()
    }

    /// When `ip`'s ban ends, if it is banned at `now` (the driver mirrors bans to the TCP
    /// accept loop until then).
    pub fn banned_until(&self, now: Instant, ip: IpAddr) -> Option<Instant> {
        self.sources
            .get(&ip)
            .and_then(|s| s.banned_until)
            .filter(|&t| now < t)
    }

    /// Whether `user` may not authenticate from `ip` (too many failures of that pair).
    pub fn user_banned(&self, now: Instant, ip: IpAddr, user: &str) -> bool {
        self.users
            .get(&(ip, user_key(user)))
            .and_then(|u| u.banned_until)
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
        if s.requests.hit(now, window) > limit {
            s.banned_until = Some(now + ban);
            s.requests.reset();
            self.schedule(now + ban);
            return Verdict::NewBan(BanReason::RequestRate);
        }
        self.schedule(now + window);
        Verdict::Allow
    }

    /// A failed authentication of `user` from `ip` that could only have come from `ip`
    /// (the caller decides: a connection's handshake or a nonce issued to `ip` proves it).
    /// Returns the ban it causes: the pair's after `auth_failures`, the whole source's after
    /// `auth_failures_per_source` failures of any users.
    pub fn auth_failed(
        &mut self,
        now: Instant,
        ip: IpAddr,
        user: Option<&str>,
    ) -> Option<BanReason> {
        if self.trusted(ip) {
            return None;
        }
        let (window, ban) = (self.cfg.auth_failure_window, self.cfg.ban);
        let s = self.sources.entry(ip).or_default();
        if s.failures.hit(now, window) >= self.cfg.auth_failures_per_source {
            s.failures.reset();
            s.banned_until = Some(now + ban);
            self.schedule(now + ban);
            return Some(BanReason::AuthFailures);
        }
        self.schedule(now + window);
        let u = self
            .users
            .entry((ip, user_key(user.unwrap_or(""))))
            .or_default();
        if u.failures.hit(now, window) >= self.cfg.auth_failures {
            u.failures.reset();
            u.banned_until = Some(now + ban);
            self.schedule(now + ban);
            return Some(BanReason::UserAuthFailures);
        }
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
            self.sweep(now);
        }
    }

    /// Drop what has expired and schedule the next sweep for when the next entry can be
    /// forgotten (the latest of its live deadlines): never a past instant, which would
    /// wake the driver again and again for nothing.
    fn sweep(&mut self, now: Instant) {
        let (w, fw) = (self.cfg.window, self.cfg.auth_failure_window);
        let mut next: Option<Instant> = None;
        let mut keep = |until: Option<Instant>| {
            if let Some(t) = until {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            until.is_some()
        };
        self.sources.retain(|_, s| {
            let until = [
                live_ban(&mut s.banned_until, now),
                s.requests.live_until(now, w),
                s.failures.live_until(now, fw),
            ]
            .into_iter()
            .flatten()
            .max();
            keep(until)
        });
        self.users.retain(|_, u| {
            let until = [
                live_ban(&mut u.banned_until, now),
                u.failures.live_until(now, fw),
            ]
            .into_iter()
            .flatten()
            .max();
            keep(until)
        });
        self.next_sweep = next;
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_sweep
    }

    /// Sources and source/user pairs remembered.
    pub fn tracked(&self) -> usize {
        self.sources.len() + self.users.len()
    }
}

fn user_key(user: &str) -> String {
    let mut end = user.len().min(MAX_USER_KEY);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_goes_quiet, Timed};
    use proptest::prelude::*;

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
            assert_eq!(rl.auth_failed(t0, ip("127.0.0.1"), Some("1001")), None);
        }
    }

    #[test]
    fn auth_failures_ban_the_user_from_that_source_only() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimitConfig::default());
        let a = ip("2001:db8::7");
        for i in 0..9 {
            assert_eq!(
                rl.auth_failed(t0 + Duration::from_secs(i), a, Some("1001")),
                None
            );
        }
        assert_eq!(
            rl.auth_failed(t0 + Duration::from_secs(9), a, Some("1001")),
            Some(BanReason::UserAuthFailures)
        );
        let t = t0 + Duration::from_secs(10);
        assert!(rl.user_banned(t, a, "1001"));
        // The source itself, and other users behind it, go on.
        assert_eq!(rl.check(t, a), Verdict::Allow);
        assert!(!rl.user_banned(t, a, "1002"));
        assert!(!rl.user_banned(t, ip("2001:db8::8"), "1001"));
        assert!(!rl.user_banned(t0 + Duration::from_secs(310), a, "1001"));
    }

    #[test]
    fn failures_of_many_users_ban_the_source() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimitConfig::default());
        let a = ip("192.0.2.9");
        for i in 0..29 {
            let user = format!("{}", 2000 + i);
            assert_eq!(rl.auth_failed(t0, a, Some(&user)), None);
        }
        assert_eq!(
            rl.auth_failed(t0, a, Some("9999")),
            Some(BanReason::AuthFailures)
        );
        assert_eq!(rl.check(t0 + Duration::from_secs(1), a), Verdict::Banned);
    }

    #[test]
    fn huge_user_names_share_one_entry() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimitConfig::default());
        let a = ip("192.0.2.9");
        let long = "é".repeat(100);
        rl.auth_failed(t0, a, Some(&format!("{long}x")));
        rl.auth_failed(t0, a, Some(&format!("{long}y")));
        assert_eq!(rl.tracked(), 2, "one source and one user entry");
    }

    struct Limiter(RateLimiter);

    impl Timed for Limiter {
        fn next_timeout(&self) -> Option<Instant> {
            self.0.poll_timeout()
        }
        fn fire(&mut self, now: Instant) {
            self.0.handle_timeout(now);
        }
    }

    /// The defect: one failed login kept a core at 100 % for a minute, a ban for its 300 s.
    #[test]
    fn one_failed_login_then_silence_wakes_the_driver_only_a_few_times() {
        let t0 = Instant::now();
        let mut rl = Limiter(RateLimiter::new(RateLimitConfig::default()));
        let a = ip("192.0.2.1");
        rl.0.check(t0, a);
        rl.0.auth_failed(t0, a, Some("1001"));
        let wakes = assert_goes_quiet(&mut rl, t0 + Duration::from_secs(3600), 4);
        assert!(wakes >= 1);
        assert_eq!(rl.0.tracked(), 0);
        assert_eq!(rl.0.poll_timeout(), None);
    }

    #[test]
    fn a_ban_then_silence_goes_quiet_and_is_forgotten_after_it_ends() {
        let t0 = Instant::now();
        let mut rl = Limiter(RateLimiter::new(RateLimitConfig::default()));
        let a = ip("192.0.2.1");
        for _ in 0..31 {
            rl.0.check(t0, a);
        }
        for i in 0..10 {
            rl.0.auth_failed(t0, ip("192.0.2.2"), Some(&i.to_string()));
        }
        assert!(rl.0.is_banned(t0, a));
        assert_goes_quiet(&mut rl, t0 + Duration::from_secs(3600), 4);
        assert_eq!(rl.0.tracked(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Request(u8),
        Failure(u8, u8),
        Timeout,
    }

    fn op() -> impl Strategy<Value = (u64, Op)> {
        let kind = prop_oneof![
            any::<u8>().prop_map(Op::Request),
            (any::<u8>(), any::<u8>()).prop_map(|(s, u)| Op::Failure(s, u)),
            Just(Op::Timeout),
        ];
        (0u64..5_000, kind)
    }

    proptest! {
        /// Whatever happened before, a limiter left alone goes quiet and forgets everything.
        #[test]
        fn any_history_then_silence_goes_quiet(ops in proptest::collection::vec(op(), 0..300)) {
            let t0 = Instant::now();
            let cfg = RateLimitConfig { requests: 3, auth_failures: 2, auth_failures_per_source: 4, ..Default::default() };
            let mut rl = Limiter(RateLimiter::new(cfg));
            let mut now = t0;
            for (dt, op) in ops {
                now += Duration::from_millis(dt);
                let src = |s: u8| IpAddr::from([192, 0, 2, s % 8]);
                match op {
                    Op::Request(s) => { rl.0.check(now, src(s)); }
                    Op::Failure(s, u) => { rl.0.auth_failed(now, src(s), Some(&(u % 4).to_string())); }
                    Op::Timeout => rl.0.handle_timeout(now),
                }
            }
            // Each wake forgets at least one entry, except perhaps the first.
            let horizon = now + Duration::from_secs(3600);
            let most = rl.0.tracked() + 1;
            assert_goes_quiet(&mut rl, horizon, most);
            prop_assert_eq!(rl.0.tracked(), 0);
        }
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
