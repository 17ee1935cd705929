//! First pass over the bytes: start line, header lines, body, and the context needed to
//! answer a request even when it cannot be fully modelled.

use super::{lines::header_lines, ParseError, MAX_MESSAGE_BYTES};

/// A message split into parts but not yet validated.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
    /// A header line was malformed or not UTF-8.
    pub malformed: bool,
    /// Headers ended at the end of input instead of a blank line.
    pub no_header_end: bool,
    pub body: Vec<u8>,
    /// Offset of the body in the input.
    pub body_offset: usize,
    /// Bytes used; set by validation from Content-Length.
    pub consumed: usize,
}

/// What is needed to answer a request statelessly (RFC 3261 §8.2.6: copy Via, From, To,
/// Call-ID and CSeq).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawContext {
    pub vias: Vec<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub call_id: Option<String>,
    pub cseq: Option<String>,
}

impl RawMessage {
    /// Split the input. Fails only when there is nothing to work with.
    pub fn split(buf: &[u8]) -> Result<RawMessage, ParseError> {
        if buf.len() > MAX_MESSAGE_BYTES {
            return Err(ParseError::TooLarge(MAX_MESSAGE_BYTES));
        }
        // RFC 3261 §7.5: ignore CRLFs before the start line.
        let start = buf
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .ok_or(ParseError::Empty)?;
        let mut pos = start;
        let mut lines: Vec<String> = Vec::new();
        let mut malformed = false;
        let mut header_end = None;
        while pos < buf.len() {
            let (line, next) = match memchr::memchr(b'\n', &buf[pos..]) {
                Some(i) => (&buf[pos..pos + i], pos + i + 1),
                None => (&buf[pos..], buf.len()),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            pos = next;
            if line.is_empty() {
                header_end = Some(pos);
                break;
            }
            match std::str::from_utf8(line) {
                Ok(s) => lines.push(s.to_string()),
                Err(_) => {
                    // Keep going so the request can still be answered with a 400.
                    malformed = true;
                    lines.push(String::from_utf8_lossy(line).into_owned());
                }
            }
        }
        let mut it = lines.into_iter();
        let start_line = it.next().ok_or(ParseError::Empty)?;
        let parsed = header_lines(it.as_slice().iter().map(String::as_str));
        let body_offset = header_end.unwrap_or(buf.len());
        Ok(RawMessage {
            start_line,
            headers: parsed.headers,
            malformed: malformed || parsed.malformed,
            no_header_end: header_end.is_none(),
            body: buf[body_offset..].to_vec(),
            body_offset,
            consumed: buf.len(),
        })
    }

    pub fn is_response(&self) -> bool {
        self.start_line.starts_with("SIP/")
    }

    /// Values of every header with this canonical name, in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn first<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }

    /// The context to answer with, when this is a request carrying at least one Via.
    pub fn context(&self) -> Option<RawContext> {
        if self.is_response() {
            return None;
        }
        let vias: Vec<String> = self.values("Via").map(str::to_string).collect();
        if vias.is_empty() {
            return None;
        }
        Some(RawContext {
            vias,
            from: self.first("From").map(str::to_string),
            to: self.first("To").map(str::to_string),
            call_id: self.first("Call-ID").map(str::to_string),
            cseq: self.first("CSeq").map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_bare_lf_and_leading_crlf() {
        let raw = RawMessage::split(b"\r\nOPTIONS sip:a SIP/2.0\nVia: x\nl: 3\n\nabc").unwrap();
        assert_eq!(raw.start_line, "OPTIONS sip:a SIP/2.0");
        assert_eq!(raw.headers.len(), 2);
        assert_eq!(raw.body, b"abc");
        assert!(!raw.no_header_end);
    }

    #[test]
    fn flags_missing_blank_line() {
        let raw = RawMessage::split(b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n").unwrap();
        assert!(raw.no_header_end);
    }

    #[test]
    fn non_utf8_header_is_flagged_not_dropped() {
        let raw = RawMessage::split(b"OPTIONS sip:a SIP/2.0\r\nX: \xff\r\nVia: v\r\n\r\n").unwrap();
        assert!(raw.malformed);
        assert_eq!(raw.first("Via"), Some("v"));
    }

    #[test]
    fn empty_input() {
        assert_eq!(
            RawMessage::split(b"\r\n\r\n").unwrap_err(),
            ParseError::Empty
        );
    }
}
