//! Symmetric RTP latching for one side of a call: which source address we accept media
//! from, and so where that side's media goes back to.
//!
//! Before latching, the first packet from the address the SDP named (any port: NAT may
//! rewrite it) or from the phone's signalling IP latches. After, only that exact source is
//! relayed (RTP bleed gets nothing), with three ways to move:
//! - the exact SDP address takes over a latch made on the IP alone (a stray packet from
//!   another device on the same IP, e.g. a losing fork, must not capture the call);
//! - a source that has gone quiet for `quiet` gives way to another acceptable one (a NAT
//!   rebinding, or a stale packet that latched first);
//! - when the far end changes (re-INVITE, transfer to another phone) the old source is
//!   retired: for `RETIRED_FOR` it cannot latch on the loose rules, so the previous phone's
//!   last packets — still in flight while it processes our BYE — cannot capture the new
//!   phone's side. Phones sharing one IP (loopback, an office behind one NAT) made that
//!   happen: the caller then heard nothing after a transfer.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long an old source stays unable to latch after its side moved.
pub const RETIRED_FOR: Duration = Duration::from_secs(2);

/// Quiet times after which another source may take over: RTP flows every 20 ms, RTCP
/// about every 5 s.
pub const RTP_QUIET: Duration = Duration::from_secs(1);
pub const RTCP_QUIET: Duration = Duration::from_secs(15);

/// Remembered retired sources per side (a call rarely moves more often than this within
/// `RETIRED_FOR`).
const RETIRED_SLOTS: usize = 4;

#[derive(Debug, Clone)]
pub struct Latch {
    addr: Option<SocketAddr>,
    last_rx: Option<Instant>,
    quiet: Duration,
    retired: [Option<(SocketAddr, Instant)>; RETIRED_SLOTS],
    next_slot: usize,
}

impl Latch {
    pub fn new(quiet: Duration) -> Self {
        Latch {
            addr: None,
            last_rx: None,
            quiet,
            retired: [None; RETIRED_SLOTS],
            next_slot: 0,
        }
    }

    /// The latched source, if any.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Whether a packet from `src` is this side's media; latches or moves as above.
    pub fn accept(
        &mut self,
        now: Instant,
        expected: Option<SocketAddr>,
        signal_ip: Option<IpAddr>,
        src: SocketAddr,
    ) -> bool {
        if self.addr == Some(src) {
            self.last_rx = Some(now);
            return true;
        }
        if expected == Some(src) {
            return self.take(now, src);
        }
        let loose = expected.is_some_and(|e| e.ip() == src.ip()) || signal_ip == Some(src.ip());
        if !loose || self.is_retired(now, src) {
            return false;
        }
        let quiet = self
            .last_rx
            .is_none_or(|t| now.saturating_duration_since(t) >= self.quiet);
        if self.addr.is_none() || quiet {
            return self.take(now, src);
        }
        false
    }

    /// The far end moved: learn afresh, and keep the old source from capturing the side.
    pub fn reset(&mut self, now: Instant) {
        if let Some(old) = self.addr.take() {
            self.retired[self.next_slot] = Some((old, now + RETIRED_FOR));
            self.next_slot = (self.next_slot + 1) % RETIRED_SLOTS;
        }
        self.last_rx = None;
    }

    fn take(&mut self, now: Instant, src: SocketAddr) -> bool {
        self.addr = Some(src);
        self.last_rx = Some(now);
        true
    }

