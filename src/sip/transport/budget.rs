//! How many TCP connections the descriptor limit affords. Every connection holds a
//! descriptor, and so does every anchored call (four RTP/RTCP sockets, and a file while it
//! is recorded): without a global cap a few hundred sources fill the table, and then calls fail
//! with `cannot bind RTP ports: Too many open files`. The cap keeps room for the calls the
//! config allows and for everything else the daemon opens.

/// Descriptors for everything but TCP clients and media: stdio, the store (database, WAL,
/// shared memory), listeners, API and metrics clients, the runtime's own, logs.
pub const FIXED_RESERVE: u64 = 128;
/// Per anchored call: RTP and RTCP on each leg.
pub const PER_CALL: u64 = 4;
/// Above this the cap is no constraint (an unlimited or huge RLIMIT_NOFILE, or setting).
const CEILING: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// RLIMIT_NOFILE, as raised at start.
    pub open_files: u64,
    /// Calls that can be anchored at once: `calls.max_calls`, and no more than the media
    /// port range holds (four ports a call).
    pub calls: u64,
    /// Recordings at once (`recording.max_concurrent`): a file each.
    pub recordings: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCap {
    pub connections: usize,
    /// False when the limit cannot hold `calls` anchored calls whatever TCP gets (an
    /// automatic cap then takes a quarter of what is left after the fixed reserve).
    pub calls_fit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "sip.tcp.max_connections = {configured} does not fit the open-file limit of {open_files}: \
     {calls} anchored calls and their recordings need {media} descriptors and {FIXED_RESERVE} are kept for the rest, \
     which leaves room for {room} connections (lower max_connections, calls.max_calls or the \
     media port range, or raise the limit: ulimit -n / LimitNOFILE=)"
)]
pub struct BudgetError {
    pub configured: usize,
    pub open_files: u64,
    pub calls: u64,
    pub media: u64,
    pub room: u64,
}

impl Budget {
    fn media(&self) -> u64 {
        self.calls
            .saturating_mul(PER_CALL)
            .saturating_add(self.recordings.min(self.calls))
    }

    /// Connections left once media and the fixed reserve have their share.
    fn room(&self) -> u64 {
        self.open_files
            .saturating_sub(FIXED_RESERVE)
            .saturating_sub(self.media())
    }

    /// The cap: `configured` if it fits, else an error; without a setting, all the room
    /// there is (or a quarter of the non-reserved descriptors when media alone overflows).
    pub fn connection_cap(&self, configured: Option<usize>) -> Result<ConnectionCap, BudgetError> {
        let room = self.room();
        let calls_fit = self.media() + FIXED_RESERVE <= self.open_files;
        let connections = match configured {
            Some(n) if n as u64 <= room => n.min(CEILING as usize),
            Some(n) => {
                return Err(BudgetError {
                    configured: n,
                    open_files: self.open_files,
                    calls: self.calls,
                    media: self.media(),
                    room,
                })
            }
            None if calls_fit => room.clamp(1, CEILING) as usize,
            None => (self.open_files.saturating_sub(FIXED_RESERVE) / 4).clamp(1, CEILING) as usize,
        };
        Ok(ConnectionCap {
            connections,
            calls_fit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_is_what_media_and_the_reserve_leave() {
        let b = Budget {
            open_files: 20_000,
            calls: 2_500,
            recordings: 1_000,
        };
        let cap = b.connection_cap(None).unwrap();
        assert_eq!(cap.connections, 20_000 - 128 - 4 * 2_500 - 1_000);
        assert!(cap.calls_fit);
    }

    #[test]
    fn a_limit_too_low_for_the_calls_still_gives_tcp_a_share() {
        let b = Budget {
            open_files: 1024,
            calls: 2_500,
            recordings: 1_000,
        };
        let cap = b.connection_cap(None).unwrap();
        assert_eq!(cap.connections, (1024 - 128) / 4);
        assert!(!cap.calls_fit);
    }

    #[test]
    fn a_configured_cap_must_leave_room_for_media() {
        let b = Budget {
            open_files: 256,
            calls: 8,
            recordings: 1_000,
        };
        assert_eq!(b.connection_cap(Some(88)).unwrap().connections, 88);
        let err = b.connection_cap(Some(89)).unwrap_err();
        assert_eq!(err.room, 88);
        assert!(err.to_string().contains("max_connections = 89"), "{err}");
    }

    #[test]
    fn an_unlimited_descriptor_table_is_capped_at_a_sane_size() {
        let b = Budget {
            open_files: u64::MAX,
            calls: 10_000,
            recordings: 1_000,
        };
        assert_eq!(b.connection_cap(None).unwrap().connections, 1 << 20);
        // A semaphore holds at most usize::MAX >> 3 permits: a huge setting is capped too.
        let huge = b.connection_cap(Some(1 << 40)).unwrap();
        assert_eq!(huge.connections, 1 << 20);
    }
}
