//! Ring-all with a cap: one match rings up to `ring_all_cap` ready agents at once, longest idle
//! first; the first to answer wins and the engine cancels the others (Output::CancelOffer).
//! Agents who become ready while a ring-all round is under way do not join it: the round
//! either connects or fails completely, and then the caller is matched afresh.

use super::RankInput;

pub(super) fn rank(a: &RankInput) -> i64 {
    a.idle_since_ms
}
