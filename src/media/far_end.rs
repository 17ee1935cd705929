//! What one far end tells us in its RTCP reports about the stream we relay to it: the loss
//! and jitter on the network between us and it, and the round trip to it. Our own receive
//! statistics only see the path from a phone to us; these reports see the path from us to
//! the phone. Sans-IO: the relay passes in the time and the parsed report.

use std::time::{Duration, Instant};

use super::ReportBlock;

/// How many forwarded sender reports are remembered for RTT matching (a far end answers
/// the latest one within a few seconds; older ones are never referenced).
const SR_MEMORY: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct FarEndView {
    /// (middle 32 bits of the SR's NTP time, when we forwarded it to this far end).
    forwarded: [Option<(u32, Instant)>; SR_MEMORY],
    next: usize,
    /// From the newest report block about our stream.
    cumulative_lost: Option<i32>,
    jitter_ms: Option<f64>,
    max_jitter_ms: f64,
    /// Newest round-trip measurement and the largest.
    rtt: Option<Duration>,
    max_rtt: Option<Duration>,
}

impl FarEndView {
    /// A sender report (with NTP time `ntp`, as the 64-bit wire value) was relayed to this
    /// far end at `now`: its receiver reports will name it in LSR.
    pub fn on_sr_forwarded(&mut self, now: Instant, ntp: u64) {
        let middle = (ntp >> 16) as u32;
        self.forwarded[self.next] = Some((middle, now));
        self.next = (self.next + 1) % SR_MEMORY;
    }

    /// A report block from this far end about the stream we send it.
    pub fn on_report(&mut self, now: Instant, block: &ReportBlock, clock_rate: u32) {
        self.cumulative_lost = Some(block.cumulative_lost);
        let jitter = f64::from(block.jitter) * 1000.0 / f64::from(clock_rate.max(1));
        self.jitter_ms = Some(jitter);
        self.max_jitter_ms = self.max_jitter_ms.max(jitter);
        if block.lsr == 0 {
            return;
        }
        // RFC 3550 §6.4.1, measured on our own clock: the far end held the SR for DLSR
        // (units of 1/65536 s) after we forwarded it.
        let Some((_, sent)) = self
            .forwarded
            .iter()
            .flatten()
            .find(|(m, _)| *m == block.lsr)
        else {
            return;
        };
        let held = Duration::from_micros(u64::from(block.dlsr) * 1_000_000 / 65536);
        if let Some(rtt) = now.saturating_duration_since(*sent).checked_sub(held) {
            self.rtt = Some(rtt);
            self.max_rtt = Some(self.max_rtt.map_or(rtt, |m| m.max(rtt)));
        }
    }

    /// Packets this far end says it lost (negative with duplicates), if it reported.
    pub fn lost(&self) -> Option<i64> {
        self.cumulative_lost.map(i64::from)
    }

    pub fn jitter_ms(&self) -> Option<f64> {
        self.jitter_ms
    }

    pub fn max_jitter_ms(&self) -> f64 {
        self.max_jitter_ms
    }

    /// The largest round trip between us and this far end seen during the call.
    pub fn max_rtt(&self) -> Option<Duration> {
        self.max_rtt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(lsr: u32, dlsr: u32, lost: i32, jitter: u32) -> ReportBlock {
        ReportBlock {
            ssrc: 1,
            fraction_lost: 0,
            cumulative_lost: lost,
            highest_seq: 0,
            jitter,
            lsr,
            dlsr,
        }
    }

    #[test]
    fn round_trip_from_lsr_and_dlsr_on_our_clock() {
        let t = Instant::now();
        let mut v = FarEndView::default();
        let ntp: u64 = 0x0001_2345_6789_0000;
        v.on_sr_forwarded(t, ntp);
        // The far end held it 0.5 s (32768/65536) and its report arrived 0.58 s after we
        // forwarded the SR: 80 ms round trip.
        v.on_report(
            t + Duration::from_millis(580),
            &block(0x2345_6789, 32768, 3, 80),
            8000,
        );
        let rtt = v.max_rtt().unwrap();
        assert!(
            (79..=81).contains(&rtt.as_millis()),
            "rtt {rtt:?} from a 580 ms turnaround"
        );
        assert_eq!(v.lost(), Some(3));
        assert_eq!(v.jitter_ms(), Some(10.0));
    }

    #[test]
    fn unknown_or_absent_lsr_gives_no_round_trip() {
        let t = Instant::now();
        let mut v = FarEndView::default();
        v.on_report(t, &block(0, 0, 0, 0), 8000);
        v.on_report(t, &block(0xdead, 0, 0, 0), 8000);
        assert_eq!(v.max_rtt(), None);
        // A DLSR longer than the time since we forwarded it (a lying far end) is ignored.
        v.on_sr_forwarded(t, 0x0000_dead_0000_0000);
        v.on_report(
            t + Duration::from_millis(10),
            &block(0xdead, 65536, 0, 0),
            8000,
        );
        assert_eq!(v.max_rtt(), None);
    }

    #[test]
    fn remembers_the_latest_sender_reports_only() {
        let t = Instant::now();
        let mut v = FarEndView::default();
        for i in 0..(SR_MEMORY as u64 + 1) {
            v.on_sr_forwarded(t + Duration::from_secs(i), (i + 1) << 16);
        }
        // The first SR (middle = 1) was pushed out of memory.
        v.on_report(t + Duration::from_secs(9), &block(1, 0, 0, 0), 8000);
        assert_eq!(v.max_rtt(), None);
        v.on_report(t + Duration::from_secs(9), &block(5, 0, 0, 0), 8000);
        assert_eq!(v.max_rtt(), Some(Duration::from_secs(5)));
    }
}
