//! When a TCP connection has had its chance. Between messages the idle timeout runs from the
//! last complete message (or keep-alive). Once the first byte of a message arrives, the whole
//! message (header and body) is due within `initial`, extended by a second per `min_rate`
//! bytes received but never beyond `max` (Apache mod_reqtimeout's `header=10-30,MinRate=500`).
//! A client trickling a byte at a time so holds a connection for seconds, not days.
//! Sans-IO: the driver feeds what it read and sleeps until `deadline()`.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimeouts {
    /// Nothing received between messages for this long closes the connection.
    pub idle: Duration,
    /// A started message must be complete within this long ...
    pub message: Duration,
    /// ... plus a second per `min_rate` bytes received (0: no extension) ...
    pub min_rate: u64,
    /// ... but never later than this after its first byte.
    pub message_max: Duration,
}

/// Why a connection's time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    Idle,
    /// A message started and did not complete in time (`bytes` of it had arrived).
    Message {
        bytes: usize,
    },
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle { since: Instant },
    Message { started: Instant, bytes: usize },
}

#[derive(Debug)]
pub struct ReadDeadline {
    t: StreamTimeouts,
    state: State,
}

impl ReadDeadline {
    pub fn new(now: Instant, t: StreamTimeouts) -> Self {
        ReadDeadline {
            t,
            state: State::Idle { since: now },
        }
    }

    /// A read was framed: `completed` says whether it finished a message (or a keep-alive),
    /// `pending` how many bytes of an unfinished message are buffered (0: none).
    pub fn handle_read(&mut self, now: Instant, completed: bool, pending: usize) {
        self.state = match self.state {
            _ if pending == 0 => State::Idle { since: now },
            State::Message { started, .. } if !completed => State::Message {
                started,
                bytes: pending,
            },
            // A new message began with this read (its bytes may have come with the end of
            // the previous one).
            _ => State::Message {
                started: now,
                bytes: pending,
            },
        };
    }

    pub fn deadline(&self) -> Instant {
        match self.state {
            State::Idle { since } => since + self.t.idle,
            State::Message { started, bytes } => {
                let earned = match self.t.min_rate {
                    0 => Duration::ZERO,
                    rate => Duration::from_secs(bytes as u64 / rate),
                };
                started + (self.t.message + earned).min(self.t.message_max)
            }
        }
    }

    /// Whether the connection's time is up at `now`, and why.
    pub fn expired(&self, now: Instant) -> Option<Expired> {
        if now < self.deadline() {
            return None;
        }
        Some(match self.state {
            State::Idle { .. } => Expired::Idle,
            State::Message { bytes, .. } => Expired::Message { bytes },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn timeouts() -> StreamTimeouts {
        StreamTimeouts {
            idle: 600 * S,
            message: 10 * S,
            min_rate: 500,
            message_max: 30 * S,
        }
    }

    #[test]
    fn a_byte_per_second_does_not_restart_the_clock() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, timeouts());
        for i in 1..=9 {
            d.handle_read(t0 + i * S, false, i as usize);
            assert_eq!(d.expired(t0 + i * S), None);
        }
        // The first byte came at t0 + 1 s: ten seconds later the message is overdue.
        assert_eq!(d.deadline(), t0 + 11 * S);
        assert_eq!(d.expired(t0 + 11 * S), Some(Expired::Message { bytes: 9 }));
    }

    #[test]
    fn a_slow_body_counts_against_the_same_deadline() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, timeouts());
        // The header at once, then the body one byte per ten minutes.
        d.handle_read(t0, false, 400);
        d.handle_read(t0 + 600 * S, false, 401);
        assert_eq!(
            d.expired(t0 + 600 * S),
            Some(Expired::Message { bytes: 401 })
        );
    }

    #[test]
    fn bytes_at_the_minimum_rate_earn_time_up_to_the_cap() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, timeouts());
        d.handle_read(t0, false, 1);
        d.handle_read(t0 + 9 * S, false, 5000);
        assert_eq!(d.deadline(), t0 + 20 * S);
        d.handle_read(t0 + 19 * S, false, 60_000);
        assert_eq!(d.deadline(), t0 + 30 * S);
    }

    #[test]
    fn between_messages_the_idle_timeout_applies_from_the_last_one() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, timeouts());
        assert_eq!(d.deadline(), t0 + 600 * S);
        d.handle_read(t0 + 5 * S, false, 100);
        d.handle_read(t0 + 6 * S, true, 0);
        assert_eq!(d.deadline(), t0 + 606 * S);
        assert_eq!(d.expired(t0 + 605 * S), None);
        assert_eq!(d.expired(t0 + 606 * S), Some(Expired::Idle));
    }

    #[test]
    fn the_rest_of_a_read_after_a_complete_message_starts_a_new_one() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, timeouts());
        d.handle_read(t0, false, 100);
        d.handle_read(t0 + 8 * S, true, 20);
        assert_eq!(d.deadline(), t0 + 18 * S);
    }

    #[test]
    fn without_a_minimum_rate_the_message_deadline_is_fixed() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(
            t0,
            StreamTimeouts {
                min_rate: 0,
                ..timeouts()
            },
        );
        d.handle_read(t0, false, 60_000);
        assert_eq!(d.deadline(), t0 + 10 * S);
    }
}
