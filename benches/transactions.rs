//! Transaction-layer throughput: complete server non-INVITE transactions (REGISTER in, 200
//! out, Timer J) and client INVITE transactions (INVITE out, 180 and 200 in, Timer M).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use switchboard::sip::transaction::{TimerConfig, TransactionLayer, TxEvent};
use switchboard::sip::{message, rsip, Peer};

const BATCH: usize = 1000;

fn parse(text: String) -> rsip::SipMessage {
    message::parse(text.as_bytes())
        .expect("valid bench message")
        .message
}

fn request(method: &str, i: usize) -> rsip::Request {
    let m = parse(format!(
        "{method} sip:switchboard.local SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{i};rport\r\nFrom: <sip:1001@switchboard.local>;tag=f{i}\r\nTo: <sip:1001@switchboard.local>\r\nCall-ID: c{i}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ));
    match m {
        rsip::SipMessage::Request(r) => r,
        rsip::SipMessage::Response(_) => unreachable!("request text"),
    }
}

fn response(code: u16, method: &str, i: usize) -> rsip::Response {
    let m = parse(format!(
        "SIP/2.0 {code} OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{i};rport\r\nFrom: <sip:1001@switchboard.local>;tag=f{i}\r\nTo: <sip:1001@switchboard.local>;tag=t\r\nCall-ID: c{i}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    ));
    match m {
        rsip::SipMessage::Response(r) => r,
        rsip::SipMessage::Request(_) => unreachable!("response text"),
    }
}

fn bench(c: &mut Criterion) {
    let peer = Peer::udp("192.0.2.1:5060".parse().expect("addr"));
    let mut g = c.benchmark_group("transactions");
    g.throughput(Throughput::Elements(BATCH as u64));

    let registers: Vec<_> = (0..BATCH).map(|i| request("REGISTER", i)).collect();
    let oks: Vec<_> = (0..BATCH).map(|i| response(200, "REGISTER", i)).collect();
    g.bench_function("server_non_invite", |b| {
        b.iter_batched(
            || (registers.clone(), oks.clone()),
            |(reqs, oks)| {
                let t0 = Instant::now();
                let mut l = TransactionLayer::new(TimerConfig::default());
                for (req, ok) in reqs.into_iter().zip(oks) {
                    l.handle_request(t0, req, peer).expect("new transaction");
                    let Some(TxEvent::Request { key, .. }) = l.poll_event() else {
                        unreachable!("request event")
                    };
                    l.send_response(t0, &key, ok).expect("answer");
                    black_box(l.poll_transmit());
                }
                l.handle_timeout(t0 + Duration::from_secs(33));
                assert!(l.is_empty());
            },
            BatchSize::LargeInput,
        )
    });

    let invites: Vec<_> = (0..BATCH).map(|i| request("INVITE", i)).collect();
    let ringing: Vec<_> = (0..BATCH).map(|i| response(180, "INVITE", i)).collect();
    let answers: Vec<_> = (0..BATCH).map(|i| response(200, "INVITE", i)).collect();
    g.bench_function("client_invite", |b| {
        b.iter_batched(
            || (invites.clone(), ringing.clone(), answers.clone()),
            |(invs, rings, oks)| {
                let t0 = Instant::now();
                let mut l = TransactionLayer::new(TimerConfig::default());
                for ((inv, ring), ok) in invs.into_iter().zip(rings).zip(oks) {
                    l.send_request(t0, inv, peer).expect("new transaction");
                    l.handle_response(t0, ring, peer).expect("180");
                    l.handle_response(t0, ok, peer).expect("200");
                    while l.poll_event().is_some() {}
                    black_box(l.poll_transmit());
                }
                l.handle_timeout(t0 + Duration::from_secs(33));
                assert!(l.is_empty());
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
