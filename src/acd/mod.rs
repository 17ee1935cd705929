//! The ACD: queues, agents, skills, routing strategies and widening steps, offers, callbacks,
//! and exact KPIs and queue_log export from its events.
//!
//! Sans-IO: no socket, file or system clock, so scenarios run on a virtual clock. The
//! driver, one tokio task that owns the `Engine` (one owner for a consistent view), does:
//!
//! ```text
//! engine = Engine::new(&acd_config, Instant::now(), unix_ms_now)?
//! loop {
//!     select! {
//!         input from the B2BUA / registrar / API => engine.handle_*(Instant::now(), ..)
//!         sleep_until(engine.poll_timeout())       => engine.handle_timeout(Instant::now())
//!     }
//!     while let Some(out) = engine.poll_output() {
//!         Offer { offer, call, agent, ring_timeout, callback, .. } => ring the agent's phone
//!             (callback: ring the agent, then dial the customer), report back with
//!             handle_offer_answered / handle_offer_failed
//!         CancelOffer { offer, .. }    => stop ringing (CANCEL)
//!         Overflow { call, target }    => move the call (Target::Queue: handle_call_arrived there)
//!         Exit { call, reason, target} => max wait or empty queue: play/route as configured
//!         Event(ev)                    => store, event bus, queue_log::lines, kpi folds
//!     }
//!     persist engine.callbacks() when they change; restore_callback(..) at startup
//! }
//! ```
//!
//! The ring timeout is the engine's (RONA fires in `handle_timeout`); the driver need not run
//! its own timer, but a phone's own "no answer" (408/480) is `OfferFailure::NoAnswer`.

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
pub mod live_kpi;
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
pub use engine::{CallStatus, Directory, Engine, QueueStaff};
pub use event::{AcdError, AcdEvent, EventKind, ExitReason, OfferEnd, Output, Party, StateKind};
pub use footprint::Footprint;
pub use ids::{AgentId, CallId, OfferId, QueueId};
