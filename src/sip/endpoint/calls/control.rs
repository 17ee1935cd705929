//! What hold and transfer commands share: finding the call by its id, which side is the
//! customer, and the errors they give back (the API maps each to a gRPC status).

use super::local::App;
use super::{Call, CallRef, Side, State};
use crate::sip::endpoint::Endpoint;

/// Why a hold, resume or transfer was refused. Every message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallControlError {
    #[error("no active call `{0}` (ListCalls shows the active ones)")]
    NoCall(String),
    #[error("call `{0}` is not connected yet: hold and transfer need both sides answered")]
    NotConnected(String),
    #[error("call `{0}` is already on hold: Resume it first")]
    AlreadyHeld(String),
    #[error("call `{0}` is not on hold (Hold puts it there)")]
    NotHeld(String),
    #[error("call `{call}` cannot be {what}: {why}")]
    Unsupported {
        call: String,
        what: &'static str,
        why: &'static str,
    },
    #[error("no transfer target `{0}`: give an extension in [[users]], `queue:NAME` of a [[queues]] entry, or a number a [[dialplan.routes]] pattern matches")]
    NoTarget(String),
    #[error("call `{0}` has no consultation (StartConsult begins one)")]
    NoConsult(String),
    #[error("the consultation of call `{call}` cannot do that now: {why}")]
    ConsultNotReady { call: String, why: &'static str },
    #[error("transfer target `{target}` cannot be reached: {why}")]
    Unreachable { target: String, why: String },
}

impl Endpoint {
    /// The call with this id (its UUID).
    pub(super) fn call_by_uuid(&self, uuid: &str) -> Result<CallRef, CallControlError> {
        self.calls
            .calls
            .iter()
            .find(|(_, c)| c.uuid == uuid)
            .map(|(k, _)| *k)
            .ok_or_else(|| CallControlError::NoCall(uuid.to_string()))
    }

    /// A call both of whose sides are talking (a plain bridged call, or a caller with the
    /// agent who answered): what hold and transfer act on.
    pub(super) fn connected_call(&self, uuid: &str) -> Result<CallRef, CallControlError> {
        let call = self.call_by_uuid(uuid)?;
        let c = self
            .calls
            .calls
            .get(&call)
            .ok_or_else(|| CallControlError::NoCall(uuid.to_string()))?;
        let talking = matches!(c.app, App::Bridge | App::Agent);
        if c.state == State::Ringing || c.b.dialog.is_none() || !talking {
            return Err(CallControlError::NotConnected(uuid.to_string()));
        }
        Ok(call)
    }
}

/// The customer's side: the caller, except on a callback, where we dialled the customer
/// (our B side) after the agent's phone (A) answered.
pub(super) fn customer_side(c: &Call) -> Side {
    if c.acd_id.is_some() || c.cdr.direction == "callback" {
        Side::B
    } else {
        Side::A
    }
}
