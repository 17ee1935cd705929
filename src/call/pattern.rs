//! Dial-plan number patterns in the notation telephony engineers already know from Asterisk:
//! a plain string matches exactly; a leading `_` makes a pattern where `X` = 0-9, `Z` = 1-9,
//! `N` = 2-9, `[1-5,7]` = a set, `.` = one or more of anything, `!` = zero or more, and any
//! other character (digits, `+`, `*`, `#`) matches itself.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Char(u8),
    /// Inclusive byte ranges.
    Set(Vec<(u8, u8)>),
    OneOrMore,
    ZeroOrMore,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    items: Vec<Item>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({})", self.text)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("empty pattern")]
    Empty,
    #[error("unclosed `[` in pattern")]
    Unclosed,
    #[error("bad set `[{0}]` in pattern")]
    BadSet(String),
    #[error("`{0}` may only end a pattern")]
    WildcardNotLast(char),
    #[error("character `{0}` cannot appear in a number")]
    BadChar(char),
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, PatternError> {
        let text = s.to_string();
        let Some(body) = s.strip_prefix('_') else {
            if s.is_empty() {
                return Err(PatternError::Empty);
            }
            if let Some(c) = s.chars().find(|c| !is_dial_char(*c)) {
                return Err(PatternError::BadChar(c));
            }
            let items = s.bytes().map(Item::Char).collect();
            return Ok(Pattern { text, items });
        };
        if body.is_empty() {
            return Err(PatternError::Empty);
        }
        let bytes = body.as_bytes();
        let mut items = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let item = match b.to_ascii_uppercase() {
                b'X' => Item::Set(vec![(b'0', b'9')]),
                b'Z' => Item::Set(vec![(b'1', b'9')]),
                b'N' => Item::Set(vec![(b'2', b'9')]),
                b'.' | b'!' => {
                    if i + 1 != bytes.len() {
                        return Err(PatternError::WildcardNotLast(b as char));
                    }
                    if b == b'.' {
                        Item::OneOrMore
                    } else {
                        Item::ZeroOrMore
                    }
                }
                b'[' => {
                    let end = body[i..].find(']').ok_or(PatternError::Unclosed)? + i;
                    let set = parse_set(&body[i + 1..end])?;
                    i = end;
                    Item::Set(set)
                }
                _ if is_dial_char(b as char) => Item::Char(b),
                _ => return Err(PatternError::BadChar(b as char)),
            };
            items.push(item);
            i += 1;
        }
        Ok(Pattern { text, items })
    }
}

fn is_dial_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+*#-_.".contains(c)
}

fn parse_set(s: &str) -> Result<Vec<(u8, u8)>, PatternError> {
    let bad = || PatternError::BadSet(s.to_string());
    let mut out = Vec::new();
    for part in s.split(',') {
        let b = part.trim().as_bytes();
        match b {
            [c] if c.is_ascii_digit() => out.push((*c, *c)),
            [lo, b'-', hi] if lo.is_ascii_digit() && hi.is_ascii_digit() && lo <= hi => {
                out.push((*lo, *hi))
            }
            // "[15]" style: every digit listed.
            many if !many.is_empty() && many.iter().all(u8::is_ascii_digit) => {
                out.extend(many.iter().map(|c| (*c, *c)))
            }
            _ => return Err(bad()),
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

impl Pattern {
    pub fn matches(&self, number: &str) -> bool {
        let n = number.as_bytes();
        let mut pos = 0;
        for item in &self.items {
            match item {
                Item::Char(c) => {
                    if n.get(pos) != Some(c) {
                        return false;
                    }
                    pos += 1;
                }
                Item::Set(ranges) => {
                    let Some(b) = n.get(pos) else { return false };
                    if !ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&b)) {
                        return false;
                    }
                    pos += 1;
                }
                Item::OneOrMore => return n.len() > pos,
                Item::ZeroOrMore => return true,
            }
        }
        pos == n.len()
    }

    /// Exact strings outrank patterns; among patterns, more fixed items first (like
    /// Asterisk's "most specific" ordering, simplified).
    pub fn is_exact(&self) -> bool {
        !self.text.starts_with('_')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        s.parse().unwrap()
    }

    #[test]
    fn asterisk_notation() {
        assert!(p("_0X.").matches("0123"));
        assert!(!p("_0X.").matches("01"));
        assert!(p("_NXXNXXXXXX").matches("2125551234"));
        assert!(!p("_NXXNXXXXXX").matches("1125551234"));
        assert!(p("_00!").matches("00"));
        assert!(p("_[1-3,5]X").matches("54"));
        assert!(!p("_[1-3,5]X").matches("44"));
        assert!(p("_+1NXX.").matches("+12125551234"));
        assert!(p("1001").matches("1001"));
        assert!(!p("1001").matches("10011"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert_eq!("_".parse::<Pattern>(), Err(PatternError::Empty));
        assert_eq!(
            "_0.X".parse::<Pattern>(),
            Err(PatternError::WildcardNotLast('.'))
        );
        assert_eq!("_[1-".parse::<Pattern>(), Err(PatternError::Unclosed));
        assert!(matches!(
            "_[9-1]".parse::<Pattern>(),
            Err(PatternError::BadSet(_))
        ));
        assert_eq!("10 01".parse::<Pattern>(), Err(PatternError::BadChar(' ')));
    }
}
