//! `[dispositions]`: the call results agents may set (SetDisposition), and what each one
//! means to a dialer (the lead is done with, or is to be called back).

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;

use super::error::Collector;

/// `[dispositions]` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDispositions {
    #[serde(default)]
    pub codes: Vec<Spanned<RawCode>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCode {
    pub code: Spanned<String>,
    #[serde(default, rename = "final")]
    pub is_final: bool,
    #[serde(default)]
    pub callback: bool,
}

/// One call result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionCode {
    /// Lower-case letters, digits, `-` and `_` (what CDRs and events carry).
    pub code: String,
    /// The lead is done with: a dialer does not call it again.
    pub is_final: bool,
    /// The lead is to be called back (SetDisposition may say when).
    pub callback: bool,
}

fn well_formed(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub fn dispositions(c: &mut Collector<'_>, raw: &RawDispositions) -> Vec<DispositionCode> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for entry in &raw.codes {
        let e = entry.get_ref();
        let code = e.code.get_ref();
        if !well_formed(code) {
            c.at(
                e.code.span(),
                format!("disposition code `{code}` must be 1-64 of a-z, 0-9, `-` and `_`"),
            );
            continue;
        }
        if !seen.insert(code.clone()) {
            c.at(
                e.code.span(),
                format!("disposition code `{code}` is listed twice"),
            );
            continue;
        }
        if e.is_final && e.callback {
            c.at(
                entry.span(),
                format!("disposition `{code}` cannot be both `final` and `callback`"),
            );
            continue;
        }
        out.push(DispositionCode {
            code: code.clone(),
            is_final: e.is_final,
            callback: e.callback,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    fn load(text: &str) -> Result<crate::config::Config, crate::config::ConfigErrors> {
        crate::config::parse_str(text, "s.toml")
    }

    #[test]
    fn codes_load_in_order_with_their_meaning() {
        let cfg = load(
            r#"
[dispositions]
codes = [{ code = "sale", final = true }, { code = "callback", callback = true }, { code = "busy-later" }]
"#,
        )
        .unwrap();
        let codes: Vec<_> = cfg
            .dispositions
            .iter()
            .map(|d| (d.code.as_str(), d.is_final, d.callback))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("sale", true, false),
                ("callback", false, true),
                ("busy-later", false, false)
            ]
        );
    }

    #[test]
    fn bad_codes_point_at_their_line_and_column() {
        let errs = load(
            "[dispositions]\ncodes = [\n  { code = \"Sale!\" },\n  { code = \"x\" },\n  { code = \"x\" },\n  { code = \"y\", final = true, callback = true },\n]\n",
        )
        .unwrap_err();
        let text = errs.to_string();
        assert!(
            text.contains("s.toml:3:12: disposition code `Sale!` must be"),
            "{text}"
        );
        assert!(
            text.contains("s.toml:5:12: disposition code `x` is listed twice"),
            "{text}"
        );
        assert!(
            text.contains(":6:3: disposition `y` cannot be both"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let errs = load("[dispositions]\ncodes = [{ code = \"a\", retry = 3 }]\n").unwrap_err();
        assert!(errs.to_string().contains("retry"), "{errs}");
    }
}
