//! The outbound dialer: the sans-IO pacing controller ([`pacing`]), the discrete-event
//! simulator that drives the very same pacing code ([`sim`]), the contract between the
//! runtime and the lead book ([`source`]), the lead book itself ([`leads`]), the campaign
//! runtime ([`runtime`]) and answering machine / SIT detection ([`amd`]).

pub mod amd;
pub mod amd_config;
pub mod leads;
pub mod overrides;
pub mod pacing;
pub mod runtime;
pub mod sim;
pub mod source;
