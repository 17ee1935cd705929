//! Dispositions: the result an agent gives a call (sale, no-interest, callback ...), from
//! `[dispositions] codes`. Accepted while the call is up and for `DISPOSITION_WINDOW` after
//! it ended (the agent's wrap-up), kept in the call's CDR, and handed to the driver as
//! `Output::Disposition` (the event stream, a dialer's lead outcomes).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::sip::endpoint::{Endpoint, Output};

/// How long after its end a call still takes a disposition.
pub const DISPOSITION_WINDOW: Duration = Duration::from_secs(600);
/// Ended calls remembered for a late disposition at most (a bound under heavy load).
const MAX_ENDED: usize = 20_000;
/// Notes are free text, but not a document.
pub const MAX_NOTES: usize = 1000;

/// A disposition that was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionSet {
    /// The call's id (its CDR's id).
    pub call: String,
    pub agent: Option<String>,
    /// The call's customer-facing numbers as in its CDR.
    pub caller: String,
    pub callee: String,
    pub code: String,
    pub notes: Option<String>,
    pub callback_at_unix_ms: Option<i64>,
    /// From the code's config: the lead is done with.
    pub is_final: bool,
    /// From the code's config: the lead is to be called back.
    pub callback: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispositionError {
    #[error("unknown disposition code `{code}`; valid codes: {}", valid.join(", "))]
    UnknownCode { code: String, valid: Vec<String> },
    #[error("no call `{0}` is active or ended within the last 10 minutes")]
    NoSuchCall(String),
    #[error("`callback_at_unix_ms` is only for codes with `callback = true`, not `{0}`")]
    CallbackTimeNotAllowed(String),
    #[error("notes are longer than {MAX_NOTES} characters")]
    NotesTooLong,
}

/// An ended call, remembered for a disposition in its wrap-up.
#[derive(Debug, Clone)]
pub(super) struct EndedCall {
    uuid: String,
    agent: Option<String>,
    caller: String,
    callee: String,
    ended: Instant,
}

#[derive(Debug, Default)]
pub(super) struct Ended {
    calls: VecDeque<EndedCall>,
}

impl Ended {
    fn prune(&mut self, now: Instant) {
        while self.calls.len() > MAX_ENDED
            || self
                .calls
                .front()
                .is_some_and(|c| now.saturating_duration_since(c.ended) > DISPOSITION_WINDOW)
        {
            self.calls.pop_front();
        }
    }
}

impl Endpoint {
    /// The codes SetDisposition accepts, in config order.
    pub fn dispositions(&self) -> &[crate::config::DispositionCode] {
        &self.cfg.dispositions
    }

    /// Remember an ending call for a disposition in its wrap-up.
    pub(super) fn disposition_call_over(
        &mut self,
        now: Instant,
        uuid: &str,
        cdr: &crate::call::cdr::Cdr,
    ) {
        let ended = &mut self.calls.ended;
        ended.calls.push_back(EndedCall {
            uuid: uuid.to_string(),
            agent: cdr.agent.clone(),
            caller: cdr.caller.clone(),
            callee: cdr.callee.clone(),
            ended: now,
        });
        ended.prune(now);
    }

    /// Set the result of call `uuid` (active, or ended within the window).
    pub fn set_disposition(
        &mut self,
        now: Instant,
        uuid: &str,
        code: &str,
        notes: Option<&str>,
        callback_at_unix_ms: Option<i64>,
    ) -> Result<DispositionSet, DispositionError> {
        let Some(def) = self
            .cfg
            .dispositions
            .iter()
            .find(|d| d.code == code)
            .cloned()
        else {
            return Err(DispositionError::UnknownCode {
                code: code.to_string(),
                valid: self
                    .cfg
                    .dispositions
                    .iter()
                    .map(|d| d.code.clone())
                    .collect(),
            });
        };
        if callback_at_unix_ms.is_some() && !def.callback {
            return Err(DispositionError::CallbackTimeNotAllowed(def.code));
        }
        let notes = notes.map(str::trim).filter(|n| !n.is_empty());
        if notes.is_some_and(|n| n.chars().count() > MAX_NOTES) {
            return Err(DispositionError::NotesTooLong);
        }
        let (agent, caller, callee) = match self.calls.calls.values_mut().find(|c| c.uuid == uuid) {
            Some(c) => {
                // The final CDR carries it too.
                c.cdr.disposition = Some(def.code.clone());
                c.cdr.disposition_notes = notes.map(str::to_string);
                (
                    c.cdr.agent.clone(),
                    c.cdr.caller.clone(),
                    c.cdr.callee.clone(),
                )
            }
            None => {
                self.calls.ended.prune(now);
                let e = self
                    .calls
                    .ended
                    .calls
                    .iter()
                    .rev()
                    .find(|c| c.uuid == uuid)
                    .ok_or_else(|| DispositionError::NoSuchCall(uuid.to_string()))?;
                (e.agent.clone(), e.caller.clone(), e.callee.clone())
            }
        };
        let set = DispositionSet {
            call: uuid.to_string(),
            agent,
            caller,
            callee,
            code: def.code,
            notes: notes.map(str::to_string),
            callback_at_unix_ms,
            is_final: def.is_final,
            callback: def.callback,
        };
        tracing::info!(call = %uuid, code = %set.code, agent = ?set.agent, "disposition set");
        self.out.push_back(Output::Disposition(set.clone()));
        Ok(set)
    }
}
