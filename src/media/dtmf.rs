//! RFC 4733 telephone events: each key press reported once, whatever the sender repeats.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("telephone-event payload shorter than 4 bytes")]
    Short,
}

pub fn parse_telephone_event(payload: &[u8]) -> Result<TelephoneEvent, DtmfError> {
    let p = payload.get(..4).ok_or(DtmfError::Short)?;
    Ok(TelephoneEvent {
        event: p[0],
        end: p[1] & 0x80 != 0,
        volume: p[1] & 0x3f,
        duration: u16::from_be_bytes([p[2], p[3]]),
    })
}

pub fn event_char(event: u8) -> Option<char> {
    match event {
        0..=9 => Some((b'0' + event) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + event - 12) as char),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfDigit {
    pub digit: char,
    pub duration_ms: u32,
}

/// Tracks the event in progress (keyed by its RTP timestamp, RFC 4733 §2.5.1.2).
pub struct DtmfDetector {
    clock_rate: u32,
    current: Option<(u32, u8, u16, Instant)>,
    /// Timestamp of the last event already reported (its End retransmissions are ignored).
    reported: Option<u32>,
    ready: Option<DtmfDigit>,
}

impl DtmfDetector {
    pub fn new(clock_rate: u32) -> Self {
        DtmfDetector {
            clock_rate: clock_rate.max(1),
            current: None,
            reported: None,
            ready: None,
        }
    }

    pub fn handle_packet(&mut self, now: Instant, rtp_timestamp: u32, payload: &[u8]) {
        let Ok(ev) = parse_telephone_event(payload) else {
            return;
        };
        if self.reported == Some(rtp_timestamp) {
            return;
        }
        if let Some((ts, ..)) = self.current {
            if ts != rtp_timestamp {
                // A new event while the old one never ended (its End packets were lost).
                self.finish();
            }
        }
        self.current = Some((rtp_timestamp, ev.event, ev.duration, now));
        if ev.end {
            self.finish();
        }
    }

    fn finish(&mut self) {
        if let Some((ts, event, duration, _)) = self.current.take() {
            self.reported = Some(ts);
            if let Some(digit) = event_char(event) {
                let duration_ms = duration as u32 * 1000 / self.clock_rate;
                self.ready = Some(DtmfDigit { digit, duration_ms });
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self
            .current
            .is_some_and(|(.., at)| now >= at + Duration::from_secs(1))
        {
            self.finish();
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current.map(|(.., at)| at + Duration::from_secs(1))
    }

    pub fn poll_digit(&mut self) -> Option<DtmfDigit> {
        self.ready.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: u8, end: bool, duration: u16) -> [u8; 4] {
        let d = duration.to_be_bytes();
        [event, if end { 0x8a } else { 0x0a }, d[0], d[1]]
    }

    #[test]
    fn one_digit_per_press() {
        let t = Instant::now();
        let mut d = DtmfDetector::new(8000);
        for dur in [160u16, 320, 480] {
            d.handle_packet(t, 1000, &ev(5, false, dur));
            assert_eq!(d.poll_digit(), None);
        }
        for _ in 0..3 {
            d.handle_packet(t, 1000, &ev(5, true, 800));
        }
        assert_eq!(
            d.poll_digit(),
            Some(DtmfDigit {
                digit: '5',
                duration_ms: 100
            })
        );
        assert_eq!(d.poll_digit(), None);
        // Same key again: a new timestamp, a new digit.
        d.handle_packet(t, 3000, &ev(5, true, 800));
        assert_eq!(d.poll_digit().map(|x| x.digit), Some('5'));
        // Lost End: reported when the next event starts, or on timeout.
        d.handle_packet(t, 5000, &ev(11, false, 160));
        d.handle_packet(t, 7000, &ev(1, false, 160));
        assert_eq!(d.poll_digit().map(|x| x.digit), Some('#'));
        d.handle_timeout(t + Duration::from_millis(1001));
        assert_eq!(d.poll_digit().map(|x| x.digit), Some('1'));
        assert_eq!(event_char(10), Some('*'));
        assert_eq!(event_char(16), None);
        assert!(parse_telephone_event(&[1, 2]).is_err());
    }
}
