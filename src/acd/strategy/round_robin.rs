//! Round-robin with memory: agents in the order of the queue's member list (config order); each
//! match continues after the member offered last, wrapping around. Within the lowest penalty
//! present among the ready agents.

use std::collections::BTreeSet;
use std::ops::Bound;

use super::super::agent::ReadyKey;
use super::super::ids::AgentId;
use super::RankInput;

pub(super) fn rank(a: &RankInput) -> i64 {
    i64::from(a.member_ix)
}

pub(super) fn select(ready: &BTreeSet<ReadyKey>, last: Option<i64>, out: &mut Vec<AgentId>) {
    let Some(first) = ready.first() else {
        return;
    };
    let tier = first.0;
    let after = last.and_then(|l| {
        ready
            .range((
                Bound::Excluded((tier, l, i64::MAX, AgentId(u32::MAX))),
                Bound::Unbounded,
            ))
            .next()
            .filter(|k| k.0 == tier)
    });
    out.push(after.unwrap_or(first).3);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_after_last_and_wraps() {
        let set: BTreeSet<ReadyKey> = [
            (0, 0, 0, AgentId(10)),
            (0, 2, 0, AgentId(12)),
            (1, 1, 0, AgentId(11)),
        ]
        .into_iter()
        .collect();
        let pick = |last| {
            let mut v = Vec::new();
            select(&set, last, &mut v);
            v[0]
        };
        assert_eq!(pick(None), AgentId(10));
        assert_eq!(pick(Some(0)), AgentId(12));
        // agent 11 has a higher penalty: skipped while penalty-0 agents are ready
        assert_eq!(pick(Some(2)), AgentId(10));
    }
}
