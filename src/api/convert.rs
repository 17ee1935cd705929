//! Engine events to protobuf events, with the call, queue and agent each one concerns (what
//! filters match on). The converter lives in the main loop beside the bus writer and
//! remembers which queue and agent each call is with, learnt from the ACD's events.

use std::collections::HashMap;

use super::pb;
use super::views::agent_state;
use crate::acd::{AcdEvent, EventKind, ExitReason, OfferEnd, Party, Target};
use crate::sip::endpoint::calls::{CallEvent, DispositionSet, RecordingNote, RecordingPhase, Side};
use pb::acd_event::Kind as A;
use pb::event::Payload;

/// Calls the converter tracks at most (a bound, should wrap-up ends ever go missing).
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Default)]
struct Tracked {
    uuid: String,
    queue: String,
    agent: String,
}

#[derive(Debug, Default)]
pub struct Converter {
    agents: Vec<String>,
    queues: Vec<String>,
    /// ACD call number → the call.
    acd_calls: HashMap<u64, Tracked>,
    /// Call id → its ACD call number, while the call is up.
    by_uuid: HashMap<String, u64>,
    /// Call id → the file its running recording writes (events after `Started` name it).
    recordings: HashMap<String, String>,
}

pub(super) fn side(s: Side) -> i32 {
    match s {
        Side::A => pb::Side::Caller as i32,
        Side::B => pb::Side::Callee as i32,
    }
}

fn target(t: &Target) -> String {
    match t {
        Target::Queue { queue } => format!("queue:{queue}"),
        Target::Voicemail { mailbox } => format!("voicemail:{mailbox}"),
        Target::Callback => "callback".to_string(),
        Target::Extension { extension } => format!("extension:{extension}"),
    }
}

impl Converter {
    /// `agents` and `queues`: the ACD's names by id (`Endpoint::acd_names`).
    pub fn new(agents: Vec<String>, queues: Vec<String>) -> Converter {
        Converter {
            agents,
            queues,
            ..Default::default()
        }
    }

    /// A call event at `unix_ms`.
    pub fn call_event(&mut self, ev: CallEvent, unix_ms: i64) -> pb::Event {
        let (call, payload) = match ev {
            CallEvent::Created {
                call,
                caller,
                callee,
            } => (
                call,
                Payload::CallCreated(pb::CallCreated { caller, callee }),
            ),
            CallEvent::Ringing { call } => (call, Payload::CallRinging(pb::CallRinging {})),
            CallEvent::Answered { call } => (call, Payload::CallAnswered(pb::CallAnswered {})),
            CallEvent::Held { call, by, api } => {
                (call, Payload::CallHeld(pb::CallHeld { by: side(by), api }))
            }
            CallEvent::Resumed { call, by, api } => (
                call,
                Payload::CallResumed(pb::CallResumed { by: side(by), api }),
            ),
            CallEvent::Transferred {
                call,
                target,
                destination,
                kind,
            } => (
                call,
                Payload::CallTransferred(pb::CallTransferred {
                    target,
                    kind: kind.to_string(),
                    destination: destination.to_string(),
                }),
            ),
            CallEvent::Dtmf {
                call,
                side: s,
                digit,
            } => (
                call,
                Payload::Dtmf(pb::Dtmf {
                    side: side(s),
                    digit: digit.to_string(),
                }),
            ),
            CallEvent::Ended { call, cause } => (call, Payload::CallEnded(pb::CallEnded { cause })),
        };
        let (queue, agent) = self
            .by_uuid
            .get(&call)
            .and_then(|id| self.acd_calls.get(id))
            .map(|t| (t.queue.clone(), t.agent.clone()))
            .unwrap_or_default();
        if matches!(payload, Payload::CallEnded(_)) {
            // The ACD number stays known until its wrap-up ends (WrapUpDone names it).
            self.by_uuid.remove(&call);
        }
        pb::Event {
            seq: 0,
            unix_ms,
            call_id: call,
            queue,
            agent,
            payload: Some(payload),
        }
    }

