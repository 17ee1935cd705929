//! Longest idle: the agent who became idle (Ready after wrap-up, login or a pause) earliest.

use super::RankInput;

pub(super) fn rank(a: &RankInput) -> i64 {
    a.idle_since_ms
}
