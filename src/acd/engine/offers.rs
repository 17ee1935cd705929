//! The offer lifecycle: ring, answer, failure (RONA, reject, busy), withdrawal.

use std::time::{Duration, Instant};

use super::Engine;
use crate::acd::agent::AgentState;
use crate::acd::call::{CallState, Offer, OfferFailure};
use crate::acd::event::{AcdError, EventKind, OfferEnd, Output};
use crate::acd::ids::{AgentId, CallId, OfferId};
use crate::acd::timers::Timer;

impl Engine {
    /// The agent answered: the call is connected, any other ring-all offers are cancelled.
    pub fn handle_offer_answered(&mut self, now: Instant, offer: OfferId) -> Result<(), AcdError> {
        let call_id = self.offers.get(&offer).ok_or(AcdError::UnknownOffer)?.call;
        // invariant: an offer in the table belongs to a call in the table (calls leaving the
        // queue end their offers first, `cancel_offers`); checked before anything changes
        let call = self.calls.get_mut(&call_id).ok_or(AcdError::UnknownCall)?;
        let o = self.offers.remove(&offer).ok_or(AcdError::UnknownOffer)?;
        let others = match std::mem::replace(
            &mut call.state,
            CallState::Connected {
                agent: o.agent,
                at: now,
                hold_since: None,
                hold_ms: 0,
            },
        ) {
            CallState::Ringing(ids) => ids,
            _ => Vec::new(),
        };
        let wait_ms = Self::ms(now.saturating_duration_since(call.enqueued()));
        call.wait_ms = wait_ms;
        let (key, stage, queue, callback) = (call.key, call.stage, call.queue, call.callback);
        self.queue_mut(queue).waiting.leave(&key, stage);
        let ring_ms = Self::ms(now.saturating_duration_since(o.at));
        self.emit(
            now,
            EventKind::Connected {
                call: o.call,
                queue,
                agent: o.agent,
                offer,
                wait_ms,
                ring_ms,
                callback,
            },
        );
        let agent = self.agent_mut(o.agent);
        agent.calls += 1;
        self.set_state(now, o.agent, AgentState::OnCall { call: o.call });
        for other in others.into_iter().filter(|&id| id != offer) {
            if let Some(lost) = self.end_offer(now, other, OfferEnd::Cancelled) {
                self.out.push_back(Output::CancelOffer {
                    offer: other,
                    call: lost.call,
                    agent: lost.agent,
                });
                self.set_state(now, lost.agent, AgentState::Ready);
            }
        }
        Ok(())
    }

    /// The offer failed. NoAnswer is RONA (agent NotReady "no-answer"); Rejected and Busy back
    /// the agent off for `reject_backoff_secs` (still Ready). The caller keeps their place.
    pub fn handle_offer_failed(
        &mut self,
        now: Instant,
        offer: OfferId,
        why: OfferFailure,
    ) -> Result<(), AcdError> {
        if !self.offers.contains_key(&offer) {
            return Err(AcdError::UnknownOffer);
        }
        self.fail_offer(now, offer, why);
        Ok(())
    }

    pub(super) fn fail_offer(&mut self, now: Instant, offer: OfferId, why: OfferFailure) {
        let end = match why {
            OfferFailure::NoAnswer => OfferEnd::NoAnswer,
            OfferFailure::Rejected => OfferEnd::Rejected,
            OfferFailure::Busy => OfferEnd::Busy,
        };
        let Some(o) = self.end_offer(now, offer, end) else {
            return;
        };
        self.requeue_if_unrung(now, o.call);
        match why {
            OfferFailure::NoAnswer => {
                let reason = "no-answer".to_string();
                self.set_state(now, o.agent, AgentState::NotReady { reason });
            }
            OfferFailure::Rejected | OfferFailure::Busy => {
                let until = now + self.backoff;
                self.agent_mut(o.agent).backoff_until = Some(until);
                self.set_state(now, o.agent, AgentState::Ready);
                let gen = self.agent_mut(o.agent).gen;
                self.timers.push(until, Timer::Backoff(o.agent, gen));
            }
        }
    }