    fn tracked(&self, call: &str) -> (String, String) {
        self.by_uuid
            .get(call)
            .and_then(|id| self.acd_calls.get(id))
            .map(|t| (t.queue.clone(), t.agent.clone()))
            .unwrap_or_default()
    }

    /// A recording's change. `path`: for `Started`, the file it writes (None: no recorder
    /// runs, so the recording failed).
    pub fn recording_event(
        &mut self,
        note: &RecordingNote,
        path: Option<String>,
        unix_ms: i64,
    ) -> pb::Event {
        use pb::RecordingState as S;
        let (state, path) = match note.phase {
            RecordingPhase::Started => match path {
                Some(p) => {
                    if self.recordings.len() >= MAX_TRACKED {
                        self.recordings.clear();
                    }
                    self.recordings.insert(note.call.clone(), p.clone());
                    (S::Started, p)
                }
                None => (S::Failed, String::new()),
            },
            RecordingPhase::Paused => (S::Paused, self.recording_path(&note.call)),
            RecordingPhase::Resumed => (S::Resumed, self.recording_path(&note.call)),
            RecordingPhase::Stopped => (
                S::Stopped,
                self.recordings.remove(&note.call).unwrap_or_default(),
            ),
        };
        let (queue, agent) = self.tracked(&note.call);
        pb::Event {
            seq: 0,
            unix_ms,
            call_id: note.call.clone(),
            queue,
            agent,
            payload: Some(Payload::Recording(pb::Recording {
                state: state as i32,
                path,
            })),
        }
    }

    fn recording_path(&self, call: &str) -> String {
        self.recordings.get(call).cloned().unwrap_or_default()
    }

    /// A disposition an agent set.
    pub fn disposition_event(&mut self, d: &DispositionSet, unix_ms: i64) -> pb::Event {
        let (queue, tracked_agent) = self.tracked(&d.call);
        let agent = d.agent.clone().unwrap_or(tracked_agent);
        pb::Event {
            seq: 0,
            unix_ms,
            call_id: d.call.clone(),
            queue,
            agent: agent.clone(),
            payload: Some(Payload::Disposition(pb::Disposition {
                agent,
                code: d.code.clone(),
                notes: d.notes.clone().unwrap_or_default(),
                callback_at_unix_ms: d.callback_at_unix_ms.unwrap_or(0),
            })),
        }
    }

    fn name(names: &[String], ix: u32) -> String {
        names.get(ix as usize).cloned().unwrap_or_default()
    }

    /// An ACD event; `uuid_of` finds the call id of an ACD call number the converter has
    /// not seen yet (`Endpoint::acd_call_uuid`).
    pub fn acd_event(
        &mut self,
        ev: &AcdEvent,
        uuid_of: impl Fn(u64) -> Option<String>,
    ) -> pb::Event {
        let (call, queue, agent, kind, done) = self.acd_kind(&ev.kind);
        let (call_id, queue, agent) = match call {
            Some(id) => {
                if self.acd_calls.len() >= MAX_TRACKED && !self.acd_calls.contains_key(&id) {
                    self.acd_calls.clear();
                    self.by_uuid.clear();
                }
                let t = self.acd_calls.entry(id).or_default();
                if t.uuid.is_empty() {
                    t.uuid = uuid_of(id).unwrap_or_default();
                    if !t.uuid.is_empty() {
                        self.by_uuid.insert(t.uuid.clone(), id);
                    }
                }
                if let Some(q) = queue {
                    t.queue = Self::name(&self.queues, q);
                }
                if let Some(a) = agent {
                    t.agent = Self::name(&self.agents, a);
                }
                let out = (t.uuid.clone(), t.queue.clone(), t.agent.clone());
                if done {
                    self.acd_calls.remove(&id);
                }
                out
            }
            None => (
                String::new(),
                queue
                    .map(|q| Self::name(&self.queues, q))
                    .unwrap_or_default(),
                agent
                    .map(|a| Self::name(&self.agents, a))
                    .unwrap_or_default(),
            ),
        };
        pb::Event {
            seq: 0,
            unix_ms: ev.at_ms as i64,
            call_id,
            queue,
            agent,
            payload: Some(Payload::Acd(pb::AcdEvent { kind: Some(kind) })),
        }
    }

