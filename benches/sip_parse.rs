//! Parsing typical INVITE and REGISTER messages through our message boundary
//! (`sip::message::parse`: framing, validation, then the rsip model).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use switchboard::sip::message;

const INVITE: &str = "INVITE sip:1002@switchboard.local SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: \"Bob\" <sip:1002@switchboard.local>\r\n\
From: \"Alice\" <sip:1001@switchboard.local>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:1001@192.0.2.10:5060>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO\r\n\
Supported: replaces, timer\r\n\
User-Agent: Desk Phone 1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 211\r\n\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=sendrecv\r\n";

const REGISTER: &str = "REGISTER sip:switchboard.local SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:1001@switchboard.local>\r\n\
From: <sip:1001@switchboard.local>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:1001@192.0.2.10:5060>;expires=3600\r\n\
Authorization: Digest username=\"1001\", realm=\"switchboard.local\", nonce=\"AAAAAGcl5yQt0y2W2lq0a4P1r0SxXHcB\", uri=\"sip:switchboard.local\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n\
User-Agent: Desk Phone 1.0\r\n\
Content-Length: 0\r\n\r\n";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("invite", |b| {
        b.iter(|| message::parse(black_box(INVITE.as_bytes())).unwrap())
    });
    g.bench_function("register", |b| {
        b.iter(|| message::parse(black_box(REGISTER.as_bytes())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
