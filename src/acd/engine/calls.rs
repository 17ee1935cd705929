//! Caller inputs: arrival, abandon, callback request and restore, hold, end of call.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::Engine;
use crate::acd::agent::AgentState;
use crate::acd::call::{Call, CallState};
use crate::acd::callback::CallbackRecord;
use crate::acd::event::{AcdError, EventKind, ExitReason, Output, Party};
use crate::acd::ids::{CallId, QueueId};
use crate::acd::timers::Timer;

impl Engine {
    /// A caller joins `queue` with their own `priority` (higher is served first). Returns the
    /// position. Refused (with a JoinRefused event) when full or, with `join_empty = false`,
    /// when no member agent is logged in.
    pub fn handle_call_arrived(
        &mut self,
        now: Instant,
        call: CallId,
        queue: QueueId,
        priority: u8,
    ) -> Result<u32, AcdError> {
        if self.calls.contains_key(&call) {
            return Err(AcdError::DuplicateCall);
        }
        let q = self.queues.get(queue.ix()).ok_or(AcdError::UnknownQueue)?;
        let full = q.cfg.max_len.is_some_and(|m| q.waiting.len() >= m);
        let empty = !q.cfg.join_empty && q.logged_in == 0;
        if full || empty {
            self.emit(now, EventKind::JoinRefused { call, queue, full });
            return Err(if full {
                AcdError::QueueFull
            } else {
                AcdError::QueueEmpty
            });
        }
        Ok(self.enqueue(now, call, queue, priority, now, None, false))
    }

    /// Put a caller in line; `enqueued` may lie in the past (restored callbacks).
    #[allow(clippy::too_many_arguments)] // one private constructor; a struct would only rename them
    fn enqueue(
        &mut self,
        now: Instant,
        id: CallId,
        queue: QueueId,
        priority: u8,
        enqueued: Instant,
        orig_position: Option<u32>,
        callback: bool,
    ) -> u32 {
        self.seq += 1;
        let key = (Reverse(priority), enqueued, self.seq);
        let q = self.queue_mut(queue);
        let position = q.waiting.join(key, id, orig_position.is_none());
        // Restored callbacks resume at the stage their age has reached (overflow skipped).
        let waited = now.saturating_duration_since(enqueued);
        let stage = q
            .stages
            .iter()
            .rposition(|s| s.after <= waited)
            .unwrap_or(0);
        let stage = if callback { stage } else { 0 };
        let next_step = q.stages.get(stage + 1).map(|s| enqueued + s.after);
        let max_wait = q
            .cfg
            .max_wait_secs
            .map(|s| enqueued + Duration::from_secs(s));
        q.waiting.park(key, id, stage);
        self.calls.insert(
            id,
            Call {
                id,
                queue,
                key,
                stage,
                state: CallState::Waiting,
                callback,
                orig_position: orig_position.unwrap_or(position),
                wait_ms: 0,
            },
        );
        if let Some(at) = next_step {
            self.timers.push(at, Timer::Step(id, key.2, stage + 1));
        }
        if let (Some(at), false) = (max_wait, callback) {
            self.timers.push(at, Timer::MaxWait(id, key.2));
        }
        self.emit(
            now,
            EventKind::Queued {
                call: id,
                queue,
                priority,
                position,
            },
        );
        self.route_call(now, id);
        self.compact_timers();
        position
    }

