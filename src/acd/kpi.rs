//! KPIs computed exactly from `AcdEvent`s: a fold over the event list for one queue or agent
//! and one interval `[from_ms, to_ms)`, no running averages (so every figure can be recomputed). Feed it
//! the events of the day (from the store or the event bus) and any interval inside it.
//!
//! Definitions (per queue):
//! - **offered**: callers who entered the queue in the interval; **answered**: connected in
//!   it (queued callbacks included, with their full wait); **abandoned**: hung up while
//!   queued in it, **short** when they waited at most the queue's `short_abandon_secs`. A
//!   withdrawn queued callback is not an abandon (nobody was on the line).
//! - **service level**, with `T = service_level_secs` and the queue's formula:
//!   `Answered`: answered within T / answered; `AnsweredAndAbandoned`: answered within T /
//!   (answered + abandoned); `ExcludeShortAbandons`: answered within T / (answered +
//!   abandoned − short abandons). `None` when the denominator is 0.
//! - **ASA**: total wait of answered calls / answered.
//! - **AHT**: (talk + hold + wrap-up) / calls whose wrap-up finished in the interval.
//! - **waiting now / longest wait now**: at `to_ms`, from all events before it.
//!
//! Per agent: time in each state clipped to the interval (including the state still open at
//! `to_ms`), calls handled (ended in the interval), talk / hold / wrap totals, AHT,
//! **occupancy** = (Offered + OnCall + WrapUp) / (Ready + Offered + OnCall + WrapUp), and the
//! talk-time histogram.

use std::collections::{BTreeMap, HashMap};

use super::config::{QueueConfig, ServiceLevelFormula};
use super::event::{AcdEvent, EventKind, StateKind};
use super::ids::{AgentId, CallId, QueueId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub from_ms: u64,
    pub to_ms: u64,
}

impl Interval {
    /// From local midnight (given the UTC offset) to `now_ms`.
    pub fn since_midnight(now_ms: u64, utc_offset_secs: i64) -> Interval {
        let day = 86_400_000i64;
        let local = now_ms as i64 + utc_offset_secs * 1000;
        let midnight = local - local.rem_euclid(day) - utc_offset_secs * 1000;
        Interval {
            from_ms: midnight.max(0) as u64,
            to_ms: now_ms,
        }
    }
}

/// Talk-time distribution: bucket `i` counts talks ≤ `BUCKETS_SECS[i]` (and above the
/// previous bound); the last bucket counts everything longer.
pub const BUCKETS_SECS: [u64; 6] = [30, 60, 120, 300, 600, 1200];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    pub counts: [u64; 7],
}

impl Histogram {
    fn add(&mut self, talk_ms: u64) {
        let i = BUCKETS_SECS
            .iter()
            .position(|&b| talk_ms <= b * 1000)
            .unwrap_or(BUCKETS_SECS.len());
        self.counts[i] += 1;
    }
}

#[derive(Debug, Clone, Copy)]
pub struct QueueParams {
    pub service_level_ms: u64,
    pub short_abandon_ms: u64,
    pub formula: ServiceLevelFormula,
}

