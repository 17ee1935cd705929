//! Which addresses we ever send to. Signalling and media share the rule, so an SDP cannot
//! aim our RTP where a SIP Via could not aim our responses.

use std::net::IpAddr;

/// A unicast address a packet of ours may go to: never broadcast, multicast, unspecified,
/// "this network" (0/8) or the reserved 240/4, also when written as IPv4-mapped IPv6.
pub fn is_unicast_target(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let first = v4.octets()[0];
            !(v4.is_broadcast() || v4.is_multicast() || first == 0 || first >= 240)
        }
        IpAddr::V6(v6) => !(v6.is_multicast() || v6.is_unspecified()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unicast_addresses_are_targets() {
        for bad in [
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "0.0.0.0",
            "0.1.2.3",
            "240.0.0.1",
            "ff02::1",
            "::",
            "::ffff:224.0.0.1",
            "::ffff:255.255.255.255",
        ] {
            assert!(!is_unicast_target(bad.parse().unwrap()), "{bad}");
        }
        for good in [
            "127.0.0.1",
            "192.0.2.1",
            "::1",
            "2001:db8::1",
            "::ffff:192.0.2.1",
        ] {
            assert!(is_unicast_target(good.parse().unwrap()), "{good}");
        }
    }
}
