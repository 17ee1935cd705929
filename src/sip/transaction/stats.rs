//! How transactions ended, by kind: what `/metrics` shows (cumulative counts, read by the
//! driver once a second; no per-call state).

/// A transaction's kind (RFC 3261 §17: client or server, INVITE or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    ClientInvite,
    ClientNonInvite,
    ServerInvite,
    ServerNonInvite,
}

impl TxKind {
    pub const ALL: [TxKind; 4] = [
        TxKind::ClientInvite,
        TxKind::ClientNonInvite,
        TxKind::ServerInvite,
        TxKind::ServerNonInvite,
    ];

    /// ("client" | "server", "invite" | "non_invite"), the metric's labels.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            TxKind::ClientInvite => ("client", "invite"),
            TxKind::ClientNonInvite => ("client", "non_invite"),
            TxKind::ServerInvite => ("server", "invite"),
            TxKind::ServerNonInvite => ("server", "non_invite"),
        }
    }
}

/// Transactions ended since start, indexed by `TxKind as usize`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// Ended normally (a final response sent or received and the state machine run out,
    /// or answered statelessly).
    pub completed: [u64; 4],
    /// Ended by Timer B, C or F (client: no final response) or H (server: no ACK).
    pub timed_out: [u64; 4],
}

impl TxStats {
    pub fn completed(&self, k: TxKind) -> u64 {
        self.completed[k as usize]
    }

    pub fn timed_out(&self, k: TxKind) -> u64 {
        self.timed_out[k as usize]
    }
}
