//! Invalid bearer tokens per source IP, sans-IO (time comes in as `now`): `auth_failures`
//! within `window` ban the source for `ban`, and what to log is decided here too, so a
//! source guessing tokens costs at most one log line per `log_every` (with a count), never
//! one per guess.
//!
//! Memory: a source is kept while it has a live window, a ban or a log interval running, then
//! forgotten by `handle_timeout`; at most `MAX_SOURCES` are tracked at once.
//! Deadlines: after `handle_timeout(now)` every deadline left is later than `now`, so
//! `poll_timeout` never hands a driver a deadline in the past (which would spin it), and a
//! guard with nothing left to forget returns `None`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::{ApiSecurity, Cidr};

/// Failing sources tracked at once; failures from further ones are neither counted nor
/// logged one by one (`Failure::Untracked`).
pub const MAX_SOURCES: usize = 65_536;

/// At most one failure line per source per this long (the first failure is logged at once).
pub const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub limits: ApiSecurity,
    /// Never banned (their failures are still logged).
    pub trusted: Vec<Cidr>,
    pub log_every: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    pub ip: IpAddr,
    /// Failures within the window that led to it.
    pub failures: u32,
    pub until: Instant,
}

/// What one failure calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Log it now; `count` failures (this one included) since the source's previous line.
    Log { count: u32 },
    /// Counted into the source's next line.
    Quiet,
    /// This failure banned the source: log the ban (it covers the failures not yet logged).
    Banned(Ban),
    /// `MAX_SOURCES` are tracked already: not counted.
    Untracked,
}

/// What `handle_timeout` found due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardEvent {
    /// `count` failures from `ip` not logged yet (its log interval ended).
    Failures { ip: IpAddr, count: u32 },
    /// `ip`'s ban ended.
    Unbanned { ip: IpAddr },
}

#[derive(Debug)]
struct Source {
    window_start: Instant,
    /// Failures since `window_start`.
    failures: u32,
    banned_until: Option<Instant>,
    /// When the last line about this source was logged (its log interval runs from there).
    logged_at: Option<Instant>,
    unlogged: u32,
}

impl Source {
    fn next_deadline(&self, cfg: &GuardConfig) -> Option<Instant> {
        let window_end = (self.failures > 0).then(|| self.window_start + cfg.limits.window);
        let log_end = self.logged_at.map(|t| t + cfg.log_every);
        [self.banned_until, window_end, log_end]
            .into_iter()
            .flatten()
            .min()
    }
}

pub struct AuthGuard {
    cfg: GuardConfig,
    sources: HashMap<IpAddr, Source>,
    next_deadline: Option<Instant>,
    events: VecDeque<GuardEvent>,
}

impl AuthGuard {
    pub fn new(cfg: GuardConfig) -> AuthGuard {
        // Zero durations would make handled deadlines come due again at once.
        debug_assert!(!cfg.limits.window.is_zero() && !cfg.limits.ban.is_zero());
        debug_assert!(!cfg.log_every.is_zero());
        AuthGuard {
            cfg,
            sources: HashMap::new(),
            next_deadline: None,
            events: VecDeque::new(),
        }
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

    /// A request from `ip` carried no valid token.
    pub fn handle_failure(&mut self, now: Instant, ip: IpAddr) -> Failure {
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_SOURCES {
            return Failure::Untracked;
        }
        let trusted = self.trusted(ip);
        let (window, ban, max) = (
            self.cfg.limits.window,
            self.cfg.limits.ban,
            self.cfg.limits.auth_failures,
        );
        let log_every = self.cfg.log_every;
        let s = self.sources.entry(ip).or_insert(Source {
            window_start: now,
            failures: 0,
            banned_until: None,
            logged_at: None,
            unlogged: 0,
        });
        if now >= s.window_start + window {
            s.window_start = now;
            s.failures = 0;
        }
        s.failures += 1;
        s.unlogged += 1;
        let banned = s.banned_until.is_some_and(|t| now < t);
        let outcome = if !trusted && !banned && s.failures >= max {
            let b = Ban {
                ip,
                failures: s.failures,
                until: now + ban,
            };
            s.banned_until = Some(b.until);
            s.failures = 0;
            s.unlogged = 0;
            s.logged_at = Some(now);
            Failure::Banned(b)
        } else if s.logged_at.is_none_or(|t| now >= t + log_every) {
            let count = std::mem::take(&mut s.unlogged);
            s.logged_at = Some(now);
            Failure::Log { count }
        } else {
            Failure::Quiet
        };
        let due = s.next_deadline(&self.cfg);
        self.next_deadline = [self.next_deadline, due].into_iter().flatten().min();
        outcome
    }

    /// When `handle_timeout` has something to do (None: nothing is tracked).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_deadline
    }

