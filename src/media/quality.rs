//! Receive statistics per direction (RFC 3550 A.1, A.3, A.8) and an estimated MOS.

use std::time::Instant;

pub struct ReceiveStats {
    clock_rate: u32,
    packets: u64,
    octets: u64,
    /// Expected packets of earlier sources.
    expected_before: u64,
    base_seq: Option<u32>,
    max_ext: u32,
    cycles: u32,
    /// Jitter in timestamp units, scaled by 16 as in RFC 3550 A.8.
    jitter: f64,
    max_jitter: f64,
    last_transit: Option<i64>,
    epoch: Option<Instant>,
}

impl ReceiveStats {
    pub fn new(clock_rate: u32) -> Self {
        ReceiveStats {
            clock_rate: clock_rate.max(1),
            packets: 0,
            octets: 0,
            expected_before: 0,
            base_seq: None,
            max_ext: 0,
            cycles: 0,
            jitter: 0.0,
            max_jitter: 0.0,
            last_transit: None,
            epoch: None,
        }
    }

    pub fn on_packet(&mut self, now: Instant, seq: u16, ts: u32, bytes: usize) {
        self.packets += 1;
        self.octets += bytes as u64;
        let seq = seq as u32;
        match self.base_seq {
            None => {
                self.base_seq = Some(seq);
                self.max_ext = seq;
                self.cycles = 0;
            }
            Some(_) => {
                let max_low = self.max_ext & 0xffff;
                let delta = seq.wrapping_sub(max_low) & 0xffff;
                if delta < 0x8000 {
                    if seq < max_low {
                        self.cycles += 0x10000;
                    }
                    self.max_ext = self.cycles | seq;
                }
            }
        }
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = (now.saturating_duration_since(epoch).as_micros() as i64)
            * self.clock_rate as i64
            / 1_000_000;
        let transit = arrival - ts as i64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs() as f64;
            // Timestamps may wrap; a jump beyond a minute is a discontinuity, not jitter.
            if d < 60.0 * self.clock_rate as f64 {
                self.jitter += (d - self.jitter) / 16.0;
                self.max_jitter = self.max_jitter.max(self.jitter);
            }
        }
        self.last_transit = Some(transit);
    }

    pub fn on_new_source(&mut self) {
        self.expected_before += self.current_expected();
        self.base_seq = None;
        self.last_transit = None;
    }

    fn current_expected(&self) -> u64 {
        self.base_seq
            .map_or(0, |b| (self.max_ext as u64).saturating_sub(b as u64) + 1)
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    pub fn octets(&self) -> u64 {
        self.octets
    }

    pub fn expected(&self) -> u64 {
        self.expected_before + self.current_expected()
    }

    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.packets)
    }

    pub fn loss_fraction(&self) -> f64 {
        match self.expected() {
            0 => 0.0,
            e => self.lost() as f64 / e as f64,
        }
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / self.clock_rate as f64
    }

    pub fn max_jitter_ms(&self) -> f64 {
        self.max_jitter * 1000.0 / self.clock_rate as f64
    }
}

/// Simplified ITU-T G.107 E-model for G.711 with packet-loss concealment (Bpl = 25.1).
pub fn estimate_mos(loss_fraction: f64, jitter_ms: f64, rtt_ms: Option<f64>) -> f64 {
    let one_way = rtt_ms.map_or(20.0, |r| r / 2.0);
    let latency = one_way + 2.0 * jitter_ms.max(0.0) + 10.0;
    let id = if latency < 160.0 {
        latency / 40.0
    } else {
        (latency - 120.0) / 10.0
    };
    let ppl = (loss_fraction.clamp(0.0, 1.0)) * 100.0;
    let ie_eff = 95.0 * ppl / (ppl + 25.1);
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    let mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
    mos.clamp(1.0, 4.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_loss_across_wrap_and_duplicates() {
        let t = Instant::now();
        let mut s = ReceiveStats::new(8000);
        for i in 0..100u32 {
            if i % 10 == 3 {
                continue;
            }
            let seq = (65500 + i) as u16;
            s.on_packet(t + Duration::from_millis(20 * i as u64), seq, 160 * i, 172);
        }
        assert_eq!(s.expected(), 100);
        assert_eq!(s.lost(), 10);
        assert!((s.loss_fraction() - 0.1).abs() < 1e-9);
        assert!(s.jitter_ms() < 1.0, "steady arrivals: no jitter");
        s.on_packet(t + Duration::from_secs(3), 65500, 0, 172);
        s.on_packet(t + Duration::from_secs(3), 65501, 0, 172);
        // Duplicates count as received (RFC 3550 A.3), so they lower the loss.
        assert_eq!(s.lost(), 8);
    }

    #[test]
    fn jitter_follows_arrival_noise() {
        let t = Instant::now();
        let mut s = ReceiveStats::new(8000);
        for i in 0..500u64 {
            let noise = if i % 2 == 0 { 0 } else { 10 };
            s.on_packet(
                t + Duration::from_millis(20 * i + noise),
                i as u16,
                160 * i as u32,
                172,
            );
        }
        // |D| = 10 ms every packet: the estimate converges to 10 ms.
        assert!((8.0..=10.5).contains(&s.jitter_ms()), "{}", s.jitter_ms());
        assert!(s.max_jitter_ms() >= s.jitter_ms());
    }

    #[test]
    fn mos_falls_with_loss() {
        assert!(estimate_mos(0.0, 0.0, None) >= 4.3);
        assert!(estimate_mos(0.05, 5.0, None) < estimate_mos(0.01, 5.0, None));
        for l in [0.0, 0.5, 1.0] {
            let m = estimate_mos(l, 300.0, Some(900.0));
            assert!((1.0..=4.5).contains(&m));
        }
    }
}
