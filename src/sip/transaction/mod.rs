//! The sans-IO transaction layer (RFC 3261 §17 with RFC 6026): INVITE and non-INVITE, client
//! and server, timers A–M, retransmission absorption, matching by branch with the RFC 2543
//! fallback. Input: `handle_*(now, ..)`; output: `poll_transmit`, `poll_event`, `poll_timeout`.
//!
//! Server transactions keep only what they resend (the last response, as bytes); client
//! transactions keep their request for retransmission and, for INVITE, to build the ACK.

mod client;
mod key;
mod server;
mod stats;
mod timers;

pub use key::{KeyError, TxKey};
pub use stats::{TxKind, TxStats};
pub use timers::{Timer, TimerConfig};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::sip::{rsip, Peer};

/// Bytes to send.
#[derive(Debug, Clone)]
pub struct Transmit {
    pub dest: Peer,
    pub bytes: Bytes,
}

/// What the transaction user hears.
#[derive(Debug)]
pub enum TxEvent {
    /// A new request: a server transaction now waits for the TU's response.
    Request {
        key: TxKey,
        request: rsip::Request,
        source: Peer,
    },
    /// An ACK matching no transaction in Completed (the ACK for a 2xx): the TU's business.
    Ack {
        request: rsip::Request,
        source: Peer,
    },
    /// A response for a client transaction (2xx retransmissions too, RFC 6026).
    Response {
        key: TxKey,
        response: rsip::Response,
    },
    /// Timer B, F or H fired: act as if a 408 arrived.
    Timeout {
        key: TxKey,
    },
    Terminated {
        key: TxKey,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("cannot match: {0}")]
    Key(#[from] KeyError),
    #[error("no such transaction")]
    Unknown,
    #[error("a transaction with this key exists")]
    Duplicate,
    #[error("response not allowed in this state")]
    State,
    #[error("ACK does not start a transaction")]
    Ack,
}

use stats::TxKind as Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Calling,
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
}

struct Tx {
    kind: Kind,
    state: State,
    peer: Peer,
    /// Client: the request (retransmitted as `request_bytes`, used to build the ACK).
    request: Option<rsip::Request>,
    request_bytes: Option<Bytes>,
    /// Client INVITE: the ACK sent for a non-2xx final response.
    ack_bytes: Option<Bytes>,
    /// Server: the last response sent.
    response_bytes: Option<Bytes>,
    /// Current retransmission interval (A, E or G).
    interval: Duration,
    timers: Vec<(Timer, Instant)>,
}

impl Tx {
    fn reliable(&self) -> bool {
        self.peer.transport.is_reliable()
    }
}

pub struct TransactionLayer {
    cfg: TimerConfig,
    txs: HashMap<TxKey, Tx>,
    heap: BinaryHeap<Reverse<(Instant, u64, Timer, TxKey)>>,
    seq: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
    stats: TxStats,
}

impl TransactionLayer {
    pub fn new(cfg: TimerConfig) -> Self {
        TransactionLayer {
            cfg,
            txs: HashMap::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: TxStats::default(),
        }
    }

    /// How transactions ended so far.
    pub fn stats(&self) -> TxStats {
        self.stats
    }

    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// The earliest pending timer (possibly one that was cancelled since: harmless).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, ..))| *t)
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, _, _, _))) = self.heap.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, _, timer, key))) = self.heap.pop() else {
                break;
            };
            let live = self
                .txs
                .get(&key)
                .is_some_and(|tx| tx.timers.iter().any(|(t, when)| *t == timer && *when == at));
            if !live {
                continue;
            }
            if let Some(tx) = self.txs.get_mut(&key) {
                tx.timers.retain(|(t, _)| *t != timer);
            }
            self.fire(now, &key, timer);
        }
    }

    fn fire(&mut self, now: Instant, key: &TxKey, timer: Timer) {
        let Some(kind) = self.txs.get(key).map(|t| t.kind) else {
            return;
        };
        match kind {
            Kind::ClientInvite | Kind::ClientNonInvite => self.client_timer(now, key, timer),
            Kind::ServerInvite | Kind::ServerNonInvite => self.server_timer(now, key, timer),
        }
    }

    fn set_timer(&mut self, key: &TxKey, timer: Timer, at: Instant) {
        let Some(tx) = self.txs.get_mut(key) else {
            return;
        };
        tx.timers.retain(|(t, _)| *t != timer);
        tx.timers.push((timer, at));
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, timer, key.clone())));
    }

    fn cancel_timers(&mut self, key: &TxKey, which: &[Timer]) {
        if let Some(tx) = self.txs.get_mut(key) {
            tx.timers.retain(|(t, _)| !which.contains(t));
        }
    }

    fn set_state(&mut self, key: &TxKey, state: State) {
        if let Some(tx) = self.txs.get_mut(key) {
            tx.state = state;
        }
    }

    /// The transaction ran its course.
    fn terminate(&mut self, key: &TxKey) {
        if let Some(tx) = self.txs.remove(key) {
            self.stats.completed[tx.kind as usize] += 1;
            self.events
                .push_back(TxEvent::Terminated { key: key.clone() });
        }
    }

    /// Timer B, F or H fired: the TU hears of it, then the transaction is gone.
    fn time_out(&mut self, key: &TxKey) {
        if let Some(tx) = self.txs.remove(key) {
            self.stats.timed_out[tx.kind as usize] += 1;
            self.events.push_back(TxEvent::Timeout { key: key.clone() });
            self.events
                .push_back(TxEvent::Terminated { key: key.clone() });
        }
    }

    fn send(&mut self, dest: Peer, bytes: Bytes) {
        self.transmits.push_back(Transmit { dest, bytes });
    }
}

fn to_bytes(msg: impl Into<rsip::SipMessage>) -> Bytes {
    Bytes::from(msg.into().to_bytes())
}

#[cfg(test)]
mod tests;
