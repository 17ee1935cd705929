//! Offer/answer for an anchoring B2BUA: no transcoding, so each side is offered only what
//! the other side can do, with the same payload type numbers (the relay never touches PTs).

use std::net::{IpAddr, SocketAddr};

use super::model::{Attribute, Direction, Media, Origin, SessionDescription};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum CodecName {
    Pcmu,
    Pcma,
}

impl CodecName {
    pub fn static_pt(self) -> u8 {
        match self {
            CodecName::Pcmu => 0,
            CodecName::Pcma => 8,
        }
    }

    pub fn encoding(self) -> &'static str {
        match self {
            CodecName::Pcmu => "PCMU",
            CodecName::Pcma => "PCMA",
        }
    }

    pub fn parse(s: &str) -> Option<CodecName> {
        match s.to_ascii_uppercase().as_str() {
            "PCMU" => Some(CodecName::Pcmu),
            "PCMA" => Some(CodecName::Pcma),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Codec {
    pub name: CodecName,
    pub pt: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiateError {
    #[error("no usable audio stream")]
    NoAudio,
    #[error("no codec in common")]
    NoCommonCodec,
    /// Media aimed at broadcast, multicast or a reserved address: we never send there.
    #[error("media address {0} is not a unicast address")]
    NotUnicast(std::net::IpAddr),
}

impl NegotiateError {
    /// The Warning header value for the 488 (RFC 3261 §20.43 warn-codes).
    pub fn warning(&self) -> &'static str {
        match self {
            NegotiateError::NotUnicast(_) => "301 switchboard \"media address is not unicast\"",
            NegotiateError::NoAudio | NegotiateError::NoCommonCodec => {
                "305 switchboard \"incompatible media format\""
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedAudio {
    pub codecs: Vec<Codec>,
    pub telephone_event: Option<u8>,
    pub ptime: Option<u32>,
    pub direction: Direction,
    pub remote: Option<SocketAddr>,
    pub remote_rtcp: Option<SocketAddr>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    pub telephone_event: Option<u8>,
    pub ptime: Option<u32>,
    pub direction: Direction,
    pub remote: Option<SocketAddr>,
    pub remote_rtcp: Option<SocketAddr>,
}

pub struct LocalMedia {
    pub addr: IpAddr,
    pub port: u16,
    pub ptime: Option<u32>,
}

/// o= for one leg: the session id stays, the version goes up with every new SDP (§8).
pub struct OriginState {
    session_id: u64,
    version: u64,
    address: IpAddr,
}

impl OriginState {
    pub fn new(session_id: u64, address: IpAddr) -> Self {
        OriginState {
            session_id,
            version: session_id % 1_000_000,
            address,
        }
    }

    fn next(&mut self) -> Origin {
        self.version += 1;
        Origin {
            username: "switchboard".into(),
            session_id: self.session_id,
            session_version: self.version,
            address: self.address,
        }
    }
}

fn is_rtp_audio(m: &Media) -> bool {
    m.kind == "audio" && m.port != 0 && m.proto.to_ascii_uppercase().starts_with("RTP/AVP")
}

fn codec_of(m: &Media, fmt: &str) -> Option<(u8, String, u32)> {
    let pt: u8 = fmt.parse().ok()?;
    let map = m.rtpmap(pt)?;
    Some((pt, map.encoding.to_ascii_uppercase(), map.clock_rate))
}

fn telephone_event_of(m: &Media) -> Option<u8> {
    m.formats.iter().find_map(|f| {
        let (pt, enc, clock) = codec_of(m, f)?;
        (enc == "TELEPHONE-EVENT" && clock == 8000).then_some(pt)
    })
}

type Remote = (Option<SocketAddr>, Option<SocketAddr>);

/// Where the far end wants our RTP and RTCP; `None` for hold (c=0.0.0.0 or port 0). An
/// address we would never send to refuses the whole description (488), before any packet.
fn remote_of(sd: &SessionDescription, m: &Media) -> Result<Remote, NegotiateError> {
    match sd.media_addr(m) {
        Some(ip) if ip.is_unspecified() || m.port == 0 => Ok((None, None)),
        Some(ip) if !crate::netaddr::is_unicast_target(ip) => Err(NegotiateError::NotUnicast(ip)),
        Some(ip) => {
            let rtcp = m.rtcp_port().unwrap_or(m.port.wrapping_add(1));
            Ok((
                Some(SocketAddr::new(ip, m.port)),
                Some(SocketAddr::new(ip, rtcp)),
            ))
        }
        None => Ok((None, None)),
    }
}

pub fn offered_audio(
    sd: &SessionDescription,
    prefs: &[CodecName],
) -> Result<OfferedAudio, NegotiateError> {
    let m = sd
        .media
        .iter()
        .find(|m| is_rtp_audio(m))
        .ok_or(NegotiateError::NoAudio)?;
    let offered: Vec<Codec> = m
        .formats
        .iter()
        .filter_map(|f| {
            let (pt, enc, clock) = codec_of(m, f)?;
            let name = CodecName::parse(&enc)?;
            (clock == 8000).then_some(Codec { name, pt })
        })
        .collect();
    let codecs: Vec<Codec> = prefs
        .iter()
        .filter_map(|p| offered.iter().find(|c| c.name == *p).copied())
        .collect();
    if codecs.is_empty() {
        return Err(NegotiateError::NoCommonCodec);
    }
    let (remote, remote_rtcp) = remote_of(sd, m)?;
    // Old-style hold (c=0.0.0.0) means "do not send to me".
    let mut direction = sd.direction_of(m);
    if remote.is_none() && direction == Direction::SendRecv {
        direction = Direction::SendOnly;
    }
    Ok(OfferedAudio {
        codecs,
        telephone_event: telephone_event_of(m),
        ptime: m.ptime(),
        direction,
        remote,
        remote_rtcp,
    })
}

fn audio_media(
    local: &LocalMedia,
    codecs: &[Codec],
    telephone_event: Option<u8>,
    direction: Direction,
) -> Media {
    let mut formats: Vec<String> = codecs.iter().map(|c| c.pt.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|c| Attribute {
            name: "rtpmap".into(),
            value: Some(format!("{} {}/8000", c.pt, c.name.encoding())),
        })
        .collect();
    if let Some(pt) = telephone_event {
        formats.push(pt.to_string());
        attributes.push(Attribute {
            name: "rtpmap".into(),
            value: Some(format!("{pt} telephone-event/8000")),
        });
        attributes.push(Attribute {
            name: "fmtp".into(),
            value: Some(format!("{pt} 0-16")),
        });
    }
    if let Some(p) = local.ptime {
        attributes.push(Attribute {
            name: "ptime".into(),
            value: Some(p.to_string()),
        });
    }
    attributes.push(Attribute {
        name: direction.as_str().into(),
        value: None,
    });
    Media {
        kind: "audio".into(),
        port: local.port,
        port_count: None,
        proto: "RTP/AVP".into(),
        formats,
        connection: None,
        bandwidth: Vec::new(),
        attributes,
    }
}

fn session(origin: &mut OriginState, local: &LocalMedia, media: Vec<Media>) -> SessionDescription {
    SessionDescription {
        origin: origin.next(),
        session_name: "switchboard".into(),
        connection: Some(local.addr),
        bandwidth: Vec::new(),
        time: "0 0".into(),
        attributes: Vec::new(),
        media,
    }
}

pub fn build_offer(
    origin: &mut OriginState,
    local: &LocalMedia,
    codecs: &[Codec],
    telephone_event: Option<u8>,
    direction: Direction,
) -> SessionDescription {
    let m = audio_media(local, codecs, telephone_event, direction);
    session(origin, local, vec![m])
}

pub fn build_answer(
    origin: &mut OriginState,
    local: &LocalMedia,
    offer: &SessionDescription,
    chosen: Codec,
    telephone_event: bool,
    direction: Direction,
) -> Result<SessionDescription, NegotiateError> {
    let audio = offer
        .media
        .iter()
        .position(is_rtp_audio)
        .ok_or(NegotiateError::NoAudio)?;
    let mut media = Vec::with_capacity(offer.media.len());
    for (i, m) in offer.media.iter().enumerate() {
        if i == audio {
            let te = if telephone_event {
                telephone_event_of(m)
            } else {
                None
            };
            media.push(audio_media(local, &[chosen], te, direction));
        } else {
            // RFC 3264 §6: every offered stream gets a line; the ones we decline get port 0.
            media.push(Media {
                kind: m.kind.clone(),
                port: 0,
                port_count: None,
                proto: m.proto.clone(),
                formats: m.formats.clone(),
                connection: None,
                bandwidth: Vec::new(),
                attributes: Vec::new(),
            });
        }
    }
    Ok(session(origin, local, media))
}

pub fn answered_audio(
    answer: &SessionDescription,
    offered: &[Codec],
) -> Result<Negotiated, NegotiateError> {
    let m = answer
        .media
        .iter()
        .find(|m| m.kind == "audio" && m.proto.to_ascii_uppercase().starts_with("RTP/AVP"))
        .ok_or(NegotiateError::NoAudio)?;
    if m.port == 0 {
        return Err(NegotiateError::NoCommonCodec);
    }
    let codec = m
        .formats
        .iter()
        .find_map(|f| {
            let (_, enc, _) = codec_of(m, f)?;
            let name = CodecName::parse(&enc)?;
            // Our payload number, which the relay keeps end to end (RFC 3264 asks the
            // answerer to use it too).
            offered.iter().find(|c| c.name == name).copied()
        })
        .ok_or(NegotiateError::NoCommonCodec)?;
    let (remote, remote_rtcp) = remote_of(answer, m)?;
    Ok(Negotiated {
        codec,
        telephone_event: telephone_event_of(m),
        ptime: m.ptime(),
        direction: answer.direction_of(m),
        remote,
        remote_rtcp,
    })
}

pub fn answer_direction(offered: Direction) -> Direction {
    offered.reverse()
}
