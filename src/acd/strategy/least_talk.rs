//! Least talk time: the agent with the least total talk time since login (ties: longest idle).

use super::RankInput;

pub(super) fn rank(a: &RankInput) -> i64 {
    i64::try_from(a.talk_ms).unwrap_or(i64::MAX)
}