    /// (ACD call number, queue, agent, payload, whether the ACD is done with the call).
    fn acd_kind(&self, k: &EventKind) -> (Option<u64>, Option<u32>, Option<u32>, A, bool) {
        match k {
            EventKind::Queued {
                call,
                queue,
                priority,
                position,
            } => (
                Some(call.0),
                Some(queue.0),
                None,
                A::Queued(pb::Queued {
                    priority: *priority as u32,
                    position: *position,
                }),
                false,
            ),
            EventKind::JoinRefused { call, queue, full } => (
                Some(call.0),
                Some(queue.0),
                None,
                A::JoinRefused(pb::JoinRefused { full: *full }),
                true,
            ),
            EventKind::Offered {
                call,
                queue,
                agent,
                offer,
                callback,
            } => (
                Some(call.0),
                Some(queue.0),
                Some(agent.0),
                // The screen pop (caller, IVR input, history) is filled in by the driver,
                // which has the call and the store.
                A::Offered(pb::Offered {
                    offer_id: offer.0,
                    callback: *callback,
                    ..Default::default()
                }),
                false,
            ),
            EventKind::OfferEnded {
                call,
                queue,
                agent,
                offer,
                end,
                ring_ms,
            } => (
                Some(call.0),
                Some(queue.0),
                Some(agent.0),
                A::OfferEnded(pb::OfferEnded {
                    offer_id: offer.0,
                    end: match end {
                        OfferEnd::NoAnswer => pb::OfferEnd::NoAnswer,
                        OfferEnd::Rejected => pb::OfferEnd::Rejected,
                        OfferEnd::Busy => pb::OfferEnd::Busy,
                        OfferEnd::Cancelled => pb::OfferEnd::Cancelled,
                    } as i32,
                    ring_ms: *ring_ms,
                }),
                false,
            ),
            EventKind::Connected {
                call,
                queue,
                agent,
                offer,
                wait_ms,
                ring_ms,
                callback,
            } => (
                Some(call.0),
                Some(queue.0),
                Some(agent.0),
                A::Connected(pb::Connected {
                    offer_id: offer.0,
                    wait_ms: *wait_ms,
                    ring_ms: *ring_ms,
                    callback: *callback,
                }),
                false,
            ),
            EventKind::Hold { call, on } => (
                Some(call.0),
                None,
                None,
                A::Hold(pb::AcdHold { on: *on }),
                false,
            ),
            EventKind::Ended {
                call,
                queue,
                agent,
                by,
                wait_ms,
                talk_ms,
                hold_ms,
                orig_position,
            } => (
                Some(call.0),
                Some(queue.0),
                Some(agent.0),
                A::Ended(pb::AcdCallEnded {
                    by: match by {
                        Party::Caller => pb::Party::Caller,
                        Party::Agent => pb::Party::Agent,
                    } as i32,
                    wait_ms: *wait_ms,
                    talk_ms: *talk_ms,
                    hold_ms: *hold_ms,
                    orig_position: *orig_position,
                }),
                false,
            ),
            EventKind::WrapUpDone {
                call,
                queue,
                agent,
                wrap_ms,
            } => (
                Some(call.0),
                Some(queue.0),
                Some(agent.0),
                A::WrapUpDone(pb::WrapUpDone { wrap_ms: *wrap_ms }),
                true,
            ),
            EventKind::Abandoned {
                call,
                queue,
                wait_ms,
                position,
                orig_position,
                callback,
            } => (
                Some(call.0),
                Some(queue.0),
                None,
                A::Abandoned(pb::Abandoned {
                    wait_ms: *wait_ms,
                    position: *position,
                    orig_position: *orig_position,
                    callback: *callback,
                }),
                true,
            ),
            EventKind::CallbackRequested { call, queue } => (
                Some(call.0),
                Some(queue.0),
                None,
                A::CallbackRequested(pb::CallbackRequested {}),
                false,
            ),
            EventKind::StepReached { call, queue, step } => (
                Some(call.0),
                Some(queue.0),
                None,
                A::StepReached(pb::StepReached { step: *step as u32 }),
                false,
            ),
            EventKind::Overflowed {
                call,
                queue,
                target: t,
                wait_ms,
            } => (
                Some(call.0),
                Some(queue.0),
                None,
                A::Overflowed(pb::Overflowed {
                    target: target(t),
                    wait_ms: *wait_ms,
                }),
                true,
            ),
            EventKind::Exited {
                call,
                queue,
                reason,
                wait_ms,
                position,
                orig_position,
            } => (
                Some(call.0),
                Some(queue.0),
                None,
                A::Exited(pb::Exited {
                    reason: match reason {
                        ExitReason::Timeout => pb::ExitReason::Timeout,
                        ExitReason::Empty => pb::ExitReason::Empty,
                    } as i32,
                    wait_ms: *wait_ms,
                    position: *position,
                    orig_position: *orig_position,
                }),
                true,
            ),
            EventKind::AgentState {
                agent,
                from,
                to,
                duration_ms,
                reason,
            } => (
                None,
                None,
                Some(agent.0),
                A::AgentState(pb::AgentStateChanged {
                    from: agent_state(*from) as i32,
                    to: agent_state(*to) as i32,
                    duration_ms: *duration_ms,
                    reason: reason.clone().unwrap_or_default(),
                }),
                false,
            ),
            EventKind::MemberAdded { agent, queue } => (
                None,
                Some(queue.0),
                Some(agent.0),
                A::MemberAdded(pb::MemberAdded {}),
                false,
            ),
            EventKind::MemberRemoved { agent, queue } => (
                None,
                Some(queue.0),
                Some(agent.0),
                A::MemberRemoved(pb::MemberRemoved {}),
                false,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::{AgentId, CallId, OfferId, QueueId};

    fn at(kind: EventKind) -> AcdEvent {
        AcdEvent { at_ms: 5, kind }
    }

    #[test]
    fn a_queued_call_carries_its_queue_and_agent_to_its_end_and_wrap_up() {
        let mut c = Converter::new(vec!["alice".into()], vec!["billing".into()]);
        let lookup = |id: u64| (id == 7).then(|| "uuid-7".to_string());
        let (call, queue, agent, offer) = (CallId(7), QueueId(0), AgentId(0), OfferId(1));
        let q = c.acd_event(
            &at(EventKind::Queued {
                call,
                queue,
                priority: 0,
                position: 1,
            }),
            lookup,
        );
        assert_eq!(
            (q.call_id.as_str(), q.queue.as_str(), q.agent.as_str()),
            ("uuid-7", "billing", "")
        );
        assert_eq!(q.unix_ms, 5);
        let conn = c.acd_event(
            &at(EventKind::Connected {
                call,
                queue,
                agent,
                offer,
                wait_ms: 1,
                ring_ms: 1,
                callback: false,
            }),
            |_| None,
        );
        assert_eq!(conn.agent, "alice");
        let ended = c.call_event(
            CallEvent::Ended {
                call: "uuid-7".into(),
                cause: "normal".into(),
            },
            9,
        );
        assert_eq!(
            (ended.queue.as_str(), ended.agent.as_str()),
            ("billing", "alice")
        );
        let wrap = c.acd_event(
            &at(EventKind::WrapUpDone {
                call,
                queue,
                agent,
                wrap_ms: 3,
            }),
            |_| None,
        );
        assert_eq!(wrap.call_id, "uuid-7");
        assert!(
            c.acd_calls.is_empty() && c.by_uuid.is_empty(),
            "forgotten after wrap-up"
        );
    }

    #[test]
    fn a_plain_call_has_no_queue_or_agent() {
        let mut c = Converter::default();
        let ev = c.call_event(
            CallEvent::Created {
                call: "u".into(),
                caller: "1001".into(),
                callee: "5551234".into(),
            },
            1,
        );
        assert_eq!(
            (ev.call_id.as_str(), ev.queue.as_str(), ev.agent.as_str()),
            ("u", "", "")
        );
        assert!(matches!(ev.payload, Some(Payload::CallCreated(_))));
    }
}
