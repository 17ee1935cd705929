//! Skill-weighted best fit. Score (higher is better):
//!
//! ```text
//! score = 100 × P + idle_secs − 30 × L
//! ```
//!
//! - `P`: the agent's mean proficiency (1–10) over the queue's required skills (all members
//!   count as P = 10 for a queue with no required skill, so only idle time and load decide);
//! - `idle_secs`: seconds since the agent became idle;
//! - `L`: calls handled since login (the load).
//!
//! So one proficiency point is worth 100 s of idleness and each call already handled costs
//! 30 s: experts are preferred, but an expert who is always chosen drifts down until a less
//! proficient, longer-idle colleague wins. As a static rank (lower is better, ms) this is
//! `rank = −100 000 × P + 30 000 × L + idle_since_ms`, because `idle_secs = now − idle_since`
//! and `now` is the same for every agent compared.

use super::RankInput;

pub(super) fn rank(a: &RankInput) -> i64 {
    // skill_tenths: 10 per proficiency point, so 10 000 ms per tenth = 100 s per point
    -10_000 * a.skill_tenths + 30_000 * i64::from(a.calls) + a.idle_since_ms
}
