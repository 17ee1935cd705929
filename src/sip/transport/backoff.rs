//! Back-off for a failing accept loop. When descriptors (or kernel memory) run out, accept
//! fails at once for as long as the shortage lasts and the pending connection stays queued:
//! retrying straight away spins a core and starves everything else. Sans-IO: the driver asks
//! how long to pause.

use std::io;
use std::time::Duration;

/// What an accept error says about the next accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptFailure {
    /// The one pending connection went wrong (aborted, reset, refused by a firewall hook):
    /// the next one may be fine, retry at once.
    Connection,
    /// Out of descriptors or memory, or an error we do not know: retrying now would fail
    /// the same way.
    Resources,
}

pub fn classify(e: &io::Error) -> AcceptFailure {
    match e.raw_os_error() {
        Some(libc::ECONNABORTED | libc::ECONNRESET | libc::EINTR | libc::EPERM | libc::EPROTO) => {
            AcceptFailure::Connection
        }
        _ => AcceptFailure::Resources,
    }
}

/// Exponential pause: `min`, doubling per consecutive resource failure up to `max`; a
/// successful accept starts over.
#[derive(Debug)]
pub struct AcceptBackoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Default for AcceptBackoff {
    /// 10 ms up to 1 s: a shortage that lasts costs at most one failed accept a second, and
    /// a short one delays new clients by little more than it lasted.
    fn default() -> Self {
        AcceptBackoff::new(Duration::from_millis(10), Duration::from_secs(1))
    }
}

impl AcceptBackoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        AcceptBackoff {
            min,
            max,
            next: min,
        }
    }

    /// An accept failed: how long to pause before the next one (zero: retry at once).
    pub fn handle_error(&mut self, failure: AcceptFailure) -> Duration {
        match failure {
            AcceptFailure::Connection => Duration::ZERO,
            AcceptFailure::Resources => {
                let pause = self.next;
                self.next = (self.next * 2).min(self.max);
                pause
            }
        }
    }

    pub fn handle_success(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn descriptor_exhaustion_pauses_longer_each_time_up_to_the_cap() {
        let mut b = AcceptBackoff::default();
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        let pauses: Vec<_> = (0..9).map(|_| b.handle_error(classify(&emfile))).collect();
        assert_eq!(
            pauses,
            [10, 20, 40, 80, 160, 320, 640, 1000, 1000].map(|n| n * MS)
        );
        b.handle_success();
        assert_eq!(b.handle_error(AcceptFailure::Resources), 10 * MS);
    }

    #[test]
    fn every_shortage_backs_off_and_a_lost_connection_does_not() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(classify(&e), AcceptFailure::Resources, "{e}");
        }
        let aborted = io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert_eq!(classify(&aborted), AcceptFailure::Connection);
        let mut b = AcceptBackoff::default();
        assert_eq!(b.handle_error(AcceptFailure::Connection), Duration::ZERO);
        // A lost connection neither pauses nor resets a running back-off.
        b.handle_error(AcceptFailure::Resources);
        b.handle_error(AcceptFailure::Connection);
        assert_eq!(b.handle_error(AcceptFailure::Resources), 20 * MS);
    }
}
