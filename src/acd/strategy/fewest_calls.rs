//! Fewest calls: the agent who has handled the fewest calls since login (ties: longest idle,
//! through the index key's tie-break).

use super::RankInput;

pub(super) fn rank(a: &RankInput) -> i64 {
    i64::from(a.calls)
}
