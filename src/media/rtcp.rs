//! RTCP compound packets (RFC 3550 §6.4): sender and receiver reports, read without
//! allocation; anything else is passed over.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
    pub lsr: u32,
    pub dlsr: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    SenderReport {
        ssrc: u32,
        /// NTP timestamp, 64-bit wire value (its middle 32 bits come back as LSR).
        ntp: u64,
        packets: u32,
        octets: u32,
        blocks: ReportBlocks<'a>,
    },
    ReceiverReport {
        ssrc: u32,
        blocks: ReportBlocks<'a>,
    },
    Other {
        packet_type: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for ReportBlocks<'a> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let b = self.data.get(..24)?;
        self.data = &self.data[24..];
        let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
        // 24-bit two's complement.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Some(ReportBlock {
            ssrc: w(0),
            fraction_lost: b[4],
            cumulative_lost,
            highest_seq: w(8),
            jitter: w(12),
            lsr: w(16),
            dlsr: w(20),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP header truncated")]
    Truncated,
    #[error("RTCP version is not 2")]
    Version,
    #[error("RTCP length overruns the datagram")]
    Length,
    #[error("report count does not fit the packet")]
    Count,
}

pub struct RtcpIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

pub fn parse_rtcp(buf: &[u8]) -> RtcpIter<'_> {
    RtcpIter {
        rest: buf,
        failed: false,
    }
}

impl<'a> Iterator for RtcpIter<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let r = self.one();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

impl<'a> RtcpIter<'a> {
    fn one(&mut self) -> Result<RtcpPacket<'a>, RtcpError> {
        let h = self.rest.get(..4).ok_or(RtcpError::Truncated)?;
        if h[0] >> 6 != 2 {
            return Err(RtcpError::Version);
        }
        let count = (h[0] & 0x1f) as usize;
        let pt = h[1];
        let len = (u16::from_be_bytes([h[2], h[3]]) as usize + 1) * 4;
        let pkt = self.rest.get(..len).ok_or(RtcpError::Length)?;
        self.rest = &self.rest[len..];
        let w = |i: usize| -> Result<u32, RtcpError> {
            let b = pkt.get(i..i + 4).ok_or(RtcpError::Count)?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        match pt {
            200 => {
                let blocks = pkt.get(28..28 + count * 24).ok_or(RtcpError::Count)?;
                Ok(RtcpPacket::SenderReport {
                    ssrc: w(4)?,
                    ntp: (u64::from(w(8)?) << 32) | u64::from(w(12)?),
                    packets: w(20)?,
                    octets: w(24)?,
                    blocks: ReportBlocks { data: blocks },
                })
            }
            201 => {
                let blocks = pkt.get(8..8 + count * 24).ok_or(RtcpError::Count)?;
                Ok(RtcpPacket::ReceiverReport {
                    ssrc: w(4)?,
                    blocks: ReportBlocks { data: blocks },
                })
            }
            other => Ok(RtcpPacket::Other { packet_type: other }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_compound_reports() {
        let mut rr = vec![0x82, 201, 0, 13, 0, 0, 0, 1];
        for (ssrc, lost) in [(5u32, [0xff, 0xff, 0xff]), (6, [0, 0, 3])] {
            rr.extend_from_slice(&ssrc.to_be_bytes());
            rr.push(26);
            rr.extend_from_slice(&lost);
            rr.extend_from_slice(&[0, 0, 0, 100, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
        let mut sr = vec![
            0x80, 200, 0, 6, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 31,
            64,
        ];
        sr.extend_from_slice(&[0x81, 202, 0, 1, 0, 0, 0, 2]);
        sr.extend_from_slice(&rr);
        let pkts: Vec<_> = parse_rtcp(&sr).collect();
        assert_eq!(pkts.len(), 3);
        let Ok(RtcpPacket::SenderReport {
            ssrc: 2,
            packets: 50,
            octets: 8000,
            ..
        }) = pkts[0]
        else {
            panic!("{:?}", pkts[0])
        };
        assert_eq!(pkts[1], Ok(RtcpPacket::Other { packet_type: 202 }));
        let Ok(RtcpPacket::ReceiverReport { blocks, .. }) = pkts[2] else {
            panic!()
        };
        let b: Vec<_> = blocks.collect();
        assert_eq!(b[0].cumulative_lost, -1);
        assert_eq!(b[1].cumulative_lost, 3);
        assert_eq!(b[1].jitter, 40);
        let mut bad = sr.clone();
        bad[3] = 60;
        assert_eq!(parse_rtcp(&bad).next(), Some(Err(RtcpError::Length)));
        let mut overcount = vec![0x85, 201, 0, 1, 0, 0, 0, 1];
        assert_eq!(parse_rtcp(&overcount).next(), Some(Err(RtcpError::Count)));
        overcount[0] = 0x45;
        assert_eq!(parse_rtcp(&overcount).next(), Some(Err(RtcpError::Version)));
    }
}
