//! File names from the `[recording] file_name` template. Every placeholder value is
//! sanitised to a safe path component (caller ids come from the network: `../` or `/` in a
//! From header must not escape the recordings directory); `/` in the template itself makes
//! subdirectories (e.g. by date).

/// What a recording's name may be built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameFields {
    /// Unix time of the recording's start, ms (UTC).
    pub start_unix_ms: i64,
    pub call_id: String,
    pub caller: String,
    pub callee: String,
    pub queue: Option<String>,
    pub agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder `{{{0}}}` (known: date time call_id caller callee queue agent)")]
    Unknown(String),
    #[error("unclosed `{{` in the template")]
    Unclosed,
    #[error("the template must be a relative path without `..` components")]
    Escapes,
}

const KNOWN: [&str; 9] = [
    "date", "time", "call_id", "caller", "callee", "queue", "agent", "year", "month",
];

/// Check a template once, at config load.
pub fn check(template: &str) -> Result<(), TemplateError> {
    if template.starts_with('/') || template.split('/').any(|c| c == ".." || c == ".") {
        return Err(TemplateError::Escapes);
    }
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let j = after.find('}').ok_or(TemplateError::Unclosed)?;
        let key = &after[..j];
        if !KNOWN.contains(&key) {
            return Err(TemplateError::Unknown(key.to_string()));
        }
        rest = &after[j + 1..];
    }
    Ok(())
}

/// The relative path for a recording (the template was checked by `check`; an unknown
/// placeholder left in anyway becomes empty). `.wav` is added when missing.
pub fn render(template: &str, f: &NameFields) -> String {
    let (y, mo, d, h, mi, s) = civil(f.start_unix_ms);
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let value = match &after[..j] {
            "date" => format!("{y:04}-{mo:02}-{d:02}"),
            "year" => format!("{y:04}"),
            "month" => format!("{mo:02}"),
            "time" => format!("{h:02}{mi:02}{s:02}"),
            "call_id" => sanitize(&f.call_id),
            "caller" => sanitize(&f.caller),
            "callee" => sanitize(&f.callee),
            "queue" => sanitize(f.queue.as_deref().unwrap_or("")),
            "agent" => sanitize(f.agent.as_deref().unwrap_or("")),
            _ => String::new(),
        };
        out.push_str(&value);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    // Empty components (an empty placeholder between slashes) and dot-only ones are dropped.
    let mut path: Vec<&str> = out
        .split('/')
        .filter(|c| !c.is_empty() && c.chars().any(|ch| ch != '.'))
        .collect();
    if path.is_empty() {
        path.push("recording");
    }
    let mut joined = path.join("/");
    if !joined.ends_with(".wav") {
        joined.push_str(".wav");
    }
    joined
}

/// Keep `[A-Za-z0-9+_.@-]`, turn anything else into `_`, no leading dot, at most 64 chars.
pub fn sanitize(s: &str) -> String {
    let mut v: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    while v.starts_with('.') {
        v.replace_range(..1, "_");
    }
    v
}

/// Unix ms → UTC (year, month, day, hour, minute, second); days-from-civil inverse
/// (H. Hinnant's algorithm), so no time crate is needed for a file name.
fn civil(unix_ms: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = unix_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, tod / 3600, tod / 60 % 60, tod % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> NameFields {
        NameFields {
            // 2026-12-01 09:39:36 UTC
            start_unix_ms: 1_796_117_976_000,
            call_id: "c-42".into(),
            caller: "+49 30/123".into(),
            callee: "../../etc/passwd".into(),
            queue: Some("sales".into()),
            agent: None,
        }
    }

    #[test]
    fn renders_placeholders_with_date_subdirectories() {
        let t = "{date}/{time}_{call_id}_{caller}_{queue}";
        check(t).unwrap();
        assert_eq!(
            render(t, &fields()),
            "2026-12-01/093936_c-42_+49_30_123_sales.wav"
        );
    }

    #[test]
    fn values_cannot_escape_the_directory() {
        let r = render("{callee}/{agent}/x", &fields());
        assert_eq!(r, "_._.._etc_passwd/x.wav");
        assert!(r.split('/').all(|c| c != ".." && c != "."));
        assert_eq!(render("{agent}", &fields()), "recording.wav");
    }

    #[test]
    fn bad_templates_are_refused() {
        assert_eq!(check("{nope}"), Err(TemplateError::Unknown("nope".into())));
        assert_eq!(check("{date"), Err(TemplateError::Unclosed));
        assert_eq!(check("../x"), Err(TemplateError::Escapes));
        assert_eq!(check("/abs/{date}"), Err(TemplateError::Escapes));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400_000), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_796_117_976_000), (2026, 12, 1, 9, 39, 36));
    }
}
