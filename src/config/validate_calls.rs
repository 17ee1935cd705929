//! Semantic checks for `[media]`, `[calls]`, `[dialplan]` and `[[trunks]]`.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use toml::Spanned;

use super::error::Collector;
use super::schema::RawConfig;
use super::*;

pub struct CallParts {
    pub media: MediaConfig,
    pub calls: CallsConfig,
    pub dialplan: DialplanConfig,
    pub trunks: Vec<TrunkConfig>,
}

const KNOWN_CODECS: &[&str] = &["PCMU", "PCMA"];

pub fn calls(c: &mut Collector, raw: &RawConfig, extensions: &HashSet<String>) -> CallParts {
    let m = &raw.media;
    let address = match m.address.get_ref().parse::<IpAddr>() {
        Ok(a) if !a.is_unspecified() && !a.is_multicast() => a,
        _ => {
            c.at(
                m.address.span(),
                "media.address must be the IP address phones send RTP to (not 0.0.0.0)",
            );
            IpAddr::from([127, 0, 0, 1])
        }
    };
    let (lo, hi) = (*m.port_min.get_ref(), *m.port_max.get_ref());
    if lo < 1024 || lo >= hi || hi - lo < 3 {
        c.at(
            m.port_min.span(),
            format!("media port range {lo}..={hi} must start at 1024 or above and hold at least two port pairs"),
        );
    }
    let mut codecs = Vec::new();
    for codec in m.codecs.get_ref() {
        let name = codec.get_ref().to_ascii_uppercase();
        if !KNOWN_CODECS.contains(&name.as_str()) {
            c.at(
                codec.span(),
                format!(
                    "unknown codec `{}`, expected one of PCMU, PCMA",
                    codec.get_ref()
                ),
            );
        } else if codecs.contains(&name) {
            c.at(codec.span(), format!("codec `{name}` listed twice"));
        } else {
            codecs.push(name);
        }
    }
    if m.codecs.get_ref().is_empty() {
        c.at(m.codecs.span(), "media.codecs needs at least one codec");
    }
    let ptime = *m.ptime_ms.get_ref();
    if !(10..=60).contains(&ptime) || !ptime.is_multiple_of(10) {
        c.at(
            m.ptime_ms.span(),
            "media.ptime_ms must be 10, 20, 30, 40, 50 or 60",
        );
    }

    let k = &raw.calls;
    if *k.ring_timeout_secs.get_ref() == 0 {
        c.at(
            k.ring_timeout_secs.span(),
            "calls.ring_timeout_secs must be at least 1",
        );
    }
    let se = *k.session_expires_secs.get_ref();
    let min_se = *k.min_se_secs.get_ref();
    if min_se < 90 {
        c.at(
            k.min_se_secs.span(),
            "calls.min_se_secs must be at least 90 (RFC 4028)",
        );
    }
    if se != 0 && se < min_se {
        c.at(
            k.session_expires_secs.span(),
            format!("calls.session_expires_secs ({se}) must be 0 (off) or at least min_se_secs ({min_se})"),
        );
    }
    if *k.max_calls.get_ref() == 0 {
        c.at(k.max_calls.span(), "calls.max_calls must be at least 1");
    }

    let trunks = trunks(c, &raw.trunks);
    let names: HashSet<&str> = trunks.iter().map(|t| t.name.as_str()).collect();

    let d = &raw.dialplan;
    let blocked = d.blocked.iter().filter_map(|b| pattern(c, b)).collect();
    let mut routes = Vec::new();
    for r in &d.routes {
        let r = r.get_ref();
        let pat = pattern(c, &r.pattern);
        if !names.contains(r.trunk.get_ref().as_str()) {
            c.at(
                r.trunk.span(),
                format!(
                    "route to unknown trunk `{}` (define it in [[trunks]])",
                    r.trunk.get_ref()
                ),
            );
        }
        check_class(c, &r.class);
        if let Some(p) = r
            .prepend
            .get_ref()
            .chars()
            .find(|ch| !(ch.is_ascii_digit() || *ch == '+'))
        {
            c.at(
                r.prepend.span(),
                format!("prepend may hold only digits and `+`, not `{p}`"),
            );
        }
        if let Some(pattern) = pat {
            routes.push(Route {
                pattern,
                trunk: r.trunk.get_ref().clone(),
                class: r.class.get_ref().clone(),
                strip: *r.strip.get_ref() as usize,
                prepend: r.prepend.get_ref().clone(),
                recording: r.recording,
            });
        }
    }
    let menus: HashSet<&str> = raw
        .ivr
        .iter()
        .map(|m| m.get_ref().name.get_ref().as_str())
        .collect();
    let queues: HashSet<&str> = raw
        .queues
        .iter()
        .map(|q| q.get_ref().name.as_str())
        .collect();
    let mut inbound = Vec::new();
    for entry in &d.inbound {
        let i = entry.get_ref();
        let pat = pattern(c, &i.number);
        let target = match (&i.extension, &i.ivr, &i.queue) {
            (Some(e), None, None) => {
                if !extensions.contains(e.get_ref()) {
                    c.at(
                        e.span(),
                        format!(
                            "inbound number routed to unknown extension `{}`",
                            e.get_ref()
                        ),
                    );
                }
                Some(InboundTarget::Extension(e.get_ref().clone()))
            }
            (None, None, Some(q)) => {
                if !queues.contains(q.get_ref().as_str()) {
                    c.at(
                        q.span(),
                        format!("inbound number routed to unknown queue `{}`", q.get_ref()),
                    );
                }
                Some(InboundTarget::Queue(q.get_ref().clone()))
            }
            (None, Some(m), None) => {
                if !menus.contains(m.get_ref().as_str()) {
                    c.at(
                        m.span(),
                        format!(
                            "inbound number routed to unknown IVR menu `{}`",
                            m.get_ref()
                        ),
                    );
                }
                Some(InboundTarget::Ivr(m.get_ref().clone()))
            }
            _ => {
                c.at(
                    entry.span(),
                    "a [[dialplan.inbound]] entry needs exactly one of `extension`, `ivr` or `queue`",
                );
                None
            }
        };
        if let (Some(number), Some(target)) = (pat, target) {
            inbound.push(Inbound {
                number,
                target,
                priority: i.priority,
            });
        }
    }

    CallParts {
        media: MediaConfig {
            address,
            port_min: lo,
            port_max: hi,
            codecs,
            telephone_event: m.telephone_event,
            ptime_ms: ptime,
            rtp_timeout: (m.rtp_timeout_secs > 0).then(|| Duration::from_secs(m.rtp_timeout_secs)),
        },
        calls: CallsConfig {
            ring_timeout: Duration::from_secs(*k.ring_timeout_secs.get_ref()),
            session_expires: (se > 0).then_some(se),
            min_se,
            max_calls: *k.max_calls.get_ref() as usize,
            hold_music: crate::media::tones::HOLD.to_string(),
        },
        dialplan: DialplanConfig {
            blocked,
            routes,
            inbound,
        },
        trunks,
    }
}

