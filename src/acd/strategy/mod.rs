//! Agent-selection strategies, used when a caller meets more than one ready agent (the
//! "agent surplus" case). When a single agent frees up and callers wait ("call surplus") the
//! agent simply takes the first caller of the buckets it qualifies for (see `engine::routing`).
//!
//! Each strategy is a static rank: a number computed when the agent enters a queue's ready
//! index and stored in its key `(penalty, rank, tiebreak, agent)`, so selection is reading the
//! first entry of a `BTreeSet` (O(log n)) instead of scoring every ready agent. That works
//! because every input of a rank (idle-since, calls handled, talk time, proficiency) only
//! changes while the agent is not Ready, i.e. not in the index. Time-varying terms like "idle
//! for x seconds" are expressed through the fixed instant the idleness began.
//!
//! Lower penalty always wins first; the strategy orders agents within a penalty.

mod best_fit;
mod fewest_calls;
mod least_talk;
mod longest_idle;
mod ring_all;
mod round_robin;

use std::collections::BTreeSet;

use super::agent::ReadyKey;
use super::config::StrategyKind;
use super::ids::AgentId;

/// What a rank may depend on; all fixed while the agent is Ready.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RankInput {
    /// When the agent became idle, ms since the engine's clock anchor.
    pub idle_since_ms: i64,
    pub calls: u32,
    pub talk_ms: u64,
    pub member_ix: u32,
    /// Mean proficiency over the queue's required skills, tenths (10 = level 1, 100 = 10).
    pub skill_tenths: i64,
}

pub(crate) fn rank(kind: StrategyKind, a: &RankInput) -> i64 {
    match kind {
        StrategyKind::LongestIdle => longest_idle::rank(a),
        StrategyKind::BestFit => best_fit::rank(a),
        StrategyKind::RoundRobin => round_robin::rank(a),
        StrategyKind::FewestCalls => fewest_calls::rank(a),
        StrategyKind::LeastTalkTime => least_talk::rank(a),
        StrategyKind::RingAll => ring_all::rank(a),
    }
}

/// How many agents one match rings.
pub(crate) fn width(kind: StrategyKind, ring_all_cap: usize) -> usize {
    match kind {
        StrategyKind::RingAll => ring_all_cap.max(1),
        _ => 1,
    }
}

/// Pick up to `width` agents from one ready index into `out`, best first.
/// `last`: round-robin memory, the rank (member index) of the last agent offered.
pub(crate) fn select(
    kind: StrategyKind,
    ready: &BTreeSet<ReadyKey>,
    last: Option<i64>,
    width: usize,
    out: &mut Vec<AgentId>,
) {
    match kind {
        StrategyKind::RoundRobin => round_robin::select(ready, last, out),
        _ => out.extend(ready.iter().take(width).map(|k| k.3)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(idle: i64, calls: u32, talk: u64, ix: u32, skill: i64) -> RankInput {
        RankInput {
            idle_since_ms: idle,
            calls,
            talk_ms: talk,
            member_ix: ix,
            skill_tenths: skill,
        }
    }

    #[test]
    fn ranks_order_as_documented() {
        let a = input(0, 5, 900, 0, 50);
        let b = input(1000, 1, 100, 1, 80);
        // longest idle: a (idle since earlier)
        assert!(rank(StrategyKind::LongestIdle, &a) < rank(StrategyKind::LongestIdle, &b));
        assert!(rank(StrategyKind::FewestCalls, &b) < rank(StrategyKind::FewestCalls, &a));
        assert!(rank(StrategyKind::LeastTalkTime, &b) < rank(StrategyKind::LeastTalkTime, &a));
        // best fit: b is 3 proficiency points better (300 s) and has handled 4 fewer calls
        // (120 s); a has been idle 1 s longer.
        assert!(rank(StrategyKind::BestFit, &b) < rank(StrategyKind::BestFit, &a));
        assert_eq!(
            rank(StrategyKind::BestFit, &a) - rank(StrategyKind::BestFit, &b),
            300_000 + 120_000 - 1000
        );
    }
}
