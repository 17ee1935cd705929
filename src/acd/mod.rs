//! The ACD: queues, agents, skills, routing strategies and widening steps, offers, callbacks,
//! and exact KPIs and queue_log export from its events. Sans-IO: the driver (a tokio task that
//! owns the engine, per DESIGN.md principle 3) feeds `Engine::handle_*(now, ..)`, flushes
//! `Engine::poll_output()` (offers to ring, cancels, overflows, exits, events) and sleeps until
//! `Engine::poll_timeout()`, then calls `Engine::handle_timeout(now)`.

pub mod agent;
pub mod call;
pub mod callback;
pub mod clock;
pub mod config;
pub mod engine;
pub mod event;
mod ewt;
mod footprint;
pub mod ids;
pub mod kpi;
mod queue;
pub mod queue_log;
pub mod skills;
mod step;
mod strategy;
mod timers;
mod waiting;

#[cfg(test)]
mod tests;

pub use agent::AgentState;
pub use call::OfferFailure;
pub use callback::CallbackRecord;
pub use config::{
    AcdConfig, AgentConfig, ConfigError, MembershipConfig, QueueConfig, StepConfig, StrategyKind,
    Target,
};
pub use engine::{CallStatus, Directory, Engine};
pub use event::{AcdError, AcdEvent, EventKind, ExitReason, OfferEnd, Output, Party, StateKind};
pub use footprint::Footprint;
pub use ids::{AgentId, CallId, OfferId, QueueId};
