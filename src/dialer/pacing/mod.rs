//! Sans-IO pacing of outbound dials (no sockets, no clock: decisions replay on a virtual
//! clock): the daemon's dialer and the simulator (`dialer::sim`) drive the same code.
//!
//! ```text
//! let c = pacing.add_campaign(cfg)?;
//! loop {
//!     events => pacing.handle_agent_login / _ready / _not_ready / _logout (now, agent ..)
//!               pacing.handle_agent_leaving(now, agent, true)  (logs out after this call)
//!               pacing.handle_dial_placed(now, c, dial) / handle_dials_not_placed
//!               pacing.handle_dial_outcome(now, dial, Human | Machine | Busy | NoAnswer | Failed)
//!               pacing.handle_connected(now, dial, agent) / handle_abandoned(now, dial)
//!               pacing.handle_talk_ended(now, agent) / handle_wrap_ended(now, agent)
//!               pacing.set_inbound_pressure(now, c, 0.0..=1.0)
//!     sleep_until(pacing.poll_timeout())  => pacing.handle_timeout(now)
//!     while let Some(DialRequest { campaign, count }) = pacing.poll_dials() { place `count` }
//!     while let Some(dial) = pacing.poll_cancels() { hang it up; its outcome follows as usual }
//! }
//! ```
//!
//! # Modes
//! - **Preview**: never asks for a dial (the agent dials; report it with `handle_dial_placed`).
//! - **Progressive**: outstanding dials + answers waiting ≤ ready agents: no over-dial, so no
//!   abandon unless an agent walks away.
//! - **Fixed ratio**: `ceil(ratio × (ready − waiting))` outstanding dials.
//! - **Predictive**: see [`predictive`] for the planner. Estimates come from exact recent
//!   windows (every sample of the last `window_secs`, at most `window_samples`): the share of
//!   dials a person answers and when (1 s histogram of resolution time by outcome, so an
//!   outstanding dial that has rung `e` s gets `P(answer in a given second | unresolved at e)`),
//!   and talk and wrap durations (so an agent `e` s into a call gets `P(free in a given second
//!   | e)`, the empirical hazard). Over the ring-timeout horizon, second by second, the planner
//!   carries the distribution of idle agents (answers arriving vs agents freeing, each a sum of
//!   independent Bernoullis) and so the expected answers that would find nobody within the
//!   reach time; it asks for the largest number of new dials whose *last* one would see its
//!   live answer lost with at most `budget` chance. The budget comes from the [`abandon`]
//!   controller: integral action on the campaign rate (abandoned / live answers) towards
//!   `target_fraction × cap` (default 0.85 × 3 %), slowing down linearly as that rate passes
//!   the target (0 at the cap) and as the rolling hour passes the cap (0 at 5/3 of it). Until
//!   the windows hold `min_dial_samples` dials and `min_talk_samples` talks, predictive paces
//!   like progressive. It never asks for fewer dials than progressive would.
//!   **Surplus hang-ups**: a dial that has rung `cancel_surplus_after_secs` (≥ 15 s, the
//!   regulated minimum; default 15) is handed out by `poll_cancels` when its own live answer
//!   would be lost with more than `budget` chance — the test a new dial must pass, so a dial
//!   rings on exactly when it would be placed again now. Cutting those late, least
//!   predictable answers is worth 0.6 points of utilization at 20 agents, 0.2 at 50
//!   (BENCHMARKS.md). A dial being hung up no longer counts as in flight. `lead_cost`
//!   raises that bar to `(1 + lead_cost) × budget` when leads are precious.
//!   The counts' pmfs are sized to the count and never drop probability (any campaign
//!   size: a fixed support once made the planner see no agents past 256 and flood).
//!   Agents announced as leaving (`handle_agent_leaving`) are not counted as freeing.
//!
//! # Blending
//! `set_inbound_pressure(p)`: the campaign counts on only `1 − p` of its ready and freeing
//! agents (p = 1: no new dials), so an inbound queue whose service level is at risk gets them.
//!
//! # Decisions
//! Progressive and fixed ratio decide on every event. Predictive decides at once when an agent
//! becomes free (talk end, wrap end, ready), otherwise at most every `min_decision_secs`, and
//! at least every `tick_secs` (`poll_timeout`), since dials age between events.

pub mod abandon;
mod campaign;
pub mod config;
mod counts;
mod engine;
mod ids;
pub mod predictive;
mod rate_window;
pub mod window;

#[cfg(test)]
pub(crate) mod history;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scale;

pub use config::{Mode, PacingConfig};
pub use engine::Pacing;
pub use ids::{AgentId, CampaignId, DialId};

/// How a dial resolved, as the driver (signalling, AMD) saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DialOutcome {
    /// A person answered (or AMD said so): an agent is needed within the reach time.
    Human,
    Machine,
    Busy,
    NoAnswer,
    /// Invalid number, SIT tone, network failure.
    Failed,
}

/// Place `count` new dials for `campaign` now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialRequest {
    pub campaign: CampaignId,
    pub count: u32,
}

/// What the pacer currently believes about a campaign (for wallboards and tests).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Estimates {
    pub p_live: f64,
    pub dial_samples: usize,
    pub mean_talk_secs: Option<f64>,
    pub mean_wrap_secs: Option<f64>,
    pub campaign_abandon_rate: f64,
    pub rolling_abandon_rate: f64,
    pub abandon_budget: f64,
    pub outstanding: u32,
    pub waiting: u32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PacingError {
    #[error("invalid pacing config: {0}")]
    InvalidConfig(String),
    #[error("unknown campaign {0:?}")]
    UnknownCampaign(CampaignId),
    #[error("agent {0:?} is not logged in")]
    UnknownAgent(AgentId),
    #[error("agent {0:?} is already logged in")]
    AgentLoggedIn(AgentId),
    #[error("unknown dial {0:?}")]
    UnknownDial(DialId),
    #[error("dial {0:?} was already placed")]
    DuplicateDial(DialId),
    #[error("dial {0:?} has no answer waiting for an agent")]
    NotWaiting(DialId),
    #[error("inbound pressure must be within 0..=1, got {0}")]
    InvalidPressure(f64),
}
