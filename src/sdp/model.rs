//! The SDP model and its writer.

use std::fmt;
use std::net::IpAddr;

use bytes::Bytes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    pub connection: Option<IpAddr>,
    pub bandwidth: Vec<String>,
    pub time: String,
    pub attributes: Vec<Attribute>,
    pub media: Vec<Media>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    pub session_version: u64,
    pub address: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: String,
    pub port: u16,
    pub port_count: Option<u16>,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<IpAddr>,
    pub bandwidth: Vec<String>,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_attributes(attrs: &[Attribute]) -> Option<Direction> {
        attrs.iter().find_map(|a| match a.name.as_str() {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        })
    }
}

impl Media {
    pub fn direction(&self) -> Option<Direction> {
        Direction::from_attributes(&self.attributes)
    }

    fn attr(&self, name: &str) -> impl Iterator<Item = &str> {
        let name = name.to_string();
        self.attributes
            .iter()
            .filter(move |a| a.name == name)
            .filter_map(|a| a.value.as_deref())
    }

    /// `a=rtpmap:<pt> NAME/clock[/channels]`; static PCMU (0) and PCMA (8) without one.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        let found = self.attr("rtpmap").find_map(|v| {
            let (p, rest) = v.split_once(' ')?;
            if p.trim().parse::<u8>().ok()? != pt {
                return None;
            }
            let mut parts = rest.trim().split('/');
            let encoding = parts.next()?.to_string();
            let clock_rate = parts.next()?.trim().parse().ok()?;
            let channels = parts.next().and_then(|c| c.trim().parse().ok());
            Some(RtpMap {
                encoding,
                clock_rate,
                channels,
            })
        });
        found.or_else(|| {
            let name = match pt {
                0 => "PCMU",
                8 => "PCMA",
                _ => return None,
            };
            Some(RtpMap {
                encoding: name.into(),
                clock_rate: 8000,
                channels: None,
            })
        })
    }

    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attr("fmtp").find_map(|v| {
            let (p, rest) = v.split_once(' ')?;
            (p.trim().parse::<u8>().ok()? == pt).then_some(rest.trim())
        })
    }

    pub fn ptime(&self) -> Option<u32> {
        self.attr("ptime").find_map(|v| v.trim().parse().ok())
    }

    pub fn rtcp_port(&self) -> Option<u16> {
        self.attr("rtcp")
            .find_map(|v| v.split_whitespace().next()?.parse().ok())
    }
}

impl SessionDescription {
    pub fn direction_of(&self, m: &Media) -> Direction {
        m.direction()
            .or_else(|| Direction::from_attributes(&self.attributes))
            .unwrap_or(Direction::SendRecv)
    }

    pub fn media_addr(&self, m: &Media) -> Option<IpAddr> {
        m.connection.or(self.connection)
    }

    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

fn addr_type(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "IP4"
    } else {
        "IP6"
    }
}

fn write_attrs(f: &mut fmt::Formatter<'_>, attrs: &[Attribute]) -> fmt::Result {
    for a in attrs {
        match &a.value {
            Some(v) => write!(f, "a={}:{}\r\n", a.name, v)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        let user = if o.username.is_empty() {
            "-"
        } else {
            &o.username
        };
        write!(
            f,
            "v=0\r\no={user} {} {} IN {} {}\r\n",
            o.session_id,
            o.session_version,
            addr_type(&o.address),
            o.address
        )?;
        let name = if self.session_name.is_empty() {
            "-"
        } else {
            &self.session_name
        };
        write!(f, "s={name}\r\n")?;
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
        }
        for b in &self.bandwidth {
            write!(f, "b={b}\r\n")?;
        }
        write!(f, "t={}\r\n", self.time)?;
        write_attrs(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "m={} {}", m.kind, m.port)?;
            if let Some(n) = m.port_count {
                write!(f, "/{n}")?;
            }
            write!(f, " {}", m.proto)?;
            for fmt in &m.formats {
                write!(f, " {fmt}")?;
            }
            f.write_str("\r\n")?;
            if let Some(c) = &m.connection {
                write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
            }
            for b in &m.bandwidth {
                write!(f, "b={b}\r\n")?;
            }
            write_attrs(f, &m.attributes)?;
        }
        Ok(())
    }
}