    /// The caller hung up while waiting or while an offer rang (the offers are cancelled).
    /// For a queued callback, this withdraws the callback.
    pub fn handle_caller_abandoned(&mut self, now: Instant, call: CallId) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall)?;
        if !c.in_queue() {
            return Err(AcdError::NotQueued);
        }
        let (queue, orig_position, callback) = (c.queue, c.orig_position, c.callback);
        let wait_ms = Self::ms(now.saturating_duration_since(c.enqueued()));
        let (position, offers) = self.leave_queue(call);
        self.emit(
            now,
            EventKind::Abandoned {
                call,
                queue,
                wait_ms,
                position,
                orig_position,
                callback,
            },
        );
        self.cancel_offers(now, offers);
        Ok(())
    }

    /// The caller asked to be called back: they hang up but keep their place in line as a
    /// virtual caller. When their turn comes the Offer carries `callback: true`. Callbacks are
    /// exempt from max wait and overflow steps (the promise is kept); widening steps apply.
    pub fn handle_callback_requested(
        &mut self,
        now: Instant,
        call: CallId,
    ) -> Result<CallbackRecord, AcdError> {
        let c = self.calls.get_mut(&call).ok_or(AcdError::UnknownCall)?;
        if !c.in_queue() {
            return Err(AcdError::NotQueued);
        }
        c.callback = true;
        let (queue, key, stage) = (c.queue, c.key, c.stage);
        let offers = match std::mem::replace(&mut c.state, CallState::Waiting) {
            CallState::Ringing(ids) => {
                self.queue_mut(queue).waiting.park(key, call, stage);
                ids
            }
            _ => Vec::new(),
        };
        self.emit(now, EventKind::CallbackRequested { call, queue });
        // The ringing agents were about to reach a caller who is gone: cancel, then re-offer
        // the callback normally.
        self.cancel_offers(now, offers);
        self.route_call(now, call);
        self.callback_record(call).ok_or(AcdError::UnknownCall)
    }

    /// Put a persisted callback back in line at its original place (after a restart).
    pub fn restore_callback(&mut self, now: Instant, rec: &CallbackRecord) -> Result<(), AcdError> {
        if self.calls.contains_key(&rec.call) {
            return Err(AcdError::DuplicateCall);
        }
        let queue = *self
            .queue_ids
            .get(&rec.queue)
            .ok_or(AcdError::UnknownQueue)?;
        let enqueued = self
            .clock
            .instant(rec.enqueued_at_ms)
            .unwrap_or(now)
            .min(now);
        self.enqueue(
            now,
            rec.call,
            queue,
            rec.priority,
            enqueued,
            Some(rec.orig_position),
            true,
        );
        Ok(())
    }

    /// A connected call was put on hold (`true`) or resumed; hold time counts in handle time.
    pub fn handle_call_hold(
        &mut self,
        now: Instant,
        call: CallId,
        on: bool,
    ) -> Result<(), AcdError> {
        let c = self.calls.get_mut(&call).ok_or(AcdError::UnknownCall)?;
        let CallState::Connected {
            hold_since,
            hold_ms,
            ..
        } = &mut c.state
        else {
            return Err(AcdError::NotConnected);
        };
        match (on, *hold_since) {
            (true, None) => *hold_since = Some(now),
            (false, Some(t)) => {
                *hold_ms += Self::ms(now.saturating_duration_since(t));
                *hold_since = None;
            }
            _ => return Ok(()),
        }
        self.emit(now, EventKind::Hold { call, on });
        Ok(())
    }

    /// A connected call ended: the agent wraps up until now + wrap_up, then is Ready.
    pub fn handle_call_ended(
        &mut self,
        now: Instant,
        call: CallId,
        by: Party,
    ) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall)?;
        let CallState::Connected {
            agent,
            at,
            hold_since,
            hold_ms,
        } = c.state
        else {
            return Err(AcdError::NotConnected);
        };
        let hold_ms =
            hold_ms + hold_since.map_or(0, |t| Self::ms(now.saturating_duration_since(t)));
        let total_ms = Self::ms(now.saturating_duration_since(at));
        let talk_ms = total_ms.saturating_sub(hold_ms);
        let (queue, wait_ms, orig_position) = (c.queue, c.wait_ms, c.orig_position);
        self.calls.remove(&call);
        self.emit(
            now,
            EventKind::Ended {
                call,
                queue,
                agent,
                by,
                wait_ms,
                talk_ms,
                hold_ms,
                orig_position,
            },
        );
        let wrap = Duration::from_secs(self.queue(queue).cfg.wrap_up_secs);
        let ag = self.agent_mut(agent);
        ag.talk_ms += talk_ms;
        ag.wrapping = Some((call, queue, total_ms));
        if ag.state != (AgentState::OnCall { call }) {
            // invariant: a connected call's agent is OnCall with it; tolerate drift by not
            // touching an agent that moved on
            return Ok(());
        }
        if wrap.is_zero() {
            self.after_work(now, agent);
        } else {
            self.set_state(now, agent, AgentState::WrapUp { until: now + wrap });
        }
        Ok(())
    }

    /// Remove a queued caller from its queue and the call table; returns its position at
    /// that moment and the offers still out.
    pub(super) fn leave_queue(&mut self, call: CallId) -> (u32, Vec<crate::acd::ids::OfferId>) {
        let Some(c) = self.calls.remove(&call) else {
            return (0, Vec::new());
        };
        let q = self.queue_mut(c.queue);
        let position = q.waiting.position(&c.key);
        q.waiting.leave(&c.key, c.stage);
        let offers = match c.state {
            CallState::Ringing(ids) => ids,
            _ => Vec::new(),
        };
        (position, offers)
    }

    /// Send a queued caller out of the queue (max wait, or empty queue).
    pub(super) fn exit_call(&mut self, now: Instant, call: CallId, reason: ExitReason) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let (queue, orig_position) = (c.queue, c.orig_position);
        let wait_ms = Self::ms(now.saturating_duration_since(c.enqueued()));
        let target = match reason {
            ExitReason::Timeout => self.queue(queue).cfg.timeout_target.clone(),
            ExitReason::Empty => None,
        };
        let (position, offers) = self.leave_queue(call);
        self.emit(
            now,
            EventKind::Exited {
                call,
                queue,
                reason,
                wait_ms,
                position,
                orig_position,
            },
        );
        self.out.push_back(Output::Exit {
            call,
            reason,
            target,
        });
        self.cancel_offers(now, offers);
    }

    /// `leave_when_empty`: the last member logged out, every non-callback caller exits.
    pub(super) fn empty_queue(&mut self, now: Instant, queue: QueueId) {
        let ids: Vec<CallId> = self.queue(queue).waiting.calls().copied().collect();
        for id in ids {
            if self.calls.get(&id).is_some_and(|c| !c.callback) {
                self.exit_call(now, id, ExitReason::Empty);
            }
        }
    }
}
