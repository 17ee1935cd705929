//! What the far end sees stays one continuous stream: one SSRC, sequence numbers and
//! timestamps that carry on when the near side's stream changes (re-INVITE to a new phone
//! port, new SSRC after hold, a transfer). Headers are edited in place.

use std::time::Instant;

/// Clone: a leg moved to another call's relay takes its stream state along.
#[derive(Debug, Clone)]
pub struct StreamRewriter {
    out_ssrc: u32,
    clock_rate: u32,
    in_ssrc: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    /// Last values sent, and when.
    last_seq: u16,
    last_ts: u32,
    last_at: Option<Instant>,
}

impl StreamRewriter {
    pub fn new(out_ssrc: u32, first_seq: u16, first_ts: u32, clock_rate: u32) -> Self {
        StreamRewriter {
            out_ssrc,
            clock_rate,
            in_ssrc: None,
            seq_offset: 0,
            ts_offset: 0,
            last_seq: first_seq.wrapping_sub(1),
            last_ts: first_ts.wrapping_sub(160),
            last_at: None,
        }
    }

    pub fn out_ssrc(&self) -> u32 {
        self.out_ssrc
    }

    /// What is added to the incoming stream's timestamps (for its sender reports).
    pub fn ts_offset(&self) -> u32 {
        self.ts_offset
    }

    pub fn rewrite(&mut self, now: Instant, buf: &mut [u8]) -> bool {
        if buf.len() < 12 || buf[0] >> 6 != 2 {
            return false;
        }
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ts = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if self.in_ssrc != Some(ssrc) {
            // Re-base so the outgoing stream continues where it left off.
            let elapsed = self
                .last_at
                .map_or(0, |t| now.saturating_duration_since(t).as_micros() as u64);
            let step = ((elapsed * self.clock_rate as u64) / 1_000_000).max(160) as u32;
            let next_seq = self.last_seq.wrapping_add(1);
            let next_ts = self.last_ts.wrapping_add(step);
            self.seq_offset = next_seq.wrapping_sub(seq);
            self.ts_offset = next_ts.wrapping_sub(ts);
            self.in_ssrc = Some(ssrc);
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_ts = ts.wrapping_add(self.ts_offset);
        buf[2..4].copy_from_slice(&out_seq.to_be_bytes());
        buf[4..8].copy_from_slice(&out_ts.to_be_bytes());
        buf[8..12].copy_from_slice(&self.out_ssrc.to_be_bytes());
        // Remember the newest packet (reordered older ones do not move the base back).
        if out_seq.wrapping_sub(self.last_seq) < 0x8000 || self.last_at.is_none() {
            self.last_seq = out_seq;
            self.last_ts = out_ts;
            self.last_at = Some(now);
        }
        true
    }
}

/// Put our SSRC as the sender of every SR/RR in a compound RTCP packet (report blocks
/// untouched). False when the compound packet is malformed.
pub fn rewrite_rtcp_ssrc(buf: &mut [u8], out_ssrc: u32) -> bool {
    rewrite_rtcp(
        buf,
        &RtcpRewrite {
            sender_ssrc: out_ssrc,
            ts_offset: 0,
            block_ssrc: None,
        },
    )
}

/// How a relayed compound RTCP packet is edited so the far end can match it to the streams
/// it actually sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpRewrite {
    /// Our SSRC towards this far end: the sender of every SR/RR.
    pub sender_ssrc: u32,
    /// Added to an SR's RTP timestamp (the stream's timestamps were re-based by as much).
    pub ts_offset: u32,
    /// Report blocks about `.0` (the SSRC we gave the reporter) are about `.1` (the SSRC
    /// this far end really sends with).
    pub block_ssrc: Option<(u32, u32)>,
}

