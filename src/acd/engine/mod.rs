//! The ACD engine: one owner of every queue, agent, waiting caller and offer. Sans-IO: input
//! through `handle_*(now, ..)`, output through `poll_output()` and `poll_timeout()`.
//!
//! Split by concern: `build` (config → state), `agents` (agent inputs and state changes, the
//! ready indexes), `calls` (caller inputs), `external` (calls the ACD did not route), `offers` (offer lifecycle), `routing` (matching),
//! `timeouts` (deadlines), `views` (read-only queries).
//!
//! The routing invariant, kept by every handler: **no available agent is indexed as ready for a
//! stage whose bucket holds a waiting caller of that queue.** Every time an agent becomes
//! available it looks at the heads of its buckets (`route_agent`); every time a caller becomes
//! matchable it looks at its stage's ready agents (`route_call`). So a decision touches only
//! the heads of one agent's queues or the first entries of one queue's ready index.

mod agents;
mod build;
mod calls;
mod external;
mod offers;
mod routing;
mod timeouts;
mod views;

pub use views::{CallStatus, Directory, QueueStaff};

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::agent::Agent;
use super::call::{Call, Offer};
use super::clock::Clock;
use super::event::{AcdError, AcdEvent, EventKind, Output};
use super::ids::{AgentId, CallId, OfferId, QueueId};
use super::queue::Queue;
use super::skills::Skills;
use super::timers::Timers;

pub struct Engine {
    clock: Clock,
    #[allow(dead_code)] // kept so a config reload can intern new skills consistently
    skills: Skills,
    agents: Vec<Agent>,
    agent_ids: HashMap<String, AgentId>,
    queues: Vec<Queue>,
    queue_ids: HashMap<String, QueueId>,
    calls: HashMap<CallId, Call>,
    offers: HashMap<OfferId, Offer>,
    timers: Timers,
    out: VecDeque<Output>,
    next_offer: u64,
    seq: u64,
    backoff: Duration,
    /// Reused buffer for strategy selections (no allocation per decision).
    scratch: Vec<AgentId>,
}

impl Engine {
    /// The next command or event for the driver.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest deadline (ring timeout, wrap-up end, routing step, max wait, back-off end);
    /// possibly stale, see `timers`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    fn emit(&mut self, now: Instant, kind: EventKind) {
        let at_ms = self.clock.unix_ms(now);
        self.out.push_back(Output::Event(AcdEvent { at_ms, kind }));
    }

    fn agent_ref(&self, a: AgentId) -> Result<&Agent, AcdError> {
        self.agents.get(a.ix()).ok_or(AcdError::UnknownAgent)
    }

    fn queue(&self, q: QueueId) -> &Queue {
        // invariant: QueueIds are only minted by `build` as indices into `queues`
        &self.queues[q.ix()]
    }

    fn queue_mut(&mut self, q: QueueId) -> &mut Queue {
        // invariant: as in `queue`
        &mut self.queues[q.ix()]
    }

    fn agent_mut(&mut self, a: AgentId) -> &mut Agent {
        // invariant: AgentIds reaching here were checked by `agent_ref` or come from our own
        // offers and indexes, which only hold ids minted by `build`
        &mut self.agents[a.ix()]
    }

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }
}
