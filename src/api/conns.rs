//! Open connections to the API port, in all and per source IP. A connection holds a
//! `ConnPermit` from accept until it is dropped (closed), so a slot is returned on every path
//! out, including a failed handshake.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::ApiLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_connections` are open.
    Total,
    /// `max_connections_per_ip` are open from this source.
    PerIp,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Total => "api.max_connections",
            Refused::PerIp => "api.max_connections_per_ip",
        }
    }
}

#[derive(Debug)]
pub struct ConnCounts {
    max: usize,
    max_per_ip: usize,
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl ConnCounts {
    pub fn new(limits: &ApiLimits) -> ConnCounts {
        ConnCounts {
            max: limits.max_connections,
            max_per_ip: limits.max_connections_per_ip,
            total: 0,
            per_ip: HashMap::new(),
        }
    }

    pub fn try_open(&mut self, ip: IpAddr) -> Result<(), Refused> {
        if self.total >= self.max {
            return Err(Refused::Total);
        }
        let n = self.per_ip.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            return Err(Refused::PerIp);
        }
        *n += 1;
        self.total += 1;
        Ok(())
    }

    pub fn close(&mut self, ip: IpAddr) {
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            self.total -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.total
    }

    #[cfg(test)]
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.per_ip.get(&ip).copied().unwrap_or(0)
    }
}

/// Shared by the accept task and every connection's permit.
pub type SharedCounts = Arc<Mutex<ConnCounts>>;

/// One open connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnPermit {
    counts: SharedCounts,
    ip: IpAddr,
}

impl ConnPermit {
    pub fn acquire(counts: &SharedCounts, ip: IpAddr) -> Result<ConnPermit, Refused> {
        // Poisoning cannot leave the counts half-updated (no panics inside): carry on.
        counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_open(ip)?;
        Ok(ConnPermit {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .close(self.ip);
    }
}

/// At most one line per `every` about refused connections, carrying how many were refused
/// since the previous line (a flood of connections must not become a flood of log lines).
#[derive(Debug)]
pub struct RefusalLog {
    every: Duration,
    last: Option<Instant>,
    pending: u64,
}

impl RefusalLog {
    pub fn new(every: Duration) -> RefusalLog {
        RefusalLog {
            every,
            last: None,
            pending: 0,
        }
    }

    /// One more refusal; `Some(count)` when a line is due now.
    pub fn handle_refusal(&mut self, now: Instant) -> Option<u64> {
        self.pending += 1;
        if self.last.is_some_and(|t| now < t + self.every) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_ip: usize) -> ApiLimits {
        ApiLimits {
            max_connections: max,
            max_connections_per_ip: per_ip,
            ..ApiLimits::default()
        }
    }

    #[test]
    fn each_source_gets_its_cap_and_all_share_the_total() {
        let counts: SharedCounts = Arc::new(Mutex::new(ConnCounts::new(&limits(3, 2))));
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let a1 = ConnPermit::acquire(&counts, a).unwrap();
        let a2 = ConnPermit::acquire(&counts, a).unwrap();
        assert_eq!(ConnPermit::acquire(&counts, a).unwrap_err(), Refused::PerIp);
        let b1 = ConnPermit::acquire(&counts, b).unwrap();
        assert_eq!(ConnPermit::acquire(&counts, b).unwrap_err(), Refused::Total);
        drop(a1);
        let b2 = ConnPermit::acquire(&counts, b).unwrap();
        drop((a2, b1, b2));
        let c = counts.lock().unwrap();
        assert_eq!((c.open(), c.open_from(a), c.open_from(b)), (0, 0, 0));
        assert!(c.per_ip.is_empty(), "closed sources are forgotten");
    }

    #[test]
    fn refusals_are_logged_at_most_once_per_interval_with_their_count() {
        let t0 = Instant::now();
        let mut log = RefusalLog::new(Duration::from_secs(10));
        assert_eq!(log.handle_refusal(t0), Some(1));
        for i in 1..=5 {
            assert_eq!(log.handle_refusal(t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(log.handle_refusal(t0 + Duration::from_secs(10)), Some(6));
    }
}
