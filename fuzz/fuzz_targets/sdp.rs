#![no_main]
//! The SDP parser and offer/answer must never panic on any body.
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use switchboard::sdp::{self, CodecName, LocalMedia, OriginState};

fuzz_target!(|data: &[u8]| {
    let Ok(sd) = sdp::parse(data) else { return };
    let _ = sdp::parse(&sd.to_bytes());
    if let Ok(o) = sdp::offered_audio(&sd, &[CodecName::Pcmu, CodecName::Pcma]) {
        let mut origin = OriginState::new(1, IpAddr::from([127, 0, 0, 1]));
        let local = LocalMedia { addr: IpAddr::from([127, 0, 0, 1]), port: 20000, ptime: Some(20) };
        if let Ok(a) = sdp::build_answer(&mut origin, &local, &sd, o.codecs[0], true, o.direction) {
            let _ = sdp::answered_audio(&a, &o.codecs);
        }
    }
});
