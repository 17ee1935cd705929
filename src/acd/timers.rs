//! The engine's deadlines in one min-heap. Entries are never removed when their reason goes
//! away (an offer answered, a call abandoned); instead each entry names what it is for (and, for
//! agents, a generation number) and is checked when it pops. `poll_timeout` may therefore
//! report a deadline that turns out to be stale: harmless, the driver just calls
//! `handle_timeout` once for nothing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::ids::{AgentId, CallId, OfferId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    Ring(OfferId),
    /// (agent, generation of the agent's state when set)
    WrapUp(AgentId, u64),
    Backoff(AgentId, u64),
    /// (call, its wait-key sequence number, the stage it reaches)
    Step(CallId, u64, usize),
    MaxWait(CallId, u64),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
    seq: u64,
}

impl Timers {
    pub fn push(&mut self, at: Instant, t: Timer) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, t)));
    }

    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, ..))| *at)
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        match self.heap.peek() {
            Some(Reverse((at, ..))) if *at <= now => self.heap.pop().map(|Reverse((.., t))| t),
            _ => None,
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Timer) -> bool) {
        self.heap.retain(|Reverse((_, _, t))| keep(t));
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
}
