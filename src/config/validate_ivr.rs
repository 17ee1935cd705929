//! Semantic checks for `[[ivr]]` menus: actions that lead somewhere real, DTMF keys, and
//! prompt files that load (each problem at its line and column).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::error::Collector;
use super::schema::RawIvr;
use crate::ivr::{Action, Collect, Menu, Menus};
use crate::media::prompt::Prompt;

/// `[[ivr]]` as typed config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IvrConfig {
    pub menus: Menus,
    /// Extension users dial → menu.
    pub extensions: HashMap<String, String>,
}

/// What the IVR checks need to know about the rest of the file.
pub struct Known<'a> {
    pub extensions: &'a HashSet<String>,
    pub queues: &'a HashSet<String>,
    /// Where relative prompt paths start.
    pub base: &'a Path,
}

pub fn ivr(
    c: &mut Collector,
    raw: &[Spanned<RawIvr>],
    known: &Known,
    prompts: &mut HashMap<String, Prompt>,
) -> IvrConfig {
    let names: HashSet<String> = raw
        .iter()
        .map(|m| m.get_ref().name.get_ref().clone())
        .collect();
    let mut out = IvrConfig::default();
    for m in raw {
        let m = m.get_ref();
        let name = m.name.get_ref().clone();
        if out.menus.menus.contains_key(&name) {
            c.at(m.name.span(), format!("IVR menu `{name}` is defined twice"));
            continue;
        }
        if let Some(ext) = &m.extension {
            if known.extensions.contains(ext.get_ref()) {
                c.at(
                    ext.span(),
                    format!(
                        "IVR extension `{}` is also a user's extension",
                        ext.get_ref()
                    ),
                );
            } else if out
                .extensions
                .insert(ext.get_ref().clone(), name.clone())
                .is_some()
            {
                c.at(
                    ext.span(),
                    format!("IVR extension `{}` used twice", ext.get_ref()),
                );
            }
        }
        let prompt = load_prompt(c, &m.prompt, known.base, prompts);
        let invalid_prompt = m
            .invalid_prompt
            .as_ref()
            .map(|p| load_prompt(c, p, known.base, prompts));
        if *m.timeout_secs.get_ref() == 0 || *m.timeout_secs.get_ref() > 60 {
            c.at(m.timeout_secs.span(), "timeout_secs must be 1..=60");
        }
        let on_failure = action(c, &m.on_failure, &names, known).unwrap_or(Action::Hangup);
        let mut options = HashMap::new();
        for (key, act) in m.options.get_ref() {
            let mut chars = key.chars();
            let (Some(k), None) = (chars.next(), chars.next()) else {
                c.at(
                    act.span(),
                    format!("IVR option key `{key}` must be one DTMF key"),
                );
                continue;
            };
            if !is_dtmf(k) {
                c.at(
                    act.span(),
                    format!("IVR option key `{key}` is no DTMF key (0-9, *, #, A-D)"),
                );
                continue;
            }
            if let Some(a) = action(c, act, &names, known) {
                options.insert(k, a);
            }
        }
        let collect = m.collect.as_ref().and_then(|col| {
            let r = col.get_ref();
            let digits = *r.digits.get_ref() as usize;
            if !(1..=32).contains(&digits) {
                c.at(r.digits.span(), "collect.digits must be 1..=32");
            }
            let terminator = match &r.terminator {
                None => None,
                Some(t) => {
                    let mut chars = t.get_ref().chars();
                    match (chars.next(), chars.next()) {
                        (Some(ch), None) if ch == '#' || ch == '*' => Some(ch),
                        _ => {
                            c.at(t.span(), "collect.terminator must be \"#\" or \"*\"");
                            None
                        }
                    }
                }
            };
            if r.variable.get_ref().is_empty()
                || !r
                    .variable
                    .get_ref()
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                c.at(
                    r.variable.span(),
                    "collect.variable must be a name of letters, digits and `_`",
                );
            }
            let then = action(c, &r.then, &names, known)?;
            Some(Collect {
                variable: r.variable.get_ref().clone(),
                digits,
                terminator,
                then,
            })
        });
        if collect.is_some() && !options.is_empty() {
            c.at(
                m.options.span(),
                "a menu either collects digits or offers options, not both",
            );
        }
        if m.collect.is_none() && options.is_empty() {
            c.at(
                m.name.span(),
                format!("IVR menu `{name}` needs `options` or `collect`"),
            );
        }
        out.menus.menus.insert(
            name.clone(),
            Menu {
                name,
                prompt,
                invalid_prompt,
                timeout: Duration::from_secs(*m.timeout_secs.get_ref()),
                max_invalid: m.max_invalid,
                on_failure,
                options,
                collect,
            },
        );
    }
    out
}

fn is_dtmf(k: char) -> bool {
    k.is_ascii_digit() || matches!(k, '*' | '#' | 'A'..='D')
}

/// An action whose target exists.
fn action(
    c: &mut Collector,
    s: &Spanned<String>,
    menus: &HashSet<String>,
    known: &Known,
) -> Option<Action> {
    let a = match Action::parse(s.get_ref()) {
        Ok(a) => a,
        Err(e) => {
            c.at(s.span(), e);
            return None;
        }
    };
    let missing = match &a {
        Action::Menu(m) if !menus.contains(m) => Some(format!("no [[ivr]] menu named `{m}`")),
        Action::Queue(q) if !known.queues.contains(q) => {
            Some(format!("no [[queues]] entry named `{q}`"))
        }
        Action::Extension(e) if !known.extensions.contains(e) => {
            Some(format!("no user with extension `{e}`"))
        }
        _ => None,
    };
    match missing {
        Some(why) => {
            c.at(s.span(), why);
            None
        }
        None => Some(a),
    }
}

/// Load a prompt once (by the path as written); a problem is reported at the value.
pub fn load_prompt(
    c: &mut Collector,
    s: &Spanned<String>,
    base: &Path,
    prompts: &mut HashMap<String, Prompt>,
) -> String {
    let name = s.get_ref().clone();
    if prompts.contains_key(&name) {
        return name;
    }
    let path = Path::new(&name);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    match Prompt::load(&name, &path) {
        Ok(p) => {
            prompts.insert(name.clone(), p);
        }
        Err(e) => c.at(s.span(), e.to_string()),
    }
    name
}
