//! `switchboard report`: per-queue and per-agent KPIs for an interval, folded exactly from the
//! stored ACD events by `acd::kpi` (exact, never running averages), named from the config.
//!
//! `build` is pure (events + config + interval in, numbers out); `table` renders it for a
//! terminal, serde renders it as JSON. Reading the store and the clock is `main.rs`'s job.

mod table;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::acd::config::ServiceLevelFormula;
use crate::acd::kpi::{self, Histogram, Interval, QueueParams, BUCKETS_SECS};
use crate::acd::{AcdConfig, AcdEvent, AgentId, QueueId, StateKind};

pub use table::table;

/// How far before the interval the report reads events: callers still waiting and agent
/// states still open at its start began before it. A state or wait older than this with no
/// event since is not seen (an agent Ready for more than a day without a single event).
pub const LOOKBACK_MS: u64 = 24 * 3_600_000;

/// The first `at_ms` to load from the store for `iv`.
pub fn load_since(iv: Interval) -> u64 {
    iv.from_ms.saturating_sub(LOOKBACK_MS)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from_ms: u64,
    pub to_ms: u64,
    pub queues: Vec<QueueReport>,
    pub agents: Vec<AgentReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueReport {
    pub name: String,
    pub waiting_now: u32,
    pub longest_wait_now_ms: u64,
    pub offered: u64,
    pub answered: u64,
    pub answered_within_sl: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub overflowed: u64,
    pub exited: u64,
    pub service_level_secs: u64,
    pub service_level_formula: &'static str,
    /// 0.0–1.0; `None` when the formula's denominator is 0.
    pub service_level: Option<f64>,
    pub asa_ms: Option<u64>,
    pub aht_ms: Option<u64>,
    pub talk_time: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentReport {
    pub id: String,
    pub name: String,
    /// Time in each state inside the interval, every state named (0 when never in it).
    pub state_ms: BTreeMap<&'static str, u64>,
    /// Every state but logged-out.
    pub logged_in_ms: u64,
    pub calls_handled: u64,
    pub talk_ms: u64,
    pub hold_ms: u64,
    pub wrap_ms: u64,
    pub aht_ms: Option<u64>,
    /// 0.0–1.0; `None` when the agent was neither ready nor busy.
    pub occupancy: Option<f64>,
    pub talk_time: Vec<Bucket>,
}

/// Talks up to `up_to_secs` (above the previous bucket's bound); `None` is the open last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub up_to_secs: Option<u64>,
    pub count: u64,
}

const STATES: [StateKind; 6] = [
    StateKind::LoggedOut,
    StateKind::Ready,
    StateKind::Offered,
    StateKind::OnCall,
    StateKind::WrapUp,
    StateKind::NotReady,
];

pub fn state_name(s: StateKind) -> &'static str {
    match s {
        StateKind::LoggedOut => "logged-out",
        StateKind::Ready => "ready",
        StateKind::Offered => "offered",
        StateKind::OnCall => "on-call",
        StateKind::WrapUp => "wrap-up",
        StateKind::NotReady => "not-ready",
    }
}

fn formula_name(f: ServiceLevelFormula) -> &'static str {
    // The config's spelling (kebab-case), so the report names what the file says.
    match f {
        ServiceLevelFormula::Answered => "answered",
        ServiceLevelFormula::AnsweredAndAbandoned => "answered-and-abandoned",
        ServiceLevelFormula::ExcludeShortAbandons => "exclude-short-abandons",
    }
}

fn buckets(h: &Histogram) -> Vec<Bucket> {
    h.counts
        .iter()
        .enumerate()
        .map(|(i, &count)| Bucket {
            up_to_secs: BUCKETS_SECS.get(i).copied(),
            count,
        })
        .collect()
}

/// Fold `events` (in emission order, including those from `load_since(iv)` on) into the
/// KPIs of every configured queue and agent. Ids are config indices (see `acd::ids`).
pub fn build(events: &[AcdEvent], acd: &AcdConfig, iv: Interval) -> Report {
    let queues = acd
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let k = kpi::queue_kpis(events, QueueId(i as u32), &QueueParams::from(q), iv);
            QueueReport {
                name: q.name.clone(),
                waiting_now: k.waiting_now,
                longest_wait_now_ms: k.longest_wait_now_ms,
                offered: k.offered,
                answered: k.answered,
                answered_within_sl: k.answered_within_sl,
                abandoned: k.abandoned,
                short_abandoned: k.short_abandoned,
                overflowed: k.overflowed,
                exited: k.exited,
                service_level_secs: q.service_level_secs,
                service_level_formula: formula_name(q.service_level_formula),
                service_level: k.service_level,
                asa_ms: k.asa_ms,
                aht_ms: k.aht_ms,
                talk_time: buckets(&k.talk),
            }
        })
        .collect();
    let agents = acd
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let k = kpi::agent_kpis(events, AgentId(i as u32), iv);
            let state_ms: BTreeMap<_, _> = STATES
                .iter()
                .map(|&s| (state_name(s), k.state_ms.get(&s).copied().unwrap_or(0)))
                .collect();
            let logged_in_ms = k
                .state_ms
                .iter()
                .filter(|(s, _)| **s != StateKind::LoggedOut)
                .map(|(_, ms)| ms)
                .sum();
            AgentReport {
                id: a.id.clone(),
                name: a.name.clone(),
                state_ms,
                logged_in_ms,
                calls_handled: k.calls_handled,
                talk_ms: k.talk_ms,
                hold_ms: k.hold_ms,
                wrap_ms: k.wrap_ms,
                aht_ms: k.aht_ms,
                occupancy: k.occupancy,
                talk_time: buckets(&k.talk),
            }
        })
        .collect();
    Report {
        from_ms: iv.from_ms,
        to_ms: iv.to_ms,
        queues,
        agents,
    }
}

#[cfg(test)]
mod tests;

/// The local time zone's offset from UTC at `unix_ms` (so "midnight" is the supervisor's).
pub fn utc_offset_secs(unix_ms: u64) -> i64 {
    let t = (unix_ms / 1000) as libc::time_t;
    // SAFETY: localtime_r only writes the `tm` we own; a zeroed `tm` is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}
