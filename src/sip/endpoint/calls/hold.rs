//! Hold and resume from the API. Media is anchored, so no re-INVITE is needed (like
//! Asterisk's local music on hold): the relay stops bridging the two sides, plays music to
//! the held side and nothing to the other; resume stops the music and bridges again. The
//! phones' own SDP hold (re-INVITE with sendonly) stays what it was and is independent.

use std::time::Instant;

use super::control::{customer_side, CallControlError};
use super::{CallEvent, CallRef, MediaCommand, Side};
use crate::sip::endpoint::{Endpoint, Output};

impl Endpoint {
    /// Put `side` of a connected call (None: the customer) on hold: it hears the queue's
    /// music (a queue call) or `[calls] hold_music`; the other side hears silence.
    pub fn hold(
        &mut self,
        now: Instant,
        uuid: &str,
        side: Option<Side>,
    ) -> Result<Side, CallControlError> {
        let call = self.connected_call(uuid)?;
        let Some(c) = self.calls.calls.get(&call) else {
            return Err(CallControlError::NoCall(uuid.to_string()));
        };
        if c.api_hold.is_some() {
            return Err(CallControlError::AlreadyHeld(uuid.to_string()));
        }
        let side = side.unwrap_or_else(|| customer_side(c));
        self.start_hold(now, call, side);
        self.out.push_back(Output::Event(CallEvent::Held {
            call: uuid.to_string(),
            by: side,
            api: true,
        }));
        Ok(side)
    }

    /// Take a call held with `hold` off hold: the two sides hear each other again.
    pub fn resume(&mut self, now: Instant, uuid: &str) -> Result<Side, CallControlError> {
        let call = self.call_by_uuid(uuid)?;
        if self
            .calls
            .calls
            .get(&call)
            .is_some_and(|c| c.consult.is_some())
        {
            return Err(CallControlError::Unsupported {
                call: uuid.to_string(),
                what: "resumed now",
                why: "a consultation is under way: CompleteTransfer or CancelConsult it",
            });
        }
        let Some(side) = self.calls.calls.get(&call).and_then(|c| c.api_hold) else {
            return Err(CallControlError::NotHeld(uuid.to_string()));
        };
        self.stop_hold(now, call);
        self.out
            .push_back(Output::Media(MediaCommand::Bridge { call, on: true }));
        self.out.push_back(Output::Event(CallEvent::Resumed {
            call: uuid.to_string(),
            by: side,
            api: true,
        }));
        Ok(side)
    }

    /// Unbridge and play music to `side` (also what a consultation or transfer starts with).
    pub(super) fn start_hold(&mut self, now: Instant, call: CallRef, side: Side) {
        let music = self.hold_music(call);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        c.api_hold = Some(side);
        tracing::info!(call = %c.uuid, ?side, "held through the API");
        self.out
            .push_back(Output::Media(MediaCommand::Bridge { call, on: false }));
        self.play(call, side, vec![music], true);
        self.acd_hold(now, call, true);
    }

    /// Stop the hold music (the caller of this decides what is bridged next).
    pub(super) fn stop_hold(&mut self, now: Instant, call: CallRef) {
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        let Some(side) = c.api_hold.take() else {
            return;
        };
        tracing::info!(call = %c.uuid, ?side, "taken off hold");
        self.out
            .push_back(Output::Media(MediaCommand::StopPlay { call, side }));
        self.acd_hold(now, call, false);
    }

    /// The queue's music for a queue call that has some, else the configured hold music.
    fn hold_music(&self, call: CallRef) -> String {
        let queue_music = self.calls.calls.get(&call).and_then(|c| {
            let q = c.cdr.queue.as_deref()?;
            self.cfg
                .acd
                .queues
                .iter()
                .find(|x| x.name == q)?
                .caller
                .music
                .clone()
        });
        queue_music.unwrap_or_else(|| self.cfg.hold_music.clone())
    }
}
