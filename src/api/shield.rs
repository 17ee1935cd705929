//! The tokio side of `guard`: one `AuthGuard` shared by the services (behind a mutex never
//! held across an await), the security log lines it decides on, and a task that runs its
//! timers.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use super::guard::{AuthGuard, Failure, GuardConfig, GuardEvent};

pub struct Shield {
    guard: Mutex<AuthGuard>,
    /// Rung when a failure brings the guard's next deadline forward.
    wake: Notify,
    ban_secs: u64,
}

impl Shield {
    pub fn new(cfg: GuardConfig) -> Arc<Shield> {
        let ban_secs = cfg.limits.ban.as_secs();
        Arc::new(Shield {
            guard: Mutex::new(AuthGuard::new(cfg)),
            wake: Notify::new(),
            ban_secs,
        })
    }

    fn guard(&self) -> MutexGuard<'_, AuthGuard> {
        // The guard's methods do not panic midway: a poisoned lock still holds a whole state.
        self.guard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_banned(&self, ip: IpAddr) -> bool {
        self.guard().is_banned(Instant::now(), ip)
    }

    /// A request from `ip` had no valid token (`reason` says how; never the token itself).
    pub fn record_failure(&self, ip: IpAddr, reason: &'static str) {
        let (outcome, earlier) = {
            let mut g = self.guard();
            let before = g.poll_timeout();
            let outcome = g.handle_failure(Instant::now(), ip);
            (outcome, g.poll_timeout() != before)
        };
        if earlier {
            self.wake.notify_one();
        }
        match outcome {
            Failure::Log { count } => tracing::warn!(
                security = true,
                source = %ip,
                failures = count,
                %reason,
                "security: API request with an invalid bearer token refused"
            ),
            Failure::Banned(ban) => tracing::warn!(
                security = true,
                source = %ip,
                failures = ban.failures,
                ban_secs = self.ban_secs,
                %reason,
                "security: API source banned for repeated invalid bearer tokens"
            ),
            Failure::Quiet => {}
            Failure::Untracked => {
                tracing::debug!(source = %ip, %reason, "API auth failure (too many sources to track)")
            }
        }
    }

    /// Run the guard's timers: summary lines for failures not logged yet, ends of bans, and
    /// forgetting quiet sources. Runs as long as the server.
    pub async fn run_timers(self: Arc<Self>) {
        loop {
            let next = self.guard().poll_timeout();
            match next {
                Some(t) => tokio::select! {
                    _ = tokio::time::sleep_until(t.into()) => {}
                    _ = self.wake.notified() => {}
                },
                None => self.wake.notified().await,
            }
            let events: Vec<GuardEvent> = {
                let mut g = self.guard();
                g.handle_timeout(Instant::now());
                std::iter::from_fn(|| g.poll_event()).collect()
            };
            for e in events {
                match e {
                    GuardEvent::Failures { ip, count } => tracing::warn!(
                        security = true,
                        source = %ip,
                        failures = count,
                        "security: API requests with invalid bearer tokens refused"
                    ),
                    GuardEvent::Unbanned { ip } => {
                        tracing::info!(security = true, source = %ip, "API source ban ended")
                    }
                }
            }
        }
    }
}