impl From<&QueueConfig> for QueueParams {
    fn from(c: &QueueConfig) -> Self {
        QueueParams {
            service_level_ms: c.service_level_secs * 1000,
            short_abandon_ms: c.short_abandon_secs * 1000,
            formula: c.service_level_formula,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueKpi {
    pub waiting_now: u32,
    pub longest_wait_now_ms: u64,
    pub offered: u64,
    pub answered: u64,
    pub answered_within_sl: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub overflowed: u64,
    pub exited: u64,
    pub service_level: Option<f64>,
    pub asa_ms: Option<u64>,
    pub aht_ms: Option<u64>,
    pub talk: Histogram,
}

pub fn queue_kpis(events: &[AcdEvent], queue: QueueId, p: &QueueParams, iv: Interval) -> QueueKpi {
    let mut f = QueueFold::new(queue, *p, iv.from_ms);
    for ev in events.iter().filter(|e| e.at_ms < iv.to_ms) {
        f.add(ev);
    }
    f.kpi(iv.to_ms)
}

/// `queue_kpis` as a fold fed one event at a time (in order), so a live view (the API's
/// snapshots) keeps exact figures without re-reading the day: `kpi(to_ms)` gives what
/// `queue_kpis` gives for `[from_ms, to_ms)` over the same events.
#[derive(Debug, Clone)]
pub struct QueueFold {
    queue: QueueId,
    p: QueueParams,
    from_ms: u64,
    k: QueueKpi,
    in_queue: HashMap<CallId, u64>,
    talk_hold: HashMap<CallId, u64>,
    wait_sum: u64,
    handle_sum: u64,
    handled: u64,
}

impl QueueFold {
    pub fn new(queue: QueueId, p: QueueParams, from_ms: u64) -> QueueFold {
        QueueFold {
            queue,
            p,
            from_ms,
            k: QueueKpi::default(),
            in_queue: HashMap::new(),
            talk_hold: HashMap::new(),
            wait_sum: 0,
            handle_sum: 0,
            handled: 0,
        }
    }

    /// Start a new interval at `from_ms` (midnight): the counts restart, the callers still
    /// waiting and the calls still being handled carry over.
    pub fn restart(&mut self, from_ms: u64) {
        self.from_ms = from_ms;
        self.k = QueueKpi::default();
        (self.wait_sum, self.handle_sum, self.handled) = (0, 0, 0);
    }

    /// One event (events come in time order; those before `from_ms` only set up state).
    pub fn add(&mut self, ev: &AcdEvent) {
        let queue = self.queue;
        let inside = ev.at_ms >= self.from_ms;
        let k = &mut self.k;
        match &ev.kind {
            EventKind::Queued { call, queue: q, .. } if *q == queue => {
                self.in_queue.insert(*call, ev.at_ms);
                k.offered += u64::from(inside);
            }
            EventKind::Connected {
                call,
                queue: q,
                wait_ms,
                ..
            } if *q == queue => {
                self.in_queue.remove(call);
                if inside {
                    k.answered += 1;
                    k.answered_within_sl += u64::from(*wait_ms <= self.p.service_level_ms);
                    self.wait_sum += wait_ms;
                }
            }
            EventKind::Abandoned {
                call,
                queue: q,
                wait_ms,
                callback,
                ..
            } if *q == queue => {
                self.in_queue.remove(call);
                if inside && !callback {
                    k.abandoned += 1;
                    k.short_abandoned += u64::from(*wait_ms <= self.p.short_abandon_ms);
                }
            }
            EventKind::Overflowed { call, queue: q, .. } if *q == queue => {
                self.in_queue.remove(call);
                k.overflowed += u64::from(inside);
            }
            EventKind::Exited { call, queue: q, .. } if *q == queue => {
                self.in_queue.remove(call);
                k.exited += u64::from(inside);
            }
            EventKind::Ended {
                call,
                queue: q,
                talk_ms,
                hold_ms,
                ..
            } if *q == queue => {
                self.talk_hold.insert(*call, talk_ms + hold_ms);
                if inside {
                    k.talk.add(*talk_ms);
                }
            }
            EventKind::WrapUpDone {
                call,
                queue: q,
                wrap_ms,
                ..
            } if *q == queue => {
                // Done with: the map holds only calls still in wrap-up (bounded by agents).
                let th = self.talk_hold.remove(call).unwrap_or(0);
                if inside {
                    self.handled += 1;
                    self.handle_sum += th + wrap_ms;
                }
            }
            _ => {}
        }
    }

    /// The KPIs of `[from_ms, to_ms)` given every event before `to_ms` was added.
    pub fn kpi(&self, to_ms: u64) -> QueueKpi {
        let mut k = self.k.clone();
        k.waiting_now = self.in_queue.len() as u32;
        k.longest_wait_now_ms = self
            .in_queue
            .values()
            .map(|&t| to_ms.saturating_sub(t))
            .max()
            .unwrap_or(0);
        let denom = match self.p.formula {
            ServiceLevelFormula::Answered => k.answered,
            ServiceLevelFormula::AnsweredAndAbandoned => k.answered + k.abandoned,
            ServiceLevelFormula::ExcludeShortAbandons => {
                k.answered + k.abandoned - k.short_abandoned
            }
        };
        k.service_level = (denom > 0).then(|| k.answered_within_sl as f64 / denom as f64);
        k.asa_ms = (k.answered > 0).then(|| self.wait_sum / k.answered);
        k.aht_ms = (self.handled > 0).then(|| self.handle_sum / self.handled);
        k
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentKpi {
    pub state_ms: BTreeMap<StateKind, u64>,
    pub calls_handled: u64,
    pub talk_ms: u64,
    pub hold_ms: u64,
    pub wrap_ms: u64,
    pub aht_ms: Option<u64>,
    pub occupancy: Option<f64>,
    pub talk: Histogram,
}

pub fn agent_kpis(events: &[AcdEvent], agent: AgentId, iv: Interval) -> AgentKpi {
    let mut f = AgentFold::new(agent, iv.from_ms);
    for ev in events.iter().filter(|e| e.at_ms < iv.to_ms) {
        f.add(ev);
    }
    f.kpi(iv.to_ms)
}

/// `agent_kpis` as a fold (see `QueueFold`).
#[derive(Debug, Clone)]
pub struct AgentFold {
    agent: AgentId,
    from_ms: u64,
    k: AgentKpi,
    /// The state the agent is in, and since when (unix ms).
    open: Option<(StateKind, u64)>,
    wraps: u64,
}

impl AgentFold {
    pub fn new(agent: AgentId, from_ms: u64) -> AgentFold {
        AgentFold {
            agent,
            from_ms,
            k: AgentKpi::default(),
            open: None,
            wraps: 0,
        }
    }

    /// Start a new interval at `from_ms`; the open state carries over (clipped to it).
    pub fn restart(&mut self, from_ms: u64) {
        self.from_ms = from_ms;
        self.k = AgentKpi::default();
        self.wraps = 0;
    }

    /// The agent's current state and since when (unix ms), once any state change was seen.
    pub fn current(&self) -> Option<(StateKind, u64)> {
        self.open
    }

    pub fn add(&mut self, ev: &AcdEvent) {
        let agent = self.agent;
        let inside = ev.at_ms >= self.from_ms;
        let k = &mut self.k;
        match &ev.kind {
            EventKind::AgentState {
                agent: a,
                from,
                to,
                duration_ms,
                ..
            } if *a == agent => {
                let start = ev.at_ms.saturating_sub(*duration_ms).max(self.from_ms);
                *k.state_ms.entry(*from).or_insert(0) += ev.at_ms.saturating_sub(start);
                self.open = Some((*to, ev.at_ms));
            }
            EventKind::Ended {
                agent: a,
                talk_ms,
                hold_ms,
                ..
            } if *a == agent && inside => {
                k.calls_handled += 1;
                k.talk_ms += talk_ms;
                k.hold_ms += hold_ms;
                k.talk.add(*talk_ms);
            }
            EventKind::WrapUpDone {
                agent: a, wrap_ms, ..
            } if *a == agent && inside => {
                k.wrap_ms += wrap_ms;
                self.wraps += 1;
            }
            _ => {}
        }
    }

    /// The KPIs of `[from_ms, to_ms)` given every event before `to_ms` was added.
    pub fn kpi(&self, to_ms: u64) -> AgentKpi {
        let mut k = self.k.clone();
        if let Some((state, since)) = self.open {
            *k.state_ms.entry(state).or_insert(0) += to_ms.saturating_sub(since.max(self.from_ms));
        }
        k.state_ms.retain(|_, v| *v > 0);
        let get = |s| k.state_ms.get(&s).copied().unwrap_or(0);
        let busy = get(StateKind::Offered) + get(StateKind::OnCall) + get(StateKind::WrapUp);
        let avail = busy + get(StateKind::Ready);
        k.occupancy = (avail > 0).then(|| busy as f64 / avail as f64);
        let handled = k.calls_handled.max(self.wraps);
        k.aht_ms = (handled > 0).then(|| (k.talk_ms + k.hold_ms + k.wrap_ms) / handled);
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::config::QueueConfig;
    use crate::acd::event::Output;
    use crate::acd::tests::{agent, H, UNIX0};

    /// A scripted day: 4 callers, one answered fast, one answered late, one short abandon,
    /// one long abandon; wrap-up 10 s.
    fn day(formula: ServiceLevelFormula) -> (H, Vec<AcdEvent>) {
        let q = QueueConfig {
            wrap_up_secs: 10,
            service_level_secs: 20,
            short_abandon_secs: 5,
            service_level_formula: formula,
            ..QueueConfig::named("q")
        };
        let mut h = H::new(vec![q], vec![agent("a", &[], &[("q", 0)])]);
        h.login(&["a"]);
        h.arrive(1, "q", 0);
        let o = h.one_offer();
        h.advance(5.0);
        h.answer(o.offer); // wait 5 s
        h.arrive(2, "q", 0);
        h.arrive(3, "q", 0);
        h.arrive(4, "q", 0);
        h.advance(3.0);
        h.e.handle_caller_abandoned(h.now, CallId(3)).unwrap(); // short: 3 s
        h.advance(27.0);
        h.e.handle_caller_abandoned(h.now, CallId(4)).unwrap(); // long: 30 s
        h.end(1); // talk 30 s
        h.advance(10.0); // wrap 10 s, then call 2 is offered (waited 40 s)
        let o = h.one_offer();
        h.advance(2.0);
        h.answer(o.offer); // wait 42 s
        h.advance(100.0);
        h.end(2); // talk 100 s
        h.advance(10.0);
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

    fn all_day() -> Interval {
        Interval {
            from_ms: UNIX0,
            to_ms: UNIX0 + 1_000_000,
        }
    }

    #[test]
    fn queue_kpis_follow_the_formulas() {
        for (formula, sl) in [
            (ServiceLevelFormula::Answered, 0.5),
            (ServiceLevelFormula::AnsweredAndAbandoned, 0.25),
            (ServiceLevelFormula::ExcludeShortAbandons, 1.0 / 3.0),
        ] {
            let (h, evs) = day(formula);
            let p = QueueParams::from(&QueueConfig {
                service_level_formula: formula,
                ..QueueConfig::named("q")
            });
            let k = queue_kpis(&evs, h.q("q"), &p, all_day());
            assert_eq!(
                (k.offered, k.answered, k.abandoned, k.short_abandoned),
                (4, 2, 2, 1)
            );
            assert_eq!(k.service_level, Some(sl), "{formula:?}");
            assert_eq!(k.asa_ms, Some((5_000 + 42_000) / 2));
            assert_eq!(k.aht_ms, Some((40_000 + 110_000) / 2));
            assert_eq!(k.talk.counts[0], 1); // 30 s
            assert_eq!(k.talk.counts[2], 1); // 100 s
            assert_eq!(k.waiting_now, 0);
        }
    }

    #[test]
    fn waiting_now_and_longest_wait_at_the_interval_end() {
        let (h, evs) = day(ServiceLevelFormula::Answered);
        let p = QueueParams::from(&QueueConfig::named("q"));
        // 10 s after start: calls 2 and 4 wait (3 left at 8 s), 2 and 4 since 5 s
        let iv = Interval {
            from_ms: UNIX0,
            to_ms: UNIX0 + 10_000,
        };
        let k = queue_kpis(&evs, h.q("q"), &p, iv);
        assert_eq!((k.waiting_now, k.longest_wait_now_ms), (2, 5_000));
    }

    #[test]
    fn agent_state_durations_and_occupancy() {
        let (h, evs) = day(ServiceLevelFormula::Answered);
        let k = agent_kpis(&evs, h.a("a"), all_day());
        assert_eq!(k.calls_handled, 2);
        assert_eq!((k.talk_ms, k.wrap_ms), (130_000, 20_000));
        assert_eq!(k.state_ms[&StateKind::OnCall], 130_000);
        assert_eq!(k.state_ms[&StateKind::Offered], 7_000);
        assert_eq!(k.state_ms[&StateKind::WrapUp], 20_000);
        let ready = k.state_ms[&StateKind::Ready];
        // day ends at 1 000 s: everything not busy was Ready
        assert_eq!(ready, 1_000_000 - 157_000);
        assert_eq!(k.occupancy, Some(157_000.0 / 1_000_000.0));
        assert_eq!(k.aht_ms, Some(75_000));
    }

    #[test]
    fn a_withdrawn_callback_is_not_an_abandon() {
        let q = QueueId(0);
        let ev = |at_ms, kind| AcdEvent { at_ms, kind };
        let evs = vec![
            ev(
                UNIX0,
                EventKind::Queued {
                    call: CallId(1),
                    queue: q,
                    priority: 0,
                    position: 1,
                },
            ),
            ev(
                UNIX0 + 60_000,
                EventKind::Abandoned {
                    call: CallId(1),
                    queue: q,
                    wait_ms: 60_000,
                    position: 1,
                    orig_position: 1,
                    callback: true,
                },
            ),
        ];
        let p = QueueParams::from(&QueueConfig::named("q"));
        let k = queue_kpis(&evs, q, &p, all_day());
        assert_eq!((k.offered, k.abandoned, k.waiting_now), (1, 0, 0));
    }

    #[test]
    fn an_interval_clips_states_and_counts_only_what_happened_inside() {
        let (h, evs) = day(ServiceLevelFormula::Answered);
        // [10 s, 40 s): OnCall 10–35, WrapUp 35–40 (still open at the end); call 1 ended at 35
        let iv = Interval {
            from_ms: UNIX0 + 10_000,
            to_ms: UNIX0 + 40_000,
        };
        let k = agent_kpis(&evs, h.a("a"), iv);
        assert_eq!(k.state_ms[&StateKind::OnCall], 25_000);
        assert_eq!(k.state_ms[&StateKind::WrapUp], 5_000);
        assert_eq!(k.calls_handled, 1);
        assert_eq!(k.occupancy, Some(1.0));
        let p = QueueParams::from(&QueueConfig::named("q"));
        let qk = queue_kpis(&evs, h.q("q"), &p, iv);
        // no arrival and no answer inside; both abandons (8 s is before, 35 s inside)
        assert_eq!((qk.offered, qk.answered, qk.abandoned), (0, 0, 1));
        assert_eq!(qk.waiting_now, 1); // call 2, waiting since 5 s
        assert_eq!(qk.longest_wait_now_ms, 35_000);
    }

    #[test]
    fn since_midnight_uses_the_offset() {
        let noon_utc = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000 + 43_200_000;
        let iv = Interval::since_midnight(noon_utc, 3600);
        assert_eq!(noon_utc - iv.from_ms, 13 * 3_600_000);
    }
}
