//! Splitting the header section into logical header lines.

use super::compact::{canonical, is_token};

/// Header lines after unfolding, with canonical names, and whether any line was malformed.
#[derive(Debug, Default, Clone)]
pub struct HeaderLines {
    pub headers: Vec<(String, String)>,
    pub malformed: bool,
}

/// Unfold continuation lines (RFC 3261 §7.3.1: a line starting with SP/HT continues the
/// previous one, replaced by a single SP) and split `name HCOLON value`, allowing whitespace
/// before the colon (`Via :`).
pub fn header_lines<'a>(lines: impl Iterator<Item = &'a str>) -> HeaderLines {
    let mut out = HeaderLines::default();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            match out.headers.last_mut() {
                Some((_, value)) => {
                    let more = line.trim();
                    if !more.is_empty() {
                        if !value.is_empty() {
                            value.push(' ');
                        }
                        value.push_str(more);
                    }
                }
                None => out.malformed = true,
            }
            continue;
        }
        let Some(colon) = line.find(':') else {
            out.malformed = true;
            continue;
        };
        let name = line[..colon].trim_end_matches([' ', '\t']);
        if !is_token(name) {
            out.malformed = true;
            continue;
        }
        let value = line[colon + 1..].trim_matches([' ', '\t']);
        out.headers.push((canonical(name), value.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_and_allows_space_before_colon() {
        let h =
            header_lines(["Subject : hello", "  world", "\tagain", "v: SIP/2.0/UDP a"].into_iter());
        assert!(!h.malformed);
        assert_eq!(h.headers[0], ("Subject".into(), "hello world again".into()));
        assert_eq!(h.headers[1], ("Via".into(), "SIP/2.0/UDP a".into()));
    }

    #[test]
    fn flags_lines_without_colon_or_bad_names() {
        assert!(header_lines(["NoColonHere"].into_iter()).malformed);
        assert!(header_lines([" leading continuation"].into_iter()).malformed);
        assert!(header_lines(["Bad Name: x"].into_iter()).malformed);
    }
}
