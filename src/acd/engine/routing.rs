//! Matching. Two entry points, one per side that just became matchable:
//!
//! - `route_agent`: an agent became available. Across all its queues and every stage it
//!   qualifies for, take the best head: highest caller priority, then earliest enqueue time,
//!   then the higher queue weight, then arrival order. Cost: O(queues × stages × log n).
//! - `route_call`: a caller became matchable (arrived, back from a failed offer, reached a
//!   new step). Ask the queue's strategy for the first agent(s) in the stage's ready index.
//!   Cost: O(log agents) (ring-all: plus the cap).

use std::cmp::Reverse;
use std::time::Instant;

use super::agents::stages_of;
use super::Engine;
use crate::acd::call::CallState;
use crate::acd::ids::{AgentId, CallId, QueueId};
use crate::acd::strategy;

impl Engine {
    pub(super) fn route_agent(&mut self, now: Instant, a: AgentId) {
        // invariant: `a` comes from `refresh`, which was handed a checked id
        let agent = &self.agents[a.ix()];
        if !agent.available(now) {
            return;
        }
        type Best = (
            (Reverse<u8>, Instant, Reverse<u32>, u64),
            CallId,
            QueueId,
            usize,
        );
        let mut best: Option<Best> = None;
        for m in &agent.members {
            // invariant: member queues are ids minted by `build`
            let q = &self.queues[m.queue.ix()];
            for s in stages_of(m.stages) {
                if let Some((key, &call)) = q.waiting.head(s) {
                    let rank = (key.0, key.1, Reverse(q.cfg.weight), key.2);
                    if best.as_ref().is_none_or(|b| rank < b.0) {
                        best = Some((rank, call, m.queue, s));
                    }
                }
            }
        }
        let Some((_, call, queue, stage)) = best else {
            return;
        };
        let mut picked = std::mem::take(&mut self.scratch);
        picked.clear();
        picked.push(a);
        let q = self.queue(queue);
        let width = strategy::width(q.cfg.strategy, q.cfg.ring_all_cap);
        if width > 1 {
            picked.extend(
                q.ready[stage]
                    .iter()
                    .map(|k| k.3)
                    .filter(|&b| b != a)
                    .take(width - 1),
            );
        }
        self.take_call(now, call, &picked);
        self.scratch = picked;
    }

    pub(super) fn route_call(&mut self, now: Instant, c: CallId) {
        let Some(call) = self.calls.get(&c) else {
            return;
        };
        if call.state != CallState::Waiting {
            return;
        }
        let (queue, stage) = (call.queue, call.stage);
        let mut picked = std::mem::take(&mut self.scratch);
        picked.clear();
        let q = self.queue(queue);
        let width = strategy::width(q.cfg.strategy, q.cfg.ring_all_cap);
        if let Some(ready) = q.ready.get(stage) {
            strategy::select(q.cfg.strategy, ready, q.rr_last, width, &mut picked);
        }
        if !picked.is_empty() {
            self.take_call(now, c, &picked);
        }
        self.scratch = picked;
    }

    fn take_call(&mut self, now: Instant, c: CallId, agents: &[AgentId]) {
        let Some(call) = self.calls.get(&c) else {
            return;
        };
        let (key, stage, queue) = (call.key, call.stage, call.queue);
        self.queue_mut(queue).waiting.unpark(&key, stage);
        self.start_offers(now, c, agents);
    }

    /// Test builds only: the agent is free, and no caller of the same queue and priority who
    /// waited longer sits in a bucket the agent qualifies for (FIFO within a priority).
    #[cfg(test)]
    pub(super) fn check_service_order(&self, c: CallId, agents: &[AgentId]) {
        let call = &self.calls[&c];
        let q = self.queue(call.queue);
        for &a in agents {
            let agent = &self.agents[a.ix()];
            assert!(
                agent.state == crate::acd::agent::AgentState::Ready,
                "offering {c:?} to {a:?} in state {:?}",
                agent.state
            );
            let m = agent
                .members
                .iter()
                .find(|m| m.queue == call.queue)
                .expect("offered agents are members");
            for s in stages_of(m.stages) {
                for (key, other) in q.waiting.bucket(s) {
                    if *other != c && key.0 == call.key.0 {
                        assert!(
                            key > &call.key,
                            "{other:?} waited longer than {c:?} in the same priority"
                        );
                    }
                }
            }
        }
    }
}