/// Apply `rw` to every SR/RR in a compound RTCP packet, in place. False when the compound
/// packet is malformed (it is then not relayed).
pub fn rewrite_rtcp(buf: &mut [u8], rw: &RtcpRewrite) -> bool {
    let mut pos = 0;
    while pos < buf.len() {
        let Some(hdr) = buf.get(pos..pos + 4) else {
            return false;
        };
        if hdr[0] >> 6 != 2 {
            return false;
        }
        let count = (hdr[0] & 0x1f) as usize;
        let pt = hdr[1];
        let len = (u16::from_be_bytes([hdr[2], hdr[3]]) as usize + 1) * 4;
        if pos + len > buf.len() {
            return false;
        }
        let pkt = &mut buf[pos..pos + len];
        let blocks_at = match pt {
            200 if len >= 28 => {
                pkt[4..8].copy_from_slice(&rw.sender_ssrc.to_be_bytes());
                let ts = u32::from_be_bytes([pkt[16], pkt[17], pkt[18], pkt[19]]);
                pkt[16..20].copy_from_slice(&ts.wrapping_add(rw.ts_offset).to_be_bytes());
                Some(28)
            }
            201 if len >= 8 => {
                pkt[4..8].copy_from_slice(&rw.sender_ssrc.to_be_bytes());
                Some(8)
            }
            _ => None,
        };
        if let (Some(at), Some((from, to))) = (blocks_at, rw.block_ssrc) {
            for i in 0..count {
                let Some(b) = pkt.get_mut(at + i * 24..at + i * 24 + 4) else {
                    break;
                };
                if u32::from_be_bytes([b[0], b[1], b[2], b[3]]) == from {
                    b.copy_from_slice(&to.to_be_bytes());
                }
            }
        }
        pos += len;
    }
    pos > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pkt(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut v = vec![0x80, 0];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&ts.to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.extend_from_slice(&[0; 160]);
        v
    }

    fn fields(p: &[u8]) -> (u16, u32, u32) {
        (
            u16::from_be_bytes([p[2], p[3]]),
            u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
            u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        )
    }

    #[test]
    fn keeps_one_continuous_stream_across_a_source_change() {
        let t0 = Instant::now();
        let mut r = StreamRewriter::new(0xabcd, 1000, 5000, 8000);
        let mut out = Vec::new();
        for i in 0..3u16 {
            let mut p = pkt(65534u16.wrapping_add(i), 1_000 + 160 * i as u32, 1);
            assert!(r.rewrite(t0 + Duration::from_millis(20 * i as u64), &mut p));
            out.push(fields(&p));
        }
        assert_eq!(out[0], (1000, 5000, 0xabcd));
        assert_eq!(out[1], (1001, 5160, 0xabcd));
        assert_eq!(out[2], (1002, 5320, 0xabcd));
        // A new source 1 s later: sequence continues, timestamp advances by 1 s of samples.
        let mut p = pkt(77, 999_999, 2);
        r.rewrite(t0 + Duration::from_millis(1040), &mut p);
        assert_eq!(fields(&p), (1003, 5320 + 8000, 0xabcd));
        // Reordering inside a source is preserved.
        let mut late = pkt(76, 999_999 - 160, 2);
        r.rewrite(t0 + Duration::from_millis(1041), &mut late);
        assert_eq!(fields(&late), (1002, 5320 + 8000 - 160, 0xabcd));
        assert!(!r.rewrite(t0, &mut [0x80, 0, 1]));
    }

    #[test]
    fn rtcp_sender_ssrc_only() {
        let mut c = vec![0x81, 201, 0, 7, 0, 0, 0, 9];
        c.extend_from_slice(&[0, 0, 0, 5]); // report block SSRC
        c.extend_from_slice(&[0; 20]);
        c.extend_from_slice(&[0x81, 202, 0, 1, 0, 0, 0, 9]); // SDES
        assert!(rewrite_rtcp_ssrc(&mut c, 0x11223344));
        assert_eq!(&c[4..8], &[0x11, 0x22, 0x33, 0x44]);
        assert_eq!(&c[8..12], &[0, 0, 0, 5]);
        assert_eq!(&c[36..40], &[0, 0, 0, 9]);
        let mut short = vec![0x80, 200, 0, 6, 0, 0];
        assert!(!rewrite_rtcp_ssrc(&mut short, 1));
    }

    #[test]
    fn rtcp_sender_report_timestamp_and_report_blocks() {
        // SR with one report block about 0xAAAA, then an RR with one about 0xBBBB.
        let mut sr = vec![0x81, 200, 0, 12, 0, 0, 0, 7];
        sr.extend_from_slice(&[0; 8]); // NTP
        sr.extend_from_slice(&1000u32.to_be_bytes()); // RTP timestamp
        sr.extend_from_slice(&[0; 8]); // counts
        sr.extend_from_slice(&0xAAAAu32.to_be_bytes());
        sr.extend_from_slice(&[0; 20]);
        let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 7];
        rr.extend_from_slice(&0xBBBBu32.to_be_bytes());
        rr.extend_from_slice(&[0; 20]);
        sr.extend_from_slice(&rr);
        let rw = RtcpRewrite {
            sender_ssrc: 0x55,
            ts_offset: 500,
            block_ssrc: Some((0xAAAA, 0xCCCC)),
        };
        assert!(rewrite_rtcp(&mut sr, &rw));
        assert_eq!(&sr[4..8], &0x55u32.to_be_bytes());
        assert_eq!(&sr[16..20], &1500u32.to_be_bytes());
        assert_eq!(&sr[28..32], &0xCCCCu32.to_be_bytes());
        assert_eq!(&sr[52 + 4..52 + 8], &0x55u32.to_be_bytes());
        // A block about another stream is left alone.
        assert_eq!(&sr[52 + 8..52 + 12], &0xBBBBu32.to_be_bytes());
        // A count larger than the packet is not followed outside it.
        let mut lying = vec![0x9f, 201, 0, 1, 0, 0, 0, 7];
        assert!(rewrite_rtcp(&mut lying, &rw));
    }
}
