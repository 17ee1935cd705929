use std::net::{IpAddr, SocketAddr};

use super::*;

const SIPP: &str = "v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n";

const BARESIP: &str = "v=0\r\no=- 1833477390 2062418931 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 10150 RTP/AVP 96 9 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\nm=video 0 RTP/AVP 97\r\nm=image 0 udptl t38\r\n";

const IPV6_HOLD: &str = "v=0\no=- 1 2 IN IP6 2001:db8::1\ns=call\nc=IN IP6 2001:db8::1\nt=0 0\nm=audio 4000 RTP/SAVP 8\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\na=sendonly\n";

const PREFS: &[CodecName] = &[CodecName::Pcmu, CodecName::Pcma];

fn local() -> LocalMedia {
    LocalMedia {
        addr: IpAddr::from([10, 0, 0, 1]),
        port: 20000,
        ptime: Some(20),
    }
}

#[test]
fn parses_real_offers() {
    let s = parse(SIPP.as_bytes()).unwrap();
    assert_eq!(s.media[0].port, 6000);
    assert_eq!(s.media[0].rtpmap(0).unwrap().encoding, "PCMU");
    let b = parse(BARESIP.as_bytes()).unwrap();
    assert_eq!(b.media.len(), 3);
    assert_eq!(b.media[0].rtpmap(96).unwrap().channels, Some(2));
    assert_eq!(b.media[0].fmtp(101), Some("0-15"));
    assert_eq!(b.media[0].ptime(), Some(20));
    let v6 = parse(IPV6_HOLD.as_bytes()).unwrap();
    assert_eq!(v6.direction_of(&v6.media[0]), Direction::SendOnly);
    assert!(v6.connection.unwrap().is_ipv6());
    let old_hold = parse(
        SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0")
            .as_bytes(),
    )
    .unwrap();
    let o = offered_audio(&old_hold, PREFS).unwrap();
    assert_eq!(o.remote, None);
    assert_eq!(o.direction, Direction::SendOnly);
}

#[test]
fn writes_and_round_trips() {
    let b = parse(BARESIP.as_bytes()).unwrap();
    let text = b.to_string();
    assert!(text.starts_with("v=0\r\n"));
    assert!(!text.replace("\r\n", "").contains('\n'));
    assert_eq!(parse(text.as_bytes()).unwrap(), b);
}

#[test]
fn negotiates_in_our_preference_order() {
    let b = parse(BARESIP.as_bytes()).unwrap();
    let o = offered_audio(&b, &[CodecName::Pcma, CodecName::Pcmu]).unwrap();
    assert_eq!(
        o.codecs,
        vec![
            Codec {
                name: CodecName::Pcma,
                pt: 8
            },
            Codec {
                name: CodecName::Pcmu,
                pt: 0
            }
        ]
    );
    assert_eq!(o.telephone_event, Some(101));
    assert_eq!(o.remote, Some(SocketAddr::from(([192, 168, 1, 20], 10150))));
    assert_eq!(
        o.remote_rtcp,
        Some(SocketAddr::from(([192, 168, 1, 20], 10151)))
    );
    let g729 = SIPP
        .replace("RTP/AVP 0", "RTP/AVP 18")
        .replace("0 PCMU", "18 G729");
    assert_eq!(
        offered_audio(&parse(g729.as_bytes()).unwrap(), PREFS),
        Err(NegotiateError::NoCommonCodec)
    );
    let video_only = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=video 5000 RTP/AVP 96\n";
    assert_eq!(
        offered_audio(&parse(video_only.as_bytes()).unwrap(), PREFS),
        Err(NegotiateError::NoAudio)
    );
}