    /// The engine takes an offer back (agent unavailable, logging out, pausing). The caller
    /// keeps their place; the agent's next state is the caller's business.
    pub(super) fn withdraw_offer(&mut self, now: Instant, offer: OfferId, end: OfferEnd) {
        if let Some(o) = self.end_offer(now, offer, end) {
            self.out.push_back(Output::CancelOffer {
                offer,
                call: o.call,
                agent: o.agent,
            });
            self.requeue_if_unrung(now, o.call);
        }
    }

    /// Forget an offer: out of the offer table and the call's ring list, event emitted.
    pub(super) fn end_offer(
        &mut self,
        now: Instant,
        offer: OfferId,
        end: OfferEnd,
    ) -> Option<Offer> {
        let o = self.offers.remove(&offer)?;
        if let Some(call) = self.calls.get_mut(&o.call) {
            if let CallState::Ringing(ids) = &mut call.state {
                ids.retain(|&id| id != offer);
            }
        }
        let ring_ms = Self::ms(now.saturating_duration_since(o.at));
        self.emit(
            now,
            EventKind::OfferEnded {
                call: o.call,
                queue: o.queue,
                agent: o.agent,
                offer,
                end,
                ring_ms,
            },
        );
        Some(o)
    }

    /// A call whose last offer ended goes back to its place (same key) and is matched again.
    fn requeue_if_unrung(&mut self, now: Instant, c: CallId) {
        let Some(call) = self.calls.get_mut(&c) else {
            return;
        };
        if matches!(&call.state, CallState::Ringing(ids) if ids.is_empty()) {
            call.state = CallState::Waiting;
            let (key, stage, queue) = (call.key, call.stage, call.queue);
            self.queue_mut(queue).waiting.park(key, c, stage);
            self.route_call(now, c);
        }
    }

    /// Withdraw every offer of a call that is leaving the queue (abandon, exit, overflow,
    /// callback request); the agents return to Ready and may take someone else.
    pub(super) fn cancel_offers(&mut self, now: Instant, ids: Vec<OfferId>) {
        for offer in ids {
            if let Some(o) = self.end_offer(now, offer, OfferEnd::Cancelled) {
                self.out.push_back(Output::CancelOffer {
                    offer,
                    call: o.call,
                    agent: o.agent,
                });
                self.set_state(now, o.agent, AgentState::Ready);
            }
        }
    }

    /// Ring `agents` for waiting call `c` (already out of its bucket).
    pub(super) fn start_offers(&mut self, now: Instant, c: CallId, agents: &[AgentId]) {
        let Some(call) = self.calls.get(&c) else {
            return;
        };
        let (queue, callback) = (call.queue, call.callback);
        #[cfg(test)]
        self.check_service_order(c, agents);
        let q = self.queue(queue);
        let ring_timeout = Duration::from_secs(q.cfg.ring_timeout_secs);
        let mut ids = Vec::with_capacity(agents.len());
        for &a in agents {
            let offer = OfferId(self.next_offer);
            self.next_offer += 1;
            ids.push(offer);
            self.offers.insert(
                offer,
                Offer {
                    call: c,
                    agent: a,
                    queue,
                    at: now,
                },
            );
            self.timers.push(now + ring_timeout, Timer::Ring(offer));
            let ix = self
                .agent_mut(a)
                .members
                .iter()
                .find(|m| m.queue == queue)
                .map(|m| i64::from(m.member_ix));
            self.queue_mut(queue).rr_last = ix;
            self.out.push_back(Output::Offer {
                offer,
                call: c,
                agent: a,
                queue,
                ring_timeout,
                callback,
            });
            self.emit(
                now,
                EventKind::Offered {
                    call: c,
                    queue,
                    agent: a,
                    offer,
                    callback,
                },
            );
        }
        if let Some(call) = self.calls.get_mut(&c) {
            call.state = CallState::Ringing(ids.clone());
        }
        for (&a, &offer) in agents.iter().zip(&ids) {
            self.set_state(now, a, AgentState::Offered { offer });
        }
    }
}
