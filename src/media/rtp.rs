//! RTP headers (RFC 3550 §5.1) through rtp-rs's zero-copy reader.

use rtp_rs::RtpReader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub payload_type: u8,
    pub marker: bool,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload_offset: usize,
    pub payload_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("not an RTP packet: {0}")]
    Invalid(String),
}

/// RFC 5761 §4: RTCP packet types 192..=223 sit where RTP's marker+PT byte would be.
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 8 && buf[0] >> 6 == 2 && (192..=223).contains(&buf[1])
}

pub fn parse_rtp(buf: &[u8]) -> Result<RtpHeader, RtpError> {
    let r = RtpReader::new(buf).map_err(|e| RtpError::Invalid(format!("{e:?}")))?;
    let payload = r.payload();
    let offset = payload.as_ptr() as usize - buf.as_ptr() as usize;
    Ok(RtpHeader {
        payload_type: r.payload_type(),
        marker: r.mark(),
        sequence: u16::from(r.sequence_number()),
        timestamp: r.timestamp(),
        ssrc: r.ssrc(),
        payload_offset: offset,
        payload_len: payload.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x80, pt];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&ts.to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn parses_and_demultiplexes() {
        let p = packet(0, 7, 160, 0xdead, &[1, 2, 3, 4]);
        let h = parse_rtp(&p).unwrap();
        assert_eq!(
            (h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (0, 7, 160, 0xdead)
        );
        assert_eq!((h.payload_offset, h.payload_len), (12, 4));
        // One CSRC and a one-word extension move the payload.
        let mut c = vec![
            0x91, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 5, 6,
        ];
        let h = parse_rtp(&c).unwrap();
        assert_eq!(h.payload_offset, 24);
        assert_eq!(h.payload_len, 2);
        c[0] = 0x40; // version 1
        assert!(parse_rtp(&c).is_err());
        assert!(parse_rtp(&[0x80, 0]).is_err());
        assert!(!is_rtcp(&p));
        assert!(!is_rtcp(&packet(0x80 | 101, 1, 1, 1, &[0; 4])));
        let sr = [0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(is_rtcp(&sr));
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 1];
        assert!(is_rtcp(&rr));
    }
}
