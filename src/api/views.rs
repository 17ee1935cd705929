//! The endpoint's views as protobuf messages (snapshots and List* replies).

use std::time::Instant;

use super::pb;
use crate::acd::StateKind;
use crate::media::relay::MediaSummary;
use crate::sip::endpoint::calls::CallRef;
use crate::sip::endpoint::views::{AgentView, CallView, CallViewState, QueueView};
use crate::sip::endpoint::Endpoint;

/// A relay's live figures as the API shows them.
pub fn call_quality(s: &MediaSummary) -> pb::CallQuality {
    pb::CallQuality {
        caller_packets: s.a_to_b.packets,
        callee_packets: s.b_to_a.packets,
        loss_pct: s.loss * 100.0,
        jitter_ms: s.jitter_ms,
        mos: s.mos.unwrap_or(0.0),
        rtt_ms: s.rtt_ms.unwrap_or(0.0),
    }
}

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

pub fn call_info(c: CallView, quality: Option<MediaSummary>) -> pb::CallInfo {
    pb::CallInfo {
        held: c.held,
        quality: quality.as_ref().map(call_quality),
        call_id: c.id,
        state: match c.state {
            CallViewState::Ringing => pb::CallState::Ringing,
            CallViewState::Answered => pb::CallState::Answered,
            CallViewState::Confirmed => pb::CallState::Confirmed,
        } as i32,
        caller: c.caller,
        callee: c.callee,
        duration_ms: ms(c.duration),
        talk_ms: ms(c.talk),
        queue: c.queue.unwrap_or_default(),
        agent: c.agent.unwrap_or_default(),
    }
}

pub fn queue_info(q: QueueView) -> pb::QueueInfo {
    let k = q.kpi.unwrap_or_default();
    pb::QueueInfo {
        name: q.name,
        waiting: q.waiting as u32,
        longest_wait_ms: ms(q.longest_wait),
        offered: k.offered,
        answered: k.answered,
        abandoned: k.abandoned,
        answered_within_sl: k.answered_within_sl,
        service_level_pct: k.service_level.map(|f| f * 100.0),
        service_level_secs: q.service_level.as_secs() as u32,
        asa_ms: k.asa_ms,
        aht_ms: k.aht_ms,
        ewt_ms: q.ewt.map(ms),
        agents_logged_in: q.staff.logged_in,
        agents_ready: q.staff.ready,
        agents_busy: q.staff.busy,
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
    let k = a.kpi.unwrap_or_default();
    pb::AgentInfo {
        agent: a.agent,
        state: agent_state(a.state) as i32,
        reason: a.reason.unwrap_or_default(),
        phone: a.phone.unwrap_or_default(),
        in_state_ms: a.in_state.map(ms),
        calls_handled: k.calls_handled,
        talk_ms: k.talk_ms,
        occupancy_pct: k.occupancy.map(|f| f * 100.0),
        aht_ms: k.aht_ms,
    }
}

/// Every active call, with its relay's live figures from `quality`.
pub fn calls_with(
    endpoint: &Endpoint,
    now: Instant,
    quality: impl Fn(CallRef) -> Option<MediaSummary>,
) -> Vec<pb::CallInfo> {
    endpoint
        .calls_view(now)
        .into_iter()
        .map(|c| {
            let q = quality(c.call_ref);
            call_info(c, q)
        })
        .collect()
}

/// Every active call without media figures (the endpoint alone has none: the driver
/// adds them with `add_quality`).
pub fn calls(endpoint: &Endpoint, now: Instant) -> Vec<pb::CallInfo> {
    calls_with(endpoint, now, |_| None)
}

/// Fill in the relays' live figures of a ListCalls reply (made in `execute`, which sees
/// only the endpoint).
pub fn add_quality(
    calls: &mut [pb::CallInfo],
    endpoint: &Endpoint,
    now: Instant,
    quality: impl Fn(CallRef) -> Option<MediaSummary>,
) {
    let refs: std::collections::HashMap<String, CallRef> = endpoint
        .calls_view(now)
        .into_iter()
        .map(|c| (c.id, c.call_ref))
        .collect();
    for c in calls {
        if let Some(r) = refs.get(&c.call_id) {
            c.quality = quality(*r).as_ref().map(call_quality);
        }
    }
}

pub fn queues(endpoint: &Endpoint, now: Instant) -> Vec<pb::QueueInfo> {
    endpoint
        .queues_view(now)
        .into_iter()
        .map(queue_info)
        .collect()
}

pub fn agents(endpoint: &Endpoint, now: Instant) -> Vec<pb::AgentInfo> {
    endpoint
        .agents_view(now)
        .into_iter()
        .map(agent_info)
        .collect()
}

/// The once-a-second snapshot event (its sequence number is set by the bus), with each
/// call's live media figures from `quality`.
pub fn snapshot(
    endpoint: &Endpoint,
    now: Instant,
    unix_ms: i64,
    quality: impl Fn(CallRef) -> Option<MediaSummary>,
) -> pb::Event {
    pb::Event {
        unix_ms,
        payload: Some(pb::event::Payload::Snapshot(pb::Snapshot {
            calls: calls_with(endpoint, now, quality),
            queues: queues(endpoint, now),
            agents: agents(endpoint, now),
        })),
        ..Default::default()
    }
}