fn pattern(c: &mut Collector, s: &Spanned<String>) -> Option<Pattern> {
    match s.get_ref().parse::<Pattern>() {
        Ok(p) => Some(p),
        Err(e) => {
            c.at(s.span(), format!("`{}`: {e}", s.get_ref()));
            None
        }
    }
}

fn check_class(c: &mut Collector, class: &Spanned<String>) {
    let v = class.get_ref();
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        c.at(
            class.span(),
            format!("route class `{v}` must be a word such as `national`"),
        );
    }
}

pub fn permissions(c: &mut Collector, raw: Option<&[Spanned<String>]>) -> Vec<String> {
    let Some(raw) = raw else {
        return vec!["national".to_string()];
    };
    for p in raw {
        check_class(c, p);
    }
    raw.iter().map(|p| p.get_ref().clone()).collect()
}

fn trunks(c: &mut Collector, raw: &[Spanned<schema::RawTrunk>]) -> Vec<TrunkConfig> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for t in raw {
        let t = t.get_ref();
        let name = t.name.get_ref();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            c.at(
                t.name.span(),
                format!("trunk name `{name}` must be a word (letters, digits, - _)"),
            );
        } else if !names.insert(name.clone()) {
            c.at(t.name.span(), format!("trunk `{name}` is defined twice"));
        }
        let address = match t.address.get_ref().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                c.at(
                    t.address.span(),
                    format!(
                        "trunk address `{}` must be IP:port (no DNS names yet)",
                        t.address.get_ref()
                    ),
                );
                None
            }
        };
        let inbound_from = match &t.inbound_from {
            Some(list) => list
                .iter()
                .filter_map(|s| {
                    if let Ok(a) = s.get_ref().parse::<SocketAddr>() {
                        return Some(TrunkSource::Addr(a));
                    }
                    match s.get_ref().parse::<Cidr>() {
                        Ok(n) => Some(TrunkSource::Net(n)),
                        Err(e) => {
                            c.at(s.span(), format!("{e} (or give an exact IP:port)"));
                            None
                        }
                    }
                })
                .collect(),
            None => address
                .map(|a| vec![TrunkSource::Addr(a)])
                .unwrap_or_default(),
        };
        if let Some(cid) = &t.caller_id {
            if cid.get_ref().is_empty()
                || !cid
                    .get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'+')
            {
                c.at(cid.span(), "caller_id may hold only digits and `+`");
            }
        }
        let register = t.register.as_ref().map(|r| {
            let span = r.span();
            let r = r.get_ref();
            if r.username.get_ref().is_empty() {
                c.at(r.username.span(), "register.username must not be empty");
            }
            if r.password.get_ref().is_empty() {
                c.at(r.password.span(), "register.password must not be empty");
            }
            let expires = *r.expires_secs.get_ref();
            if expires < 60 {
                c.at(
                    r.expires_secs.span(),
                    "register.expires_secs must be at least 60",
                );
            }
            let domain = match (&r.domain, address) {
                (Some(d), _) => d.get_ref().clone(),
                (None, Some(a)) => a.ip().to_string(),
                (None, None) => {
                    c.at(span, "register needs a domain when the address is invalid");
                    String::new()
                }
            };
            TrunkRegister {
                username: r.username.get_ref().clone(),
                password: r.password.get_ref().clone(),
                domain,
                expires_secs: expires,
            }
        });
        if let Some(address) = address {
            out.push(TrunkConfig {
                name: name.clone(),
                address,
                inbound_from,
                caller_id: t.caller_id.as_ref().map(|c| c.get_ref().clone()),
                caller_name: t.caller_name.clone(),
                register,
                recording: t.recording,
            });
        }
    }
    out
}