    /// End windows, bans and log intervals due by `now`; forget sources with none left.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_deadline.is_none_or(|t| now < t) {
            return;
        }
        let (cfg, events) = (&self.cfg, &mut self.events);
        self.sources.retain(|&ip, s| {
            if s.banned_until.is_some_and(|t| t <= now) {
                s.banned_until = None;
                events.push_back(GuardEvent::Unbanned { ip });
            }
            if s.failures > 0 && s.window_start + cfg.limits.window <= now {
                s.failures = 0;
            }
            if s.logged_at.is_some_and(|t| t + cfg.log_every <= now) {
                if s.unlogged > 0 {
                    let count = std::mem::take(&mut s.unlogged);
                    events.push_back(GuardEvent::Failures { ip, count });
                    s.logged_at = Some(now);
                } else {
                    s.logged_at = None;
                }
            }
            s.next_deadline(cfg).is_some()
        });
        self.next_deadline = self
            .sources
            .values()
            .filter_map(|s| s.next_deadline(&self.cfg))
            .min();
    }

    pub fn poll_event(&mut self) -> Option<GuardEvent> {
        self.events.pop_front()
    }

    /// Sources tracked now.
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(trusted: &[&str]) -> GuardConfig {
        GuardConfig {
            limits: ApiSecurity {
                auth_failures: 3,
                window: Duration::from_secs(60),
                ban: Duration::from_secs(300),
            },
            trusted: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            log_every: Duration::from_secs(10),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Drive the guard like the tokio driver does, until it has nothing left to do; returns
    /// the events and how many deadlines it handled.
    fn run_until_quiet(g: &mut AuthGuard, mut now: Instant) -> (Vec<GuardEvent>, usize) {
        let mut steps = 0;
        while let Some(t) = g.poll_timeout() {
            assert!(t > now, "a deadline not in the future: {t:?} <= {now:?}");
            now = t;
            g.handle_timeout(now);
            steps += 1;
            assert!(steps < 100, "the guard never goes quiet");
        }
        (std::iter::from_fn(|| g.poll_event()).collect(), steps)
    }

    #[test]
    fn the_first_failure_is_logged_then_the_rest_are_summed_per_interval() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(cfg(&["10.0.0.0/8"]));
        let a = ip("10.1.1.1");
        assert_eq!(g.handle_failure(t0, a), Failure::Log { count: 1 });
        for i in 1..5 {
            let now = t0 + Duration::from_secs(i);
            assert_eq!(g.handle_failure(now, a), Failure::Quiet);
        }
        // The interval ended with 4 unlogged: one line says so.
        g.handle_timeout(t0 + Duration::from_secs(10));
        assert_eq!(
            g.poll_event(),
            Some(GuardEvent::Failures { ip: a, count: 4 })
        );
        assert_eq!(g.poll_event(), None);
        // A failure after a quiet interval is logged at once again.
        let later = t0 + Duration::from_secs(25);
        assert_eq!(g.handle_failure(later, a), Failure::Log { count: 1 });
    }

    #[test]
    fn enough_failures_in_the_window_ban_the_source_until_the_ban_ends() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(cfg(&[]));
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        assert_eq!(g.handle_failure(t0, a), Failure::Log { count: 1 });
        assert_eq!(g.handle_failure(t0, a), Failure::Quiet);
        let until = t0 + Duration::from_secs(300);
        assert_eq!(
            g.handle_failure(t0, a),
            Failure::Banned(Ban {
                ip: a,
                failures: 3,
                until
            })
        );
        assert!(g.is_banned(t0, a));
        assert!(!g.is_banned(t0, b), "only the guessing source is banned");
        assert!(g.is_banned(until - Duration::from_millis(1), a));
        assert!(!g.is_banned(until, a), "the ban ends on time even unswept");
        let (events, _) = run_until_quiet(&mut g, t0);
        assert!(
            events.contains(&GuardEvent::Unbanned { ip: a }),
            "{events:?}"
        );
        assert_eq!(g.tracked(), 0);
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_ban() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(cfg(&[]));
        let a = ip("192.0.2.1");
        for i in 0..10u64 {
            let now = t0 + Duration::from_secs(i * 31);
            g.handle_timeout(now);
            assert!(!matches!(g.handle_failure(now, a), Failure::Banned(_)));
        }
        assert!(!g.is_banned(t0 + Duration::from_secs(300), a));
    }

    #[test]
    fn trusted_sources_are_logged_but_never_banned() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(cfg(&["10.0.0.0/8"]));
        let a = ip("10.9.9.9");
        let outcomes: Vec<_> = (0..10).map(|_| g.handle_failure(t0, a)).collect();
        assert_eq!(outcomes[0], Failure::Log { count: 1 });
        assert!(
            outcomes[1..].iter().all(|o| *o == Failure::Quiet),
            "{outcomes:?}"
        );
        assert!(!g.is_banned(t0, a));
    }

    #[test]
    fn a_guard_left_alone_goes_quiet_and_never_offers_a_past_deadline() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(cfg(&[]));
        assert_eq!(g.poll_timeout(), None);
        // 2 failures (logged, then quiet), 3 (banned), 4 (banned, one more while banned).
        for (src, n) in [("192.0.2.1", 2), ("192.0.2.2", 3), ("2001:db8::1", 4)] {
            for k in 0..n {
                g.handle_failure(t0 + Duration::from_millis(k * 700), ip(src));
            }
        }
        let (events, steps) = run_until_quiet(&mut g, t0 + Duration::from_secs(3));
        assert!(steps > 0);
        assert_eq!(g.poll_timeout(), None);
        assert_eq!(g.tracked(), 0);
        for e in [
            GuardEvent::Failures {
                ip: ip("192.0.2.1"),
                count: 1,
            },
            GuardEvent::Unbanned {
                ip: ip("192.0.2.2"),
            },
            GuardEvent::Unbanned {
                ip: ip("2001:db8::1"),
            },
            GuardEvent::Failures {
                ip: ip("2001:db8::1"),
                count: 1,
            },
        ] {
            assert!(events.contains(&e), "{e:?} missing from {events:?}");
        }
        assert_eq!(events.len(), 4, "{events:?}");
    }

    #[test]
    fn an_early_or_repeated_timeout_changes_nothing() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(cfg(&[]));
        g.handle_failure(t0, ip("192.0.2.1"));
        let due = g.poll_timeout().unwrap();
        g.handle_timeout(due - Duration::from_millis(1));
        assert_eq!(g.poll_timeout(), Some(due));
        g.handle_timeout(due);
        let next = g.poll_timeout().unwrap();
        assert!(next > due);
        g.handle_timeout(due);
        assert_eq!(g.poll_timeout(), Some(next));
    }

    #[test]
    fn tracking_is_bounded() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(cfg(&[]));
        for i in 0..MAX_SOURCES as u32 {
            g.handle_failure(t0, IpAddr::from(std::net::Ipv4Addr::from(i)));
        }
        assert_eq!(g.handle_failure(t0, ip("::2")), Failure::Untracked);
        assert_eq!(g.tracked(), MAX_SOURCES);
        // A tracked source is still counted.
        let first = IpAddr::from(std::net::Ipv4Addr::from(0));
        assert_eq!(g.handle_failure(t0, first), Failure::Quiet);
    }
}
