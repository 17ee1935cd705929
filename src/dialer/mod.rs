//! The outbound dialer: the sans-IO pacing controller ([`pacing`]), the discrete-event
//! simulator that drives the very same pacing code ([`sim`]), the contract between the
//! runtime and the lead book ([`source`]), and answering machine / SIT detection ([`amd`]).

pub mod amd;
pub mod amd_config;
pub mod pacing;
pub mod sim;
pub mod source;
