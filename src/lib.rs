//! switchboard: a SIP softswitch and call-center engine.
//!
//! Protocol and decision cores are sans-IO (`handle_*(now, ..)` / `poll_*()`); the tokio
//! drivers in `sip::transport` and `daemon` own sockets, the clock and tasks.

pub mod acd;
pub mod acd_driver;
pub mod api;
pub mod call;
pub mod config;
pub mod daemon;
pub mod dialer;
pub mod ivr;
pub mod media;
pub mod metrics;
pub mod netaddr;
pub mod recording;
pub mod report;
pub mod sdp;
pub mod sip;
pub mod store;
#[cfg(test)]
pub(crate) mod testutil;
