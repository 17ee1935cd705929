#![no_main]
//! RTP, RTCP and RFC 4733 parsing, and the in-place rewriters, must never panic.
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use switchboard::media::{
    is_rtcp, parse_rtcp, parse_rtp, parse_telephone_event, rewrite_rtcp_ssrc, DtmfDetector,
    ReceiveStats, StreamRewriter,
};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let _ = is_rtcp(data);
    for p in parse_rtcp(data) {
        if let Ok(switchboard::media::RtcpPacket::ReceiverReport { blocks, .. }) = p {
            blocks.for_each(drop);
        }
    }
    let _ = parse_telephone_event(data);
    if let Ok(h) = parse_rtp(data) {
        let mut stats = ReceiveStats::new(8000);
        stats.on_packet(now, h.sequence, h.timestamp, h.payload_len);
        let mut d = DtmfDetector::new(8000);
        if let Some(p) = data.get(h.payload_offset..) {
            d.handle_packet(now, h.timestamp, p);
        }
        let _ = d.poll_digit();
    }
    let mut copy = data.to_vec();
    let _ = StreamRewriter::new(1, 2, 3, 8000).rewrite(now, &mut copy);
    let _ = rewrite_rtcp_ssrc(&mut copy, 9);
});
