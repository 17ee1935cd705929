//! Typed parse errors and the SIP status each one earns.

/// Why a message was refused at our boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty message")]
    Empty,
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    #[error("no blank line after the headers")]
    NoHeaderEnd,
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    #[error("unsupported SIP version {0:?}")]
    Version(String),
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    #[error("malformed header line")]
    HeaderLine,
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("{0} header appears more than once")]
    Duplicate(&'static str),
    #[error("invalid {0} header")]
    BadHeader(&'static str),
    #[error("Content-Length larger than the message")]
    Truncated,
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    #[error("unsupported URI scheme {0:?}")]
    UriScheme(String),
    #[error("invalid Request-URI")]
    RequestUri,
    #[error("unknown method {0:?}")]
    UnknownMethod(String),
    #[error("invalid status line")]
    StatusLine,
}

impl ParseError {
    /// The response a UAS owes for a request refused with this error.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            ParseError::Version(_) => (505, "Version Not Supported"),
            ParseError::UriScheme(_) => (416, "Unsupported URI Scheme"),
            ParseError::UnknownMethod(_) => (501, "Not Implemented"),
            ParseError::TooLarge(_) => (513, "Message Too Large"),
            _ => (400, "Bad Request"),
        }
    }
}
