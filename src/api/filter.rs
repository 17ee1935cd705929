//! A subscriber's filter (`SubscribeRequest` queues, agents, calls, kinds).

use std::collections::HashSet;

use super::bus::Shared;
use super::codec::Outgoing;
use super::pb;
use pb::event::Payload;

#[derive(Debug, Default, Clone)]
pub struct Filter {
    queues: HashSet<String>,
    agents: HashSet<String>,
    calls: HashSet<String>,
    kinds: HashSet<i32>,
}

/// The kind of an event's payload.
pub fn kind_of(ev: &pb::Event) -> pb::EventKind {
    use pb::EventKind as K;
    match &ev.payload {
        Some(Payload::CallCreated(_)) => K::CallCreated,
        Some(Payload::CallRinging(_)) => K::CallRinging,
        Some(Payload::CallAnswered(_)) => K::CallAnswered,
        Some(Payload::CallHeld(_)) => K::CallHeld,
        Some(Payload::CallResumed(_)) => K::CallResumed,
        Some(Payload::Dtmf(_)) => K::Dtmf,
        Some(Payload::CallEnded(_)) => K::CallEnded,
        Some(Payload::Acd(_)) => K::Acd,
        Some(Payload::Snapshot(_)) => K::Snapshot,
        Some(Payload::Gap(_)) => K::Gap,
        Some(Payload::Campaign(_)) => K::Campaign,
        Some(Payload::CallTransferred(_)) => K::CallTransferred,
        Some(Payload::Recording(_)) => K::Recording,
        Some(Payload::Disposition(_)) => K::Disposition,
        None => K::Unspecified,
    }
}

impl Filter {
    pub fn new(req: &pb::SubscribeRequest) -> Filter {
        Filter {
            queues: req.queues.iter().cloned().collect(),
            agents: req.agents.iter().cloned().collect(),
            calls: req.calls.iter().cloned().collect(),
            kinds: req.kinds.iter().copied().collect(),
        }
    }

    fn fields_match(&self, call: &str, queue: &str, agent: &str) -> bool {
        (self.calls.is_empty() || self.calls.contains(call))
            && (self.queues.is_empty() || self.queues.contains(queue))
            && (self.agents.is_empty() || self.agents.contains(agent))
    }

    /// Whether to send `ev`, and in which form (a snapshot is narrowed to what matches:
    /// then it is this subscriber's own, encoded for it alone).
    pub fn apply(&self, ev: &Shared) -> Option<Outgoing> {
        let kind = kind_of(ev);
        if kind == pb::EventKind::Gap {
            return Some(Outgoing::Shared(ev.clone()));
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&(kind as i32)) {
            return None;
        }
        let Some(Payload::Snapshot(s)) = &ev.payload else {
            return self
                .fields_match(&ev.call_id, &ev.queue, &ev.agent)
                .then(|| Outgoing::Shared(ev.clone()));
        };
        if self.queues.is_empty() && self.agents.is_empty() && self.calls.is_empty() {
            return Some(Outgoing::Shared(ev.clone()));
        }
        let mut s = s.clone();
        s.calls
            .retain(|c| self.fields_match(&c.call_id, &c.queue, &c.agent));
        s.queues
            .retain(|q| self.queues.is_empty() || self.queues.contains(&q.name));
        s.agents
            .retain(|a| self.agents.is_empty() || self.agents.contains(&a.agent));
        let mut out = ev.event.clone();
        out.payload = Some(Payload::Snapshot(s));
        Some(Outgoing::Own(out))
    }
}