#[test]
fn answers_keep_lines_and_directions() {
    let b = parse(BARESIP.as_bytes()).unwrap();
    let mut origin = OriginState::new(42, IpAddr::from([10, 0, 0, 1]));
    let pcmu = Codec {
        name: CodecName::Pcmu,
        pt: 0,
    };
    let a1 = build_answer(
        &mut origin,
        &local(),
        &b,
        pcmu,
        true,
        answer_direction(Direction::SendOnly),
    )
    .unwrap();
    assert_eq!(a1.media.len(), 3);
    assert_eq!(a1.media[1].port, 0);
    assert_eq!(a1.media[2].port, 0);
    assert_eq!(a1.media[0].formats, vec!["0", "101"]);
    assert_eq!(a1.direction_of(&a1.media[0]), Direction::RecvOnly);
    let a2 = build_answer(&mut origin, &local(), &b, pcmu, false, Direction::Inactive).unwrap();
    assert_eq!(a2.origin.session_id, a1.origin.session_id);
    assert_eq!(a2.origin.session_version, a1.origin.session_version + 1);
    assert_eq!(a2.media[0].formats, vec!["0"]);
    assert_eq!(answer_direction(Direction::RecvOnly), Direction::SendOnly);
}

#[test]
fn reads_answers_to_our_offers() {
    let mut origin = OriginState::new(7, IpAddr::from([10, 0, 0, 1]));
    let codecs = [Codec {
        name: CodecName::Pcma,
        pt: 8,
    }];
    let offer = build_offer(
        &mut origin,
        &local(),
        &codecs,
        Some(101),
        Direction::SendRecv,
    );
    let offer = parse(offer.to_string().as_bytes()).unwrap();
    assert_eq!(
        offered_audio(&offer, PREFS).unwrap().telephone_event,
        Some(101)
    );
    let answer = parse(
        SIPP.replace("RTP/AVP 0", "RTP/AVP 8")
            .replace("0 PCMU", "8 PCMA")
            .as_bytes(),
    )
    .unwrap();
    let n = answered_audio(&answer, &codecs).unwrap();
    assert_eq!(n.codec, codecs[0]);
    assert_eq!(n.remote, Some(SocketAddr::from(([127, 0, 0, 1], 6000))));
    let wrong = parse(SIPP.as_bytes()).unwrap();
    assert_eq!(
        answered_audio(&wrong, &codecs),
        Err(NegotiateError::NoCommonCodec)
    );
}

#[test]
fn malformed_sdp_is_an_error() {
    assert_eq!(parse(b""), Err(SdpError::Empty));
    assert_eq!(
        parse(b"o=- 1 1 IN IP4 1.2.3.4\n"),
        Err(SdpError::BadVersion)
    );
    assert!(matches!(
        parse(b"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio x RTP/AVP 0\n"),
        Err(SdpError::BadLine { line: 4, .. })
    ));
    assert!(matches!(
        parse(b"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 nope\n"),
        Err(SdpError::BadLine { .. })
    ));
    assert_eq!(parse(b"v=0\ns=-\n"), Err(SdpError::MissingLine('o')));
    assert_eq!(
        parse(&[b'v', b'=', b'0', b'\n', 0xff]),
        Err(SdpError::NotUtf8)
    );
    let many = format!(
        "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n{}",
        "m=audio 1 RTP/AVP 0\n".repeat(17)
    );
    assert_eq!(parse(many.as_bytes()), Err(SdpError::TooManyMedia));
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        let _ = parse(&data);
    }

    #[test]
    fn mutated_offers_never_panic(pos in 0usize..400, byte in proptest::num::u8::ANY) {
        let mut v = BARESIP.as_bytes().to_vec();
        let p = pos % v.len();
        v[p] = byte;
        if let Ok(sd) = parse(&v) {
            if let Ok(o) = offered_audio(&sd, PREFS) {
                let mut origin = OriginState::new(1, IpAddr::from([127, 0, 0, 1]));
                let _ = build_answer(&mut origin, &local(), &sd, o.codecs[0], true, o.direction).map(|a| a.to_bytes());
            }
        }
    }
}
