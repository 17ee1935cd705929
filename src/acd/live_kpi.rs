//! Today's KPIs of every queue and agent, live: the exact `kpi` folds fed each ACD event as
//! the engine emits it (so a snapshot costs one read per queue and agent, not a pass over the
//! day), restarted at local midnight. After a restart the driver replays the day's stored
//! events, so the figures survive `kill -9`.

use super::event::{AcdEvent, EventKind, StateKind};
use super::ids::{AgentId, QueueId};
use super::kpi::{AgentFold, AgentKpi, Interval, QueueFold, QueueKpi, QueueParams};

#[derive(Debug, Clone)]
pub struct LiveKpis {
    utc_offset_secs: i64,
    /// Start of the day being counted (unix ms).
    day_from_ms: u64,
    queues: Vec<QueueFold>,
    agents: Vec<AgentFold>,
}

/// The queue and agent an event is about, for dispatch (None: not about one).
fn parties(kind: &EventKind) -> (Option<QueueId>, Option<AgentId>) {
    use EventKind as K;
    match kind {
        K::Queued { queue, .. }
        | K::JoinRefused { queue, .. }
        | K::Abandoned { queue, .. }
        | K::CallbackRequested { queue, .. }
        | K::StepReached { queue, .. }
        | K::Overflowed { queue, .. }
        | K::Exited { queue, .. } => (Some(*queue), None),
        K::Offered { queue, agent, .. }
        | K::OfferEnded { queue, agent, .. }
        | K::Connected { queue, agent, .. }
        | K::Ended { queue, agent, .. }
        | K::WrapUpDone { queue, agent, .. }
        | K::MemberAdded { queue, agent }
        | K::MemberRemoved { queue, agent } => (Some(*queue), Some(*agent)),
        K::AgentState { agent, .. } => (None, Some(*agent)),
        K::Hold { .. } => (None, None),
    }
}

impl LiveKpis {
    /// Folds for `queues` (by QueueId) and `agents` agents; the day starts at the local
    /// midnight before the first event (or `roll`).
    pub fn new(queues: &[QueueParams], agents: usize, utc_offset_secs: i64) -> Self {
        let from = 0;
        LiveKpis {
            utc_offset_secs,
            day_from_ms: from,
            queues: queues
                .iter()
                .enumerate()
                .map(|(i, p)| QueueFold::new(QueueId(i as u32), *p, from))
                .collect(),
            agents: (0..agents)
                .map(|i| AgentFold::new(AgentId(i as u32), from))
                .collect(),
        }
    }

    /// Move to the day of `now_ms` if it has begun (counts restart; who waits carries over).
    pub fn roll(&mut self, now_ms: u64) {
        let from = Interval::since_midnight(now_ms, self.utc_offset_secs).from_ms;
        if from > self.day_from_ms {
            self.day_from_ms = from;
            self.queues.iter_mut().for_each(|q| q.restart(from));
            self.agents.iter_mut().for_each(|a| a.restart(from));
        }
    }

    /// One event, in the order the engine emitted them.
    pub fn add(&mut self, ev: &AcdEvent) {
        self.roll(ev.at_ms);
        let (q, a) = parties(&ev.kind);
        if let Some(f) = q.and_then(|q| self.queues.get_mut(q.0 as usize)) {
            f.add(ev);
        }
        if let Some(f) = a.and_then(|a| self.agents.get_mut(a.0 as usize)) {
            f.add(ev);
        }
    }

    /// Start of the day being counted (unix ms).
    pub fn day_from_ms(&self) -> u64 {
        self.day_from_ms
    }

    /// The queue's KPIs from midnight to `now_ms`.
    pub fn queue(&self, q: QueueId, now_ms: u64) -> Option<QueueKpi> {
        Some(self.queues.get(q.0 as usize)?.kpi(now_ms))
    }

    /// The agent's KPIs from midnight to `now_ms`.
    pub fn agent(&self, a: AgentId, now_ms: u64) -> Option<AgentKpi> {
        Some(self.agents.get(a.0 as usize)?.kpi(now_ms))
    }

    /// The agent's state and since when (unix ms), once a state change was seen.
    pub fn agent_since(&self, a: AgentId) -> Option<(StateKind, u64)> {
        self.agents.get(a.0 as usize)?.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::config::QueueConfig;
    use crate::acd::kpi::{agent_kpis, queue_kpis};
    use crate::acd::tests::{agent, H, UNIX0};
    use crate::acd::Output;

    /// A short day with an answered call, a wrap-up and an abandon, as the engine emits it.
    fn events() -> (H, Vec<AcdEvent>) {
        let q = QueueConfig {
            wrap_up_secs: 10,
            service_level_secs: 20,
            ..QueueConfig::named("q")
        };
        let mut h = H::new(vec![q], vec![agent("a", &[], &[("q", 0)])]);
        h.login(&["a"]);
        h.arrive(1, "q", 0);
        let o = h.one_offer();
        h.advance(5.0);
        h.answer(o.offer);
        h.arrive(2, "q", 0);
        h.advance(30.0);
        h.e.handle_caller_abandoned(h.now, crate::acd::CallId(2))
            .unwrap(); // invariant: call 2 waits (the agent talks to call 1)
        h.end(1);
        h.advance(10.0);
        h.arrive(3, "q", 0);
        h.advance(1.0);
        h.collect();
        let evs = h
            .out
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        (h, evs)
    }

    #[test]
    fn live_figures_equal_the_fold_over_the_whole_day() {
        let (h, evs) = events();
        let p = QueueParams::from(&QueueConfig {
            service_level_secs: 20,
            ..QueueConfig::named("q")
        });
        // UNIX0 is not midnight: count from the midnight before it, as the daemon does.
        let mut live = LiveKpis::new(&[p], 1, 0);
        for e in &evs {
            live.add(e);
        }
        let now = UNIX0 + 50_000;
        let iv = Interval {
            from_ms: live.day_from_ms(),
            to_ms: now,
        };
        let q = live.queue(h.q("q"), now).expect("queue 0 exists");
        assert_eq!(q, queue_kpis(&evs, h.q("q"), &p, iv));
        assert_eq!((q.offered, q.answered, q.abandoned), (3, 1, 1));
        assert_eq!(q.waiting_now, 1);
        assert_eq!(q.aht_ms, Some(40_000)); // talk 30 s + wrap 10 s
        let a = live.agent(h.a("a"), now).expect("agent 0 exists");
        assert_eq!(a, agent_kpis(&evs, h.a("a"), iv));
        assert_eq!(a.calls_handled, 1);
        assert!(live.agent_since(h.a("a")).is_some());
    }

    #[test]
    fn midnight_restarts_the_counts_but_keeps_who_waits() {
        let (h, evs) = events();
        let p = QueueParams::from(&QueueConfig::named("q"));
        let mut live = LiveKpis::new(&[p], 1, 0);
        for e in &evs {
            live.add(e);
        }
        let tomorrow = live.day_from_ms() + 86_400_000 + 1_000;
        live.roll(tomorrow);
        let q = live.queue(h.q("q"), tomorrow).expect("queue 0 exists");
        assert_eq!(
            (q.offered, q.answered, q.abandoned, q.aht_ms),
            (0, 0, 0, None)
        );
        // Call 3 still waits, since yesterday.
        assert_eq!(q.waiting_now, 1);
        let a = live.agent(h.a("a"), tomorrow).expect("agent 0 exists");
        assert_eq!(a.calls_handled, 0);
        // The open state counts from midnight only.
        assert_eq!(a.state_ms.values().sum::<u64>(), 1_000);
    }
}
