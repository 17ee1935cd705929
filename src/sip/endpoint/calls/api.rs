//! What the API asks of calls: a view of each active call, the call behind an ACD call
//! number, and hanging a call up.

use std::time::{Duration, Instant};

use super::{CallRef, State};
use crate::sip::endpoint::views::{CallView, CallViewState};
use crate::sip::endpoint::Endpoint;

/// The CDR end cause of a call hung up through the API.
pub const API_HANGUP_CAUSE: &str = "api-hangup";

impl Endpoint {
    /// Every active call (no particular order).
    pub fn calls_view(&self, now: Instant) -> Vec<CallView> {
        let now_ms = self.calls.unix_ms(now);
        let since = |ms: i64| Duration::from_millis(now_ms.saturating_sub(ms).max(0) as u64);
        self.calls
            .calls
            .iter()
            .map(|(r, c)| CallView {
                id: c.uuid.clone(),
                call_ref: *r,
                held: c.hold.iter().any(|h| *h),
                state: match c.state {
                    State::Ringing => CallViewState::Ringing,
                    State::Answered => CallViewState::Answered,
                    State::Confirmed => CallViewState::Confirmed,
                },
                caller: c.cdr.caller.clone(),
                callee: c.cdr.callee.clone(),
                duration: since(c.cdr.start_unix_ms),
                talk: c.cdr.answer_unix_ms.map(since).unwrap_or_default(),
                queue: c.cdr.queue.clone(),
                agent: c.cdr.agent.clone(),
            })
            .collect()
    }

    /// The call id (UUID) of the call the ACD knows by `acd_call` (our CallRef, or the
    /// callback's own number).
    /// What an agent's screen shows when `acd_call` is offered: the caller's number and
    /// what they entered in the IVR.
    pub fn screen_pop(&self, acd_call: u64) -> Option<(String, Vec<(String, String)>)> {
        let c = self.calls.calls.get(&acd_call).or_else(|| {
            self.calls
                .calls
                .values()
                .find(|c| c.acd_id == Some(acd_call))
        })?;
        // A campaign call's customer is the number it dialled.
        let customer = if c.cdr.direction == "campaign" {
            &c.cdr.callee
        } else {
            &c.cdr.caller
        };
        Some((customer.clone(), c.vars.clone()))
    }

    pub fn acd_call_uuid(&self, acd_call: u64) -> Option<String> {
        if let Some(c) = self.calls.calls.get(&acd_call) {
            if c.acd_id.is_none() || c.acd_id == Some(acd_call) {
                return Some(c.uuid.clone());
            }
        }
        self.calls
            .calls
            .values()
            .find(|c| c.acd_id == Some(acd_call))
            .map(|c| c.uuid.clone())
    }

    /// Hang up a call by its id: BYE to the answered sides, CANCEL to ringing forks, 480 to
    /// an unanswered caller; the CDR ends with cause `api-hangup`.
    pub fn hangup(&mut self, now: Instant, call_uuid: &str) -> Result<(), String> {
        let call: CallRef = self
            .calls
            .calls
            .iter()
            .find(|(_, c)| c.uuid == call_uuid)
            .map(|(k, _)| *k)
            .ok_or_else(|| {
                format!("no active call `{call_uuid}` (ListCalls shows the active ones)")
            })?;
        tracing::info!(call = %call_uuid, "hangup asked through the API");
        self.hangup_both(now, call, API_HANGUP_CAUSE, "system");
        self.drain_transactions(now);
        Ok(())
    }
}
