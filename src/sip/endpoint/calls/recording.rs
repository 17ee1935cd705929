//! Recording decisions for a call, sans-IO: the policy is resolved when the caller is
//! connected to the callee (answered through us, or bridged to the extension or agent of a
//! call we answered — never while it rings or waits in the IVR/queue), an `always` call
//! starts then, and `Endpoint::recording_control` starts, stops, pauses and resumes at
//! runtime. The relay and writer threads do the rest (`MediaCommand::Record`).

use std::collections::HashMap;
use std::time::Instant;

use super::{CallRef, MediaCommand};
use crate::recording::policy::{resolve, Levels};
use crate::recording::{NameFields, Policy};
use crate::sip::endpoint::{Endpoint, Output};

/// The policy levels the endpoint knows (trunks', users' and routes' are on their configs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingPolicies {
    pub default: Policy,
    pub queues: HashMap<String, Policy>,
    pub users: HashMap<String, Policy>,
    pub trunks: HashMap<String, Policy>,
}

/// What the relay is asked to do with a call's recording.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOp {
    Start {
        at: Instant,
        fields: Box<NameFields>,
    },
    Pause {
        at: Instant,
    },
    Resume {
        at: Instant,
    },
    Stop {
        at: Instant,
    },
}

/// A recording's change, for the event stream (policy-driven or asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingPhase {
    Started,
    Paused,
    Resumed,
    Stopped,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordingNote {
    /// The call's id.
    pub call: String,
    pub phase: RecordingPhase,
    /// With `Started`: what the file is named from (the driver knows the template).
    pub fields: Option<Box<NameFields>>,
}

/// Runtime control (the gRPC API's Start/Stop/Pause/ResumeRecording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingControl {
    Start,
    Stop,
    Pause,
    Resume,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordingControlError {
    #[error("no such call")]
    NoSuchCall,
    #[error("the call is not connected yet (recording starts at the bridge)")]
    NotConnected,
    #[error("recording is forbidden for this call by its policy (`never`)")]
    Forbidden,
    #[error("the call is already being recorded")]
    AlreadyRecording,
    #[error("the call is not being recorded")]
    NotRecording,
    #[error("the recording is not paused")]
    NotPaused,
    #[error("the call's recording was stopped; one recording per call")]
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum RecState {
    #[default]
    Idle,
    Recording,
    Paused,
    Stopped,
}

/// Per call.
#[derive(Debug, Clone, Default)]
pub(super) struct CallRecording {
    /// The dial-plan route's policy, noted when the call was routed.
    pub route: Option<Policy>,
    /// Resolved at the connection; None before.
    policy: Option<Policy>,
    state: RecState,
}

impl CallRecording {
    pub fn routed(route: Option<Policy>) -> Self {
        CallRecording {
            route,
            ..Default::default()
        }
    }
}

impl Endpoint {
    /// The call's two parties hear each other now: resolve the policy, start if `always`.
    pub(super) fn recording_connected(&mut self, now: Instant, call: CallRef) {
        let p = &self.cfg.recording;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if c.rec.policy.is_some() {
            return;
        }
        let user = |n: &str| p.users.get(n).copied();
        let levels = Levels {
            users: [user(&c.cdr.callee), user(&c.cdr.caller)],
            queue: c.cdr.queue.as_ref().and_then(|q| p.queues.get(q).copied()),
            route: c.rec.route,
            trunk: c.cdr.trunk.as_ref().and_then(|t| p.trunks.get(t).copied()),
        };
        let policy = resolve(p.default, &levels);
        c.rec.policy = Some(policy);
        tracing::debug!(call = %c.uuid, ?policy, "recording policy");
        if policy == Policy::Always {
            self.recording_start(now, call);
        }
    }

    fn recording_start(&mut self, now: Instant, call: CallRef) {
        let start_ms = self.calls.unix_ms(now);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        c.rec.state = RecState::Recording;
        let fields = NameFields {
            start_unix_ms: start_ms,
            call_id: c.uuid.clone(),
            caller: c.cdr.caller.clone(),
            callee: c.cdr.callee.clone(),
            queue: c.cdr.queue.clone(),
            agent: c.cdr.agent.clone(),
        };
        tracing::info!(call = %c.uuid, "recording started");
        let uuid = c.uuid.clone();
        self.out.push_back(Output::Media(MediaCommand::Record {
            call,
            op: RecordOp::Start {
                at: now,
                fields: Box::new(fields.clone()),
            },
        }));
        self.out.push_back(Output::Recording(RecordingNote {
            call: uuid,
            phase: RecordingPhase::Started,
            fields: Some(Box::new(fields)),
        }));
    }

    /// Stop a running recording as the call ends (the relay reports its outcome).
    pub(super) fn recording_call_over(&mut self, now: Instant, call: CallRef) {
        if let Some(c) = self.calls.calls.get_mut(&call) {
            if matches!(c.rec.state, RecState::Recording | RecState::Paused) {
                c.rec.state = RecState::Stopped;
                self.out.push_back(Output::Media(MediaCommand::Record {
                    call,
                    op: RecordOp::Stop { at: now },
                }));
                self.out.push_back(Output::Recording(RecordingNote {
                    call: c.uuid.clone(),
                    phase: RecordingPhase::Stopped,
                    fields: None,
                }));
            }
        }
    }

    /// Start, stop, pause or resume the recording of the call `uuid`. Pause writes silence
    /// for the paused span (how card numbers stay out of recordings).
    pub fn recording_control(
        &mut self,
        now: Instant,
        uuid: &str,
        op: RecordingControl,
    ) -> Result<(), RecordingControlError> {
        use RecordingControlError as E;
        let (&call, c) = self
            .calls
            .calls
            .iter_mut()
            .find(|(_, c)| c.uuid == uuid)
            .ok_or(E::NoSuchCall)?;
        let Some(policy) = c.rec.policy else {
            return Err(E::NotConnected);
        };
        let next = match (op, c.rec.state) {
            (RecordingControl::Start, _) if policy == Policy::Never => return Err(E::Forbidden),
            (RecordingControl::Start, RecState::Idle) => {
                self.recording_start(now, call);
                return Ok(());
            }
            (RecordingControl::Start, RecState::Stopped) => return Err(E::Stopped),
            (RecordingControl::Start, _) => return Err(E::AlreadyRecording),
            (RecordingControl::Stop, RecState::Recording | RecState::Paused) => {
                (RecState::Stopped, RecordOp::Stop { at: now })
            }
            (RecordingControl::Pause, RecState::Recording) => {
                (RecState::Paused, RecordOp::Pause { at: now })
            }
            (RecordingControl::Pause, RecState::Paused) => return Ok(()),
            (RecordingControl::Resume, RecState::Paused) => {
                (RecState::Recording, RecordOp::Resume { at: now })
            }
            (RecordingControl::Resume, RecState::Recording) => return Err(E::NotPaused),
            (_, RecState::Stopped) => return Err(E::Stopped),
            (_, _) => return Err(E::NotRecording),
        };
        c.rec.state = next.0;
        tracing::info!(call = %c.uuid, ?op, "recording control");
        let phase = match next.1 {
            RecordOp::Pause { .. } => RecordingPhase::Paused,
            RecordOp::Resume { .. } => RecordingPhase::Resumed,
            _ => RecordingPhase::Stopped,
        };
        let note = RecordingNote {
            call: c.uuid.clone(),
            phase,
            fields: None,
        };
        self.out
            .push_back(Output::Media(MediaCommand::Record { call, op: next.1 }));
        self.out.push_back(Output::Recording(note));
        Ok(())
    }
}
