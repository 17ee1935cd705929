//! The outbound dialer. So far: the sans-IO pacing controller ([`pacing`]) and the
//! discrete-event simulator that drives the very same pacing code ([`sim`]). Campaigns, leads,
//! the SIP side and AMD are still to come (issue 7).

pub mod pacing;
pub mod sim;
