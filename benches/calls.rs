//! The sans-IO cost of a call: SDP offer/answer for a typical phone offer, the relay's work
//! per RTP packet, and a whole B2BUA call (INVITE in, INVITE out, 200, ACK, BYE both ways)
//! through the endpoint with no sockets.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use switchboard::call::dialog::LocalAddr;
use switchboard::media::{parse_rtp, ReceiveStats, StreamRewriter};
use switchboard::sdp::{self, CodecName, LocalMedia, OriginState};
use switchboard::sip::endpoint::{Endpoint, Output};
use switchboard::sip::registrar::{Binding, Registrar};
use switchboard::sip::{Peer, TransportKind};

const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

/// What the B2BUA does with an offer: parse it, pick our codec, write the offer for the
/// other leg; then parse that leg's answer, check it, and write the answer for the caller.
fn offer_answer(c: &mut Criterion) {
    let prefs = [CodecName::Pcmu, CodecName::Pcma];
    let ip: IpAddr = [127, 0, 0, 1].into();
    let mut g = c.benchmark_group("sdp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| {
        b.iter(|| sdp::parse(black_box(OFFER.as_bytes())))
    });
    g.bench_function("offer_answer_both_legs", |b| {
        let mut origin_a = OriginState::new(1, ip);
        let mut origin_b = OriginState::new(2, ip);
        let local_a = LocalMedia {
            addr: ip,
            port: 20000,
            ptime: Some(20),
        };
        let local_b = LocalMedia {
            addr: ip,
            port: 20002,
            ptime: Some(20),
        };
        b.iter(|| {
            // The bench's own fixed offer: it parses and carries PCMU, or the bench is wrong.
            let offer = sdp::parse(black_box(OFFER.as_bytes())).expect("offer parses");
            let o = sdp::offered_audio(&offer, &prefs).expect("offer has PCMU");
            let b_offer = sdp::build_offer(
                &mut origin_b,
                &local_b,
                &o.codecs,
                o.telephone_event,
                o.direction,
            );
            let b_bytes = b_offer.to_bytes();
            // The callee answers with our offer's first codec (its SDP is ours, reparsed).
            let b_answer = sdp::parse(&b_bytes).expect("our own offer parses");
            let n = sdp::answered_audio(&b_answer, &o.codecs).expect("answer has a codec");
            let a_answer = sdp::build_answer(
                &mut origin_a,
                &local_a,
                &offer,
                n.codec,
                true,
                sdp::answer_direction(o.direction),
            )
            .expect("offer has audio");
            black_box(a_answer.to_bytes())
        })
    });
    g.finish();
}

/// One 20 ms PCMU packet: 12-byte header + 160 bytes of payload.
fn pcmu_packet(seq: u16, ts: u32) -> [u8; 172] {
    let mut p = [0u8; 172];
    p[0] = 0x80;
    p[1] = 0;
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    for (i, b) in p[12..].iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    p
}

/// The relay's per-packet work without the syscalls: parse, receive statistics, rewrite
/// SSRC/sequence/timestamp in place for the other side.
fn relay_packet(c: &mut Criterion) {
    let mut g = c.benchmark_group("relay");
    g.throughput(Throughput::Elements(1));
    g.bench_function("pcmu_172_bytes", |b| {
        let mut stats = ReceiveStats::new(8000);
        let mut out = StreamRewriter::new(0xdead_beef, 1000, 5000, 8000);
        let start = Instant::now();
        let mut seq: u16 = 0;
        let mut ts: u32 = 0;
        let mut buf = pcmu_packet(0, 0);
        b.iter(|| {
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            // A fresh header each time: the rewrite works in place.
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            buf[4..8].copy_from_slice(&ts.to_be_bytes());
            buf[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
            let now = start + Duration::from_millis(u64::from(seq) * 20);
            let Ok(h) = parse_rtp(black_box(&buf)) else {
                return false;
            };
            stats.on_packet(now, h.sequence, h.timestamp, h.payload_len);
            black_box(out.rewrite(now, &mut buf))
        })
    });
    g.finish();
}

const CONFIG: &str = r#"
[sip]
domain = "switchboard.local"
listen = [{ transport = "udp", addr = "127.0.0.1:5060" }]

[security]
trusted = ["192.0.2.0/24"]

[[trunks]]
name = "carrier"
address = "192.0.2.30:5060"

[[dialplan.inbound]]
number = "_X."
extension = "1002"

[[users]]
extension = "1002"
password = "1002pass"
"#;

fn sip(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
        .unwrap_or("")
}

/// A whole call through the sans-IO endpoint: an INVITE from the trunk to DID 5551234,
/// routed to extension 1002 (registered), answered, ACKed, hung up by the caller. Every
/// output is polled; the media commands and CDR writes are dropped as the driver would
/// carry them out. The clock jumps 64 s after each call so its transactions finish.
fn b2bua_call(c: &mut Criterion) {
    let cfg = switchboard::config::parse_str(CONFIG, "bench.toml")
        .expect("bench config is valid")
        .endpoint_config();
    let mut now = Instant::now();
    let mut ep = Endpoint::new(now, cfg, 7);
    ep.set_local_addrs(
        now,
        LocalAddr {
            udp: "127.0.0.1:5060".parse().expect("literal address"),
            tcp: None,
        },
    );
    let phone = Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.20:5060".parse().expect("literal address"),
        conn: None,
    };
    let trunk = Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.30:5060".parse().expect("literal address"),
        conn: None,
    };
    ep.restore(
        now,
        vec![Binding {
            aor: Registrar::aor_of("1002", "switchboard.local"),
            contact: "<sip:1002@192.0.2.20:5060>".into(),
            instance: None,
            call_id: "reg-1".into(),
            cseq: 1,
            // Far beyond the bench's virtual clock.
            expires_at: now + Duration::from_secs(1 << 32),
            source: phone,
            user_agent: None,
        }],
    );
    // One call before measuring: 100 + 200 + 200 (BYE) to the caller, INVITE + ACK + BYE to
    // the callee, at least; fewer means the flow broke and the timing would be meaningless.
    let first = call(&mut ep, now, 0, trunk, phone);
    assert!(first >= 6, "only {first} messages sent in a whole call");
    now += Duration::from_secs(64);
    ep.handle_timeout(now);
    while ep.poll_output().is_some() {}
    let mut n: u64 = 0;
    let mut g = c.benchmark_group("endpoint");
    g.throughput(Throughput::Elements(1));
    g.bench_function("b2bua_call_setup_and_teardown", |b| {
        b.iter(|| {
            n += 1;
            let sent = call(&mut ep, now, n, trunk, phone);
            now += Duration::from_secs(64);
            ep.handle_timeout(now);
            while ep.poll_output().is_some() {}
            black_box(sent)
        })
    });
    g.finish();
}

