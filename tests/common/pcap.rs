//! pcap files of RTP for SIPp's `play_pcap_audio`: RFC 4733 key presses.

use std::path::Path;

/// Write `digits` as RFC 4733 telephone-events (payload type `pt`), each 100 ms long with
/// three end packets, 200 ms apart, as an Ethernet/IPv4/UDP pcap SIPp can replay.
pub fn dtmf(path: &Path, digits: &str, pt: u8) {
    let mut out = Vec::new();
    // Global header: magic, v2.4, tz 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut t_ms: u64 = 0;
    let mut seq: u16 = 1000;
    let mut ts: u32 = 8000;
    for d in digits.chars() {
        let event = match d {
            '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            _ => panic!("no DTMF key {d}"),
        };
        let mut packets = Vec::new();
        for i in 1..=5u16 {
            packets.push((i == 1, false, i * 160));
        }
        for _ in 0..3 {
            packets.push((false, true, 800));
        }
        for (marker, end, duration) in packets {
            let mut rtp = vec![0x80, pt | if marker { 0x80 } else { 0 }];
            rtp.extend_from_slice(&seq.to_be_bytes());
            rtp.extend_from_slice(&ts.to_be_bytes());
            rtp.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            rtp.push(event);
            rtp.push(if end { 0x80 | 10 } else { 10 });
            rtp.extend_from_slice(&duration.to_be_bytes());
            frame(&mut out, t_ms, &rtp);
            seq = seq.wrapping_add(1);
            t_ms += 20;
        }
        ts = ts.wrapping_add(1600);
        t_ms += 200;
    }
    std::fs::write(path, out).unwrap();
}

/// One packet: pcap record header, Ethernet, IPv4, UDP (ports are rewritten by SIPp).
fn frame(out: &mut Vec<u8>, t_ms: u64, payload: &[u8]) {
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let frame_len = 14 + ip_len;
    out.extend_from_slice(&((t_ms / 1000) as u32).to_le_bytes());
    out.extend_from_slice(&(((t_ms % 1000) * 1000) as u32).to_le_bytes());
    out.extend_from_slice(&(frame_len as u32).to_le_bytes());
    out.extend_from_slice(&(frame_len as u32).to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
    ];
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    let sum = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&ip);
    out.extend_from_slice(&4000u16.to_be_bytes());
    out.extend_from_slice(&4002u16.to_be_bytes());
    out.extend_from_slice(&(udp_len as u16).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(payload);
}
