//! Framing a byte stream (TCP) into messages by Content-Length (RFC 3261 §18.3), with the
//! RFC 5626 CRLF keep-alive.

use super::{compact::canonical, validate::parse_scalar, ParseError, MAX_MESSAGE_BYTES};

#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// Need more bytes.
    Incomplete,
    /// A double-CRLF ping of this many bytes: answer with a single CRLF pong.
    Ping(usize),
    /// Stray CRLF (e.g. a pong) of this many bytes to skip.
    Skip(usize),
    /// A whole message occupies this many bytes.
    Message(usize),
    /// The stream cannot be framed any more: close the connection.
    Invalid(ParseError),
}

pub fn frame_stream(buf: &[u8]) -> Frame {
    if buf.starts_with(b"\r\n\r\n") {
        return Frame::Ping(4);
    }
    if buf.starts_with(b"\r\n") {
        return if buf.len() >= 4 || !b"\r\n\r\n".starts_with(buf) {
            Frame::Skip(2)
        } else {
            Frame::Incomplete
        };
    }
    let Some(header_end) = memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4) else {
        return if buf.len() > MAX_MESSAGE_BYTES {
            Frame::Invalid(ParseError::TooLarge(MAX_MESSAGE_BYTES))
        } else {
            Frame::Incomplete
        };
    };
    let head = String::from_utf8_lossy(&buf[..header_end]);
    let mut length = None;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if canonical(name.trim()) == "Content-Length" {
            if length.is_some() {
                return Frame::Invalid(ParseError::Duplicate("Content-Length"));
            }
            match parse_scalar(value.trim(), MAX_MESSAGE_BYTES as u64) {
                Some(n) => length = Some(n as usize),
                None => return Frame::Invalid(ParseError::BadHeader("Content-Length")),
            }
        }
    }
    // Content-Length is mandatory on streams; without it there is no way to find the end.
    let Some(length) = length else {
        return Frame::Invalid(ParseError::Missing("Content-Length"));
    };
    let total = header_end + length;
    if total > MAX_MESSAGE_BYTES {
        return Frame::Invalid(ParseError::TooLarge(MAX_MESSAGE_BYTES));
    }
    if buf.len() < total {
        Frame::Incomplete
    } else {
        Frame::Message(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_by_content_length() {
        let two = b"OPTIONS sip:a SIP/2.0\r\nl: 2\r\n\r\nhiBYE sip:b SIP/2.0\r\n";
        assert_eq!(frame_stream(two), Frame::Message(33));
        assert_eq!(frame_stream(&two[..32]), Frame::Incomplete);
    }

    #[test]
    fn keepalives() {
        assert_eq!(frame_stream(b"\r\n\r\n"), Frame::Ping(4));
        assert_eq!(frame_stream(b"\r\nINVITE"), Frame::Skip(2));
        assert_eq!(frame_stream(b"\r\n"), Frame::Incomplete);
    }

    #[test]
    fn refuses_unframeable_streams() {
        assert!(matches!(
            frame_stream(b"OPTIONS sip:a SIP/2.0\r\n\r\n"),
            Frame::Invalid(ParseError::Missing(_))
        ));
        assert!(matches!(
            frame_stream(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n"),
            Frame::Invalid(ParseError::BadHeader(_))
        ));
        assert!(matches!(
            frame_stream(b"A\r\nl: 1\r\nContent-Length: 1\r\n\r\nx"),
            Frame::Invalid(ParseError::Duplicate(_))
        ));
    }
}