/// Drain outputs; return the transmitted messages as text.
fn drain(ep: &mut Endpoint) -> Vec<String> {
    std::iter::from_fn(|| ep.poll_output())
        .filter_map(|o| match o {
            Output::Transmit { bytes, .. } => Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => None,
        })
        .collect()
}

fn call(ep: &mut Endpoint, now: Instant, n: u64, trunk: Peer, phone: Peer) -> usize {
    let body = OFFER;
    let invite = format!(
        "INVITE sip:5551234@127.0.0.1:5060 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa{n}\n\
Max-Forwards: 70\n\
From: <sip:+15550001@192.0.2.30>;tag=a{n}\n\
To: <sip:5551234@127.0.0.1>\n\
Call-ID: call-{n}@192.0.2.30\n\
CSeq: 1 INVITE\n\
Contact: <sip:+15550001@192.0.2.30:5060>\n\
Content-Type: application/sdp\n\
Content-Length: {}\n\n",
        body.len()
    );
    let mut bytes = sip(&invite);
    bytes.extend_from_slice(body.as_bytes());
    ep.handle_message(now, &bytes, trunk);
    let mut count = 0;
    let out = drain(ep);
    count += out.len();
    let Some(b_invite) = out.iter().find(|m| m.starts_with("INVITE ")) else {
        panic!("no B-leg INVITE: {out:?}");
    };
    let answer = format!(
        "SIP/2.0 200 OK\n\
Via: {}\n\
From: {}\n\
To: {};tag=b{n}\n\
Call-ID: {}\n\
CSeq: {}\n\
Contact: <sip:1002@192.0.2.20:5060>\n\
Content-Type: application/sdp\n\
Content-Length: {}\n\n",
        header(b_invite, "Via"),
        header(b_invite, "From"),
        header(b_invite, "To"),
        header(b_invite, "Call-ID"),
        header(b_invite, "CSeq"),
        body.len()
    );
    let mut bytes = sip(&answer);
    bytes.extend_from_slice(body.as_bytes());
    ep.handle_message(now, &bytes, phone);
    let out = drain(ep);
    count += out.len();
    let Some(ok) = out.iter().find(|m| m.starts_with("SIP/2.0 200")) else {
        panic!("no 200 to the caller: {out:?}");
    };
    let to = header(ok, "To").to_string();
    let ack = format!(
        "ACK sip:127.0.0.1:5060 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKk{n}\n\
Max-Forwards: 70\n\
From: <sip:+15550001@192.0.2.30>;tag=a{n}\n\
To: {to}\n\
Call-ID: call-{n}@192.0.2.30\n\
CSeq: 1 ACK\n\
Content-Length: 0\n\n"
    );
    ep.handle_message(now, &sip(&ack), trunk);
    count += drain(ep).len();
    let bye = format!(
        "BYE sip:127.0.0.1:5060 SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKy{n}\n\
Max-Forwards: 70\n\
From: <sip:+15550001@192.0.2.30>;tag=a{n}\n\
To: {to}\n\
Call-ID: call-{n}@192.0.2.30\n\
CSeq: 2 BYE\n\
Content-Length: 0\n\n"
    );
    ep.handle_message(now, &sip(&bye), trunk);
    let out = drain(ep);
    count += out.len();
    let Some(b_bye) = out.iter().find(|m| m.starts_with("BYE ")) else {
        panic!("no BYE to the callee: {out:?}");
    };
    let bye_ok = format!(
        "SIP/2.0 200 OK\n\
Via: {}\n\
From: {}\n\
To: {}\n\
Call-ID: {}\n\
CSeq: {}\n\
Content-Length: 0\n\n",
        header(b_bye, "Via"),
        header(b_bye, "From"),
        header(b_bye, "To"),
        header(b_bye, "Call-ID"),
        header(b_bye, "CSeq"),
    );
    ep.handle_message(now, &sip(&bye_ok), phone);
    count + drain(ep).len()
}

criterion_group!(benches, offer_answer, relay_packet, b2bua_call);
criterion_main!(benches);
