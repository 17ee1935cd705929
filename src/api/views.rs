//! The endpoint's views as protobuf messages (snapshots and List* replies).

use std::time::Instant;

use super::pb;
use crate::acd::StateKind;
use crate::sip::endpoint::views::{AgentView, CallView, CallViewState, QueueView};
use crate::sip::endpoint::Endpoint;

pub fn call_info(c: CallView) -> pb::CallInfo {
    pb::CallInfo {
        call_id: c.id,
        state: match c.state {
            CallViewState::Ringing => pb::CallState::Ringing,
            CallViewState::Answered => pb::CallState::Answered,
            CallViewState::Confirmed => pb::CallState::Confirmed,
        } as i32,
        caller: c.caller,
        callee: c.callee,
        duration_ms: c.duration.as_millis() as u64,
        talk_ms: c.talk.as_millis() as u64,
        queue: c.queue.unwrap_or_default(),
        agent: c.agent.unwrap_or_default(),
    }
}

pub fn queue_info(q: QueueView) -> pb::QueueInfo {
    pb::QueueInfo {
        name: q.name,
        waiting: q.waiting as u32,
        longest_wait_ms: q.longest_wait.as_millis() as u64,
    }
}

pub fn agent_state(k: StateKind) -> pb::AgentState {
    match k {
        StateKind::LoggedOut => pb::AgentState::LoggedOut,
        StateKind::Ready => pb::AgentState::Ready,
        StateKind::Offered => pb::AgentState::Offered,
        StateKind::OnCall => pb::AgentState::OnCall,
        StateKind::WrapUp => pb::AgentState::WrapUp,
        StateKind::NotReady => pb::AgentState::NotReady,
    }
}

pub fn agent_info(a: AgentView) -> pb::AgentInfo {
    pb::AgentInfo {
        agent: a.agent,
        state: agent_state(a.state) as i32,
        reason: a.reason.unwrap_or_default(),
        phone: a.phone.unwrap_or_default(),
    }
}

pub fn calls(endpoint: &Endpoint, now: Instant) -> Vec<pb::CallInfo> {
    endpoint
        .calls_view(now)
        .into_iter()
        .map(call_info)
        .collect()
}

pub fn queues(endpoint: &Endpoint, now: Instant) -> Vec<pb::QueueInfo> {
    endpoint
        .queues_view(now)
        .into_iter()
        .map(queue_info)
        .collect()
}

pub fn agents(endpoint: &Endpoint) -> Vec<pb::AgentInfo> {
    endpoint.agents_view().into_iter().map(agent_info).collect()
}

/// The once-a-second snapshot event (its sequence number is set by the bus).
pub fn snapshot(endpoint: &Endpoint, now: Instant, unix_ms: i64) -> pb::Event {
    pb::Event {
        unix_ms,
        payload: Some(pb::event::Payload::Snapshot(pb::Snapshot {
            calls: calls(endpoint, now),
            queues: queues(endpoint, now),
            agents: agents(endpoint),
        })),
        ..Default::default()
    }
}
