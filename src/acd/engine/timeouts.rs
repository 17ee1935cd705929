//! Deadlines: ring timeouts (RONA), wrap-up ends, back-off ends, routing steps, max wait.

use std::time::Instant;

use super::Engine;
use crate::acd::agent::AgentState;
use crate::acd::call::{CallState, OfferFailure};
use crate::acd::event::{EventKind, ExitReason, Output};
use crate::acd::ids::CallId;
use crate::acd::timers::Timer;

impl Engine {
    /// Fire every deadline up to `now`. Call it when `poll_timeout()` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.pop_due(now) {
            if !self.timer_live(&t) {
                continue;
            }
            match t {
                Timer::Ring(offer) => self.fail_offer(now, offer, OfferFailure::NoAnswer),
                Timer::WrapUp(a, _) => self.after_work(now, a),
                Timer::Backoff(a, _) => {
                    let agent = self.agent_mut(a);
                    if agent.backoff_until.is_some_and(|t| t <= now) {
                        agent.backoff_until = None;
                        self.refresh(now, a);
                    }
                }
                Timer::Step(c, _, stage) => self.reach_stage(now, c, stage),
                Timer::MaxWait(c, _) => self.exit_call(now, c, ExitReason::Timeout),
            }
        }
        self.compact_timers();
    }

    /// Whether a timer still means something (its offer, wrap-up, call or stage is current).
    fn timer_live(&self, t: &Timer) -> bool {
        match *t {
            Timer::Ring(offer) => self.offers.contains_key(&offer),
            Timer::WrapUp(a, gen) => self
                .agent_ref(a)
                .is_ok_and(|ag| ag.gen == gen && matches!(ag.state, AgentState::WrapUp { .. })),
            Timer::Backoff(a, _) => self.agent_ref(a).is_ok_and(|ag| ag.backoff_until.is_some()),
            Timer::Step(c, seq, stage) => self.calls.get(&c).is_some_and(|call| {
                call.key.2 == seq && call.in_queue() && call.stage + 1 == stage
            }),
            Timer::MaxWait(c, seq) => self
                .calls
                .get(&c)
                .is_some_and(|call| call.key.2 == seq && call.in_queue() && !call.callback),
        }
    }

    /// Stale entries (answered calls' max-wait deadlines, answered offers' ring timeouts) stay
    /// in the heap until they fall due. When they outnumber the live ones 4 to 1, drop them in
    /// one pass, so memory stays proportional to what is live; amortised O(1) per timer. Checked
    /// on every `handle_timeout` and every arrival (the two places most timers come from).
    pub(super) fn compact_timers(&mut self) {
        // at most: 2 per queued call (step, max wait), 1 per offer, 2 per agent
        let live_bound = 2 * self.calls.len() + self.offers.len() + 2 * self.agents.len();
        if self.timers.len() > 1024 && self.timers.len() > 4 * live_bound {
            let mut timers = std::mem::take(&mut self.timers);
            timers.retain(|t| self.timer_live(t));
            self.timers = timers;
        }
    }

    /// A caller waited long enough for `stage`: overflow, or widen and match again.
    fn reach_stage(&mut self, now: Instant, c: CallId, stage: usize) {
        let Some(call) = self.calls.get(&c) else {
            return;
        };
        let (queue, key, old, callback) = (call.queue, call.key, call.stage, call.callback);
        let waiting = call.state == CallState::Waiting;
        let q = self.queue(queue);
        // invariant: Step timers are only set for stages that exist (`enqueue`, below)
        let overflow = q.stages[stage].overflow.clone().filter(|_| !callback);
        let next = q.stages.get(stage + 1).map(|s| key.1 + s.after);
        if let Some(target) = overflow {
            let wait_ms = Self::ms(now.saturating_duration_since(key.1));
            let (_, offers) = self.leave_queue(c);
            self.emit(
                now,
                EventKind::Overflowed {
                    call: c,
                    queue,
                    target: target.clone(),
                    wait_ms,
                },
            );
            self.out.push_back(Output::Overflow { call: c, target });
            self.cancel_offers(now, offers);
            return;
        }
        if let Some(call) = self.calls.get_mut(&c) {
            call.stage = stage;
        }
        if let Some(at) = next {
            self.timers.push(at, Timer::Step(c, key.2, stage + 1));
        }
        self.emit(
            now,
            EventKind::StepReached {
                call: c,
                queue,
                step: stage,
            },
        );
        if waiting {
            let w = &mut self.queue_mut(queue).waiting;
            w.unpark(&key, old);
            w.park(key, c, stage);
            self.route_call(now, c);
        }
    }
}