    fn is_retired(&self, now: Instant, src: SocketAddr) -> bool {
        self.retired
            .iter()
            .flatten()
            .any(|(a, until)| *a == src && now < *until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn latches_then_accepts_only_that_source() {
        let t = Instant::now();
        let sdp = Some(addr("10.0.0.5:4000"));
        let mut l = Latch::new(RTP_QUIET);
        // Another host is never accepted, before or after the latch.
        assert!(!l.accept(t, sdp, None, addr("10.9.9.9:4000")));
        // NAT moved the port: the first packet from the SDP's IP latches.
        assert!(l.accept(t, sdp, None, addr("10.0.0.5:5000")));
        assert!(l.accept(t, sdp, None, addr("10.0.0.5:5000")));
        assert!(!l.accept(t, sdp, None, addr("10.0.0.5:6000")));
        assert!(!l.accept(t, sdp, None, addr("10.9.9.9:4000")));
        // The exact SDP address takes over a latch made on the IP alone, for good.
        assert!(l.accept(t, sdp, None, addr("10.0.0.5:4000")));
        assert!(!l.accept(t, sdp, None, addr("10.0.0.5:5000")));
        assert_eq!(l.addr(), sdp);
    }

    #[test]
    fn signalling_address_latches_too() {
        let mut l = Latch::new(RTP_QUIET);
        let sig = Some("192.0.2.1".parse().unwrap());
        let src = addr("192.0.2.1:7078");
        assert!(l.accept(Instant::now(), Some(addr("10.0.0.5:4000")), sig, src));
        assert_eq!(l.addr(), Some(src));
    }

    #[test]
    fn a_quiet_source_gives_way() {
        let t = Instant::now();
        let sig = Some("127.0.0.1".parse().unwrap());
        let sdp = Some(addr("192.0.2.2:4000"));
        let (old, new) = (addr("127.0.0.1:5000"), addr("127.0.0.1:6000"));
        let mut l = Latch::new(RTP_QUIET);
        assert!(l.accept(t, sdp, sig, old));
        let ms = |n| t + Duration::from_millis(n);
        // While the latched source flows, another on the same IP is refused.
        assert!(l.accept(ms(900), sdp, sig, old));
        assert!(!l.accept(ms(1500), sdp, sig, new));
        // Quiet for a second: the other one takes over, and the old one is refused.
        assert!(l.accept(ms(1900), sdp, sig, new));
        assert!(!l.accept(ms(1920), sdp, sig, old));
        assert_eq!(l.addr(), Some(new));
        // Another host never does, however quiet the latch.
        assert!(!l.accept(ms(9000), sdp, sig, addr("10.9.9.9:6000")));
    }

    #[test]
    fn the_previous_phone_cannot_capture_the_new_one() {
        // Transfer between two phones on one IP whose SDP names another address (NAT):
        // the old phone's last packet arrives first after the move.
        let t = Instant::now();
        let sig = Some("127.0.0.1".parse().unwrap());
        let (old, new) = (addr("127.0.0.1:5000"), addr("127.0.0.1:6000"));
        let mut l = Latch::new(RTP_QUIET);
        assert!(l.accept(t, Some(addr("192.0.2.2:5000")), sig, old));
        l.reset(t);
        let sdp = Some(addr("192.0.2.2:6000"));
        let ms = |n| t + Duration::from_millis(n);
        assert!(
            !l.accept(ms(10), sdp, sig, old),
            "the retired phone latched"
        );
        assert!(l.accept(ms(20), sdp, sig, new));
        assert!(!l.accept(ms(30), sdp, sig, old));
        assert_eq!(l.addr(), Some(new));
    }

    #[test]
    fn a_retired_source_may_come_back_later() {
        // Transferred back to the same phone and port after a while: it latches again.
        let t = Instant::now();
        let sig = Some("127.0.0.1".parse().unwrap());
        let src = addr("127.0.0.1:5000");
        let mut l = Latch::new(RTP_QUIET);
        assert!(l.accept(t, None, sig, src));
        l.reset(t);
        assert!(!l.accept(t + Duration::from_millis(500), None, sig, src));
        assert!(l.accept(t + RETIRED_FOR, None, sig, src));
        // Its exact SDP address is always accepted.
        l.reset(t + RETIRED_FOR);
        assert!(l.accept(t + RETIRED_FOR, Some(src), sig, src));
    }
}
