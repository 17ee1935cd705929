//! Semantic checks from the raw schema to the typed config, collecting every problem.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::error::Collector;
use super::schema::RawConfig;
use super::validate_calls;
use super::*;

pub fn validate(
    raw: RawConfig,
    text: &str,
    file: &str,
    base: &Path,
) -> Result<Config, ConfigErrors> {
    let mut c = Collector::new(file, text);

    let domain = raw.sip.domain.get_ref().trim().to_string();
    if domain.is_empty() || domain.contains(char::is_whitespace) {
        c.at(
            raw.sip.domain.span(),
            "sip.domain must be a host name without spaces",
        );
    }
    let realm = raw
        .sip
        .realm
        .as_ref()
        .map_or(domain.clone(), |r| r.get_ref().clone());
    if let Some(r) = &raw.sip.realm {
        if r.get_ref().is_empty() || r.get_ref().contains('"') {
            c.at(r.span(), "sip.realm must be non-empty and contain no `\"`");
        }
    }

    let mut listen = Vec::new();
    let mut seen = HashSet::new();
    if raw.sip.listen.get_ref().is_empty() {
        c.at(
            raw.sip.listen.span(),
            "sip.listen needs at least one address",
        );
    }
    for l in raw.sip.listen.get_ref() {
        let l = l.get_ref();
        let kind = match l.transport.get_ref().to_ascii_lowercase().as_str() {
            "udp" => Some(TransportKind::Udp),
            "tcp" => Some(TransportKind::Tcp),
            other => {
                c.at(
                    l.transport.span(),
                    format!("unknown transport `{other}`, expected `udp` or `tcp`"),
                );
                None
            }
        };
        let addr = match l.addr.get_ref().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                c.at(
                    l.addr.span(),
                    format!(
                        "`{}` is not an IP:port address (IPv6 as `[::1]:5060`)",
                        l.addr.get_ref()
                    ),
                );
                None
            }
        };
        if let (Some(kind), Some(addr)) = (kind, addr) {
            if !seen.insert((kind, addr)) {
                c.at(
                    l.addr.span(),
                    format!("{} {addr} is listed twice", kind.as_via_str()),
                );
            }
            listen.push((kind, addr));
        }
    }

    let t = &raw.sip.timers;
    for (v, name) in [
        (&t.t1_ms, "t1_ms"),
        (&t.t2_ms, "t2_ms"),
        (&t.t4_ms, "t4_ms"),
    ] {
        if *v.get_ref() == 0 || *v.get_ref() > 60_000 {
            c.at(v.span(), format!("sip.timers.{name} must be 1..=60000"));
        }
    }
    if t.t2_ms.get_ref() < t.t1_ms.get_ref() {
        c.at(t.t2_ms.span(), "sip.timers.t2_ms must not be below t1_ms");
    }
    let tcp = super::validate_tcp::tcp(&mut c, &raw.sip.tcp);

    let r = &raw.registrar;
    let (min, def, max) = (
        *r.min_expires.get_ref(),
        *r.default_expires.get_ref(),
        *r.max_expires.get_ref(),
    );
    if min == 0 {
        c.at(
            r.min_expires.span(),
            "registrar.min_expires must be at least 1",
        );
    }
    if def < min || def > max {
        // An unset default is blamed on the bound that excludes it, which the user did write.
        let span = match r.default_expires.span() {
            s if s != (0..0) => s,
            _ if def < min => r.min_expires.span(),
            _ => r.max_expires.span(),
        };
        c.at(span, format!("registrar.default_expires ({def}) must lie between min_expires ({min}) and max_expires ({max})"));
    }
    if max < min {
        c.at(
            r.max_expires.span(),
            format!("registrar.max_expires ({max}) is below min_expires ({min})"),
        );
    }
    if *r.max_contacts_per_aor.get_ref() == 0 {
        c.at(
            r.max_contacts_per_aor.span(),
            "registrar.max_contacts_per_aor must be at least 1",
        );
    }

    let a = &raw.auth;
    if *a.nonce_ttl_secs.get_ref() == 0 {
        c.at(
            a.nonce_ttl_secs.span(),
            "auth.nonce_ttl_secs must be at least 1",
        );
    }
    let mut algorithms = Vec::new();
    for alg in a.algorithms.get_ref() {
        let parsed = match alg.get_ref().to_ascii_uppercase().as_str() {
            "SHA-256" => DigestAlgorithm::Sha256,
            "MD5" => DigestAlgorithm::Md5,
            other => {
                c.at(
                    alg.span(),
                    format!("unknown digest algorithm `{other}`, expected `SHA-256` or `MD5`"),
                );
                continue;
            }
        };
        if algorithms.contains(&parsed) {
            c.at(alg.span(), "digest algorithm listed twice");
        }
        algorithms.push(parsed);
    }
    if a.algorithms.get_ref().is_empty() {
        c.at(
            a.algorithms.span(),
            "auth.algorithms needs at least one of `SHA-256`, `MD5`",
        );
    }
    let secret = a.secret.as_ref().and_then(|s| {
        let bytes = hex::decode(s.get_ref()).ok().filter(|b| b.len() == 32);
        if bytes.is_none() {
            c.at(s.span(), "auth.secret must be 64 hex digits (32 bytes)");
        }
        bytes.map(|b| {
            let mut out = [0u8; 32];
            out.copy_from_slice(&b);
            out
        })
    });

    let s = &raw.security;
    if *s.rate_limit.requests.get_ref() == 0 {
        c.at(
            s.rate_limit.requests.span(),
            "security.rate_limit.requests must be at least 1",
        );
    }
    if *s.rate_limit.window_secs.get_ref() == 0 {
        c.at(
            s.rate_limit.window_secs.span(),
            "security.rate_limit.window_secs must be at least 1",
        );
    }
    if *s.auth_failures.max.get_ref() == 0 {
        c.at(
            s.auth_failures.max.span(),
            "security.auth_failures.max must be at least 1",
        );
    }
    if *s.auth_failures.max_per_source.get_ref() == 0 {
        c.at(
            s.auth_failures.max_per_source.span(),
            "security.auth_failures.max_per_source must be at least 1",
        );
    }
    if *s.auth_failures.window_secs.get_ref() == 0 {
        c.at(
            s.auth_failures.window_secs.span(),
            "security.auth_failures.window_secs must be at least 1",
        );
    }
    let mut trusted = Vec::new();
    for t in &s.trusted {
        match t.get_ref().parse::<Cidr>() {
            Ok(n) => trusted.push(n),
            Err(e) => c.at(t.span(), e),
        }
    }

    let log_json = match raw.log.format.get_ref().as_str() {
        "human" => false,
        "json" => true,
        other => {
            c.at(
                raw.log.format.span(),
                format!("log.format `{other}` must be `human` or `json`"),
            );
            false
        }
    };

    let mut users = Vec::new();
    let mut extensions = HashSet::new();
    for u in &raw.users {
        let span = u.span();
        let u = u.get_ref();
        let ext = u.extension.get_ref();
        if ext.is_empty()
            || !ext
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        {
            c.at(
                u.extension.span(),
                format!("extension `{ext}` may hold only letters, digits and . _ - +"),
            );
        } else if !extensions.insert(ext.clone()) {
            c.at(
                u.extension.span(),
                format!("extension `{ext}` is defined twice"),
            );
        }
        let has_ha1 = u.ha1_md5.is_some() || u.ha1_sha256.is_some();
        match (&u.password, has_ha1) {
            (None, false) => c.at(
                span.clone(),
                format!("user `{ext}` needs `password` or a pre-hashed `ha1_md5`/`ha1_sha256`"),
            ),
            (Some(p), true) => c.at(
                p.span(),
                format!("user `{ext}`: give either `password` or HA1 hashes, not both"),
            ),
            (Some(p), false) if p.get_ref().is_empty() => {
                c.at(p.span(), "password must not be empty")
            }
            _ => {}
        }
        for (h, len, name) in [
            (&u.ha1_md5, 32, "ha1_md5"),
            (&u.ha1_sha256, 64, "ha1_sha256"),
        ] {
            if let Some(h) = h {
                let v = h.get_ref();
                if v.len() != len || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    c.at(h.span(), format!("{name} must be {len} hex digits"));
                }
            }
        }
        users.push(User {
            extension: ext.clone(),
            display_name: u.display_name.clone(),
            password: u.password.as_ref().map(|p| p.get_ref().clone()),
            ha1_md5: u.ha1_md5.as_ref().map(|h| h.get_ref().to_ascii_lowercase()),
            ha1_sha256: u
                .ha1_sha256
                .as_ref()
                .map(|h| h.get_ref().to_ascii_lowercase()),
            enabled: u.enabled,
            permissions: validate_calls::permissions(&mut c, u.permissions.as_deref()),
            recording: u.recording,
        });
    }

    let calls = validate_calls::calls(&mut c, &raw, &extensions);
    let mut prompts = std::collections::HashMap::new();
    let acd = super::validate_acd::acd(&mut c, &raw, &extensions, base, &mut prompts);
    let mut calls = calls;
    if let Some(m) = &raw.calls.hold_music {
        calls.calls.hold_music = super::validate_ivr::load_prompt(&mut c, m, base, &mut prompts);
    }
    let queues: HashSet<String> = acd.engine.queues.iter().map(|q| q.name.clone()).collect();
    let ivr = super::validate_ivr::ivr(
        &mut c,
        &raw.ivr,
        &super::validate_ivr::Known {
            extensions: &extensions,
            queues: &queues,
            base,
        },
        &mut prompts,
    );
    let recording = super::validate_recording::recording(&mut c, &raw.recording, base);
    let api = super::validate_api::api(&mut c, &raw.api, base);
    let metrics = super::validate_metrics::metrics(&mut c, &raw.metrics);
    let campaigns = super::validate_campaign::campaigns(
        &mut c,
        &raw.campaigns,
        &super::validate_campaign::Known {
            trunks: &calls.trunks,
            queues: &queues,
            base,
        },
        &mut prompts,
    );
    let dispositions = super::validate_dispositions::dispositions(&mut c, &raw.dispositions);
    c.finish()?;
    let store_path = Path::new(&raw.store.path);
    Ok(Config {
        sip: SipConfig {
            domain,
            realm,
            listen,
            user_agent: raw.sip.user_agent,
            force_rport: raw.sip.force_rport,
            t1: Duration::from_millis(*t.t1_ms.get_ref()),
            t2: Duration::from_millis(*t.t2_ms.get_ref()),
            t4: Duration::from_millis(*t.t4_ms.get_ref()),
            tcp,
        },
        registrar: RegistrarConfig {
            min_expires: min,
            default_expires: def,
            max_expires: max,
            max_contacts_per_aor: *r.max_contacts_per_aor.get_ref() as usize,
        },
        auth: AuthConfig {
            nonce_ttl: Duration::from_secs(*a.nonce_ttl_secs.get_ref()),
            algorithms,
            secret,
        },
        security: SecurityConfig {
            requests: *s.rate_limit.requests.get_ref(),
            window: Duration::from_secs(*s.rate_limit.window_secs.get_ref()),
            ban: Duration::from_secs(*s.rate_limit.ban_secs.get_ref()),
            auth_failures: *s.auth_failures.max.get_ref(),
            auth_failures_per_source: *s.auth_failures.max_per_source.get_ref(),
            auth_failure_window: Duration::from_secs(*s.auth_failures.window_secs.get_ref()),
            trusted,
        },
        store: StoreConfig {
            path: if store_path.is_absolute() {
                store_path.to_path_buf()
            } else {
                base.join(store_path)
            },
        },
        log: LogConfig {
            json: log_json,
            level: raw.log.level,
        },
        media: calls.media,
        calls: calls.calls,
        dialplan: calls.dialplan,
        trunks: calls.trunks,
        users,
        ivr,
        acd,
        api,
        metrics,
        campaigns,
        dispositions,
        prompts,
        recording,
    })
}
