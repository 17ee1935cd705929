//! Calls: the dial plan and the B2BUA's per-call state. The signalling decisions live in the
//! sans-IO endpoint (`sip::endpoint::calls`); media runs in `media::relay`.

pub mod cdr;
pub mod dialog;
pub mod dialplan;
pub mod pattern;
pub mod ports;
pub mod sipstr;
