//! The SDP parser: strict on structure, tolerant of what real phones send (LF endings,
//! trailing spaces, unknown line types), bounded in size.

use std::net::IpAddr;

use super::model::{Attribute, Media, Origin, SessionDescription};

const MAX_BODY: usize = 16 * 1024;
const MAX_MEDIA: usize = 16;
const MAX_ATTRS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("empty SDP")]
    Empty,
    #[error("SDP is not UTF-8")]
    NotUtf8,
    #[error("SDP larger than 16 KiB")]
    TooLarge,
    #[error("SDP must start with v=0")]
    BadVersion,
    #[error("SDP lacks its {0}= line")]
    MissingLine(char),
    #[error("SDP line {line}: {reason}")]
    BadLine { line: usize, reason: &'static str },
    #[error("more than 16 m= lines")]
    TooManyMedia,
    #[error("more than 256 attributes")]
    TooManyAttributes,
}

pub fn parse(body: &[u8]) -> Result<SessionDescription, SdpError> {
    if body.len() > MAX_BODY {
        return Err(SdpError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
    let mut lines = text
        .lines()
        .map(str::trim_end)
        .enumerate()
        .filter(|(_, l)| !l.is_empty());
    match lines.next() {
        None => return Err(SdpError::Empty),
        Some((_, "v=0")) => {}
        Some(_) => return Err(SdpError::BadVersion),
    }
    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut bandwidth = Vec::new();
    let mut time = None;
    let mut attributes = Vec::new();
    let mut media: Vec<Media> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let bad = |reason| SdpError::BadLine { line: n, reason };
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' {
            return Err(bad("expected `x=value`"));
        }
        let value = &line[2..];
        match bytes[0] {
            b'o' => origin = Some(parse_origin(value).ok_or(bad("bad o= line"))?),
            b's' => session_name = Some(value.to_string()),
            b't' => time = Some(value.to_string()),
            b'c' => {
                let addr = parse_connection(value).ok_or(bad("bad c= line"))?;
                match media.last_mut() {
                    Some(m) => m.connection = Some(addr),
                    None => connection = Some(addr),
                }
            }
            b'b' => match media.last_mut() {
                Some(m) => m.bandwidth.push(value.to_string()),
                None => bandwidth.push(value.to_string()),
            },
            b'a' => {
                let (name, v) = match value.split_once(':') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (value.to_string(), None),
                };
                if name.is_empty() {
                    return Err(bad("empty attribute"));
                }
                let list = match media.last_mut() {
                    Some(m) => &mut m.attributes,
                    None => &mut attributes,
                };
                if list.len() >= MAX_ATTRS {
                    return Err(SdpError::TooManyAttributes);
                }
                list.push(Attribute { name, value: v });
            }
            b'm' => {
                if media.len() >= MAX_MEDIA {
                    return Err(SdpError::TooManyMedia);
                }
                media.push(parse_media(value).ok_or(bad("bad m= line"))?);
            }
            b'v' => return Err(bad("second v= line")),
            // i= u= e= p= z= k= r= and unknown types carry nothing we use.
            c if c.is_ascii_lowercase() => {}
            _ => return Err(bad("unknown line type")),
        }
    }
    Ok(SessionDescription {
        origin: origin.ok_or(SdpError::MissingLine('o'))?,
        session_name: session_name.ok_or(SdpError::MissingLine('s'))?,
        connection,
        bandwidth,
        time: time.unwrap_or_else(|| "0 0".into()),
        attributes,
        media,
    })
}

fn parse_origin(v: &str) -> Option<Origin> {
    let p: Vec<&str> = v.split_whitespace().collect();
    let [user, id, version, "IN", _kind, addr] = p.as_slice() else {
        return None;
    };
    Some(Origin {
        username: user.to_string(),
        // Some phones send ids wider than 64 bits: keep the low digits rather than refuse.
        session_id: parse_wide(id)?,
        session_version: parse_wide(version)?,
        address: addr.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
    })
}

fn parse_wide(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tail = &s[s.len().saturating_sub(19)..];
    tail.parse().ok()
}

fn parse_connection(v: &str) -> Option<IpAddr> {
    let mut p = v.split_whitespace();
    let (Some("IN"), Some(kind), Some(addr), None) = (p.next(), p.next(), p.next(), p.next())
    else {
        return None;
    };
    let addr = addr.split('/').next()?;
    let ip: IpAddr = addr.parse().ok()?;
    match (kind, ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Some(ip),
        _ => None,
    }
}

fn parse_media(v: &str) -> Option<Media> {
    let mut p = v.split_whitespace();
    let kind = p.next()?.to_string();
    let port_part = p.next()?;
    let (port, port_count) = match port_part.split_once('/') {
        Some((a, b)) => (a.parse().ok()?, Some(b.parse().ok()?)),
        None => (port_part.parse().ok()?, None),
    };
    let proto = p.next()?.to_string();
    let formats: Vec<String> = p.map(str::to_string).collect();
    if formats.is_empty() || formats.len() > 64 {
        return None;
    }
    Some(Media {
        kind,
        port,
        port_count,
        proto,
        formats,
        connection: None,
        bandwidth: Vec::new(),
        attributes: Vec::new(),
    })
}
