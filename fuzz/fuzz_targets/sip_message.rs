#![no_main]
//! The SIP message boundary and the UAS checks must never panic, whatever arrives.
use libfuzzer_sys::fuzz_target;
use switchboard::sip::{message, rsip, uas};

fuzz_target!(|data: &[u8]| {
    match message::parse(data) {
        Ok(parsed) => {
            assert!(parsed.consumed <= data.len());
            if let rsip::SipMessage::Request(req) = &parsed.message {
                let _ = uas::check(req);
                let _ = uas::check_max_forwards(req);
                let _ = message::response_to(req, 200, Some("tag"));
            }
            let _ = message::to_bytes(&parsed.message);
        }
        Err(rejected) => {
            if let Some(ctx) = rejected.context {
                let _ = message::response_from_raw(&ctx, 400, "Bad Request", &[], "t");
            }
        }
    }
    let _ = message::frame_stream(data);
});
