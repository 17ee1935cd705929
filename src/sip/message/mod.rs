//! Our boundary around the rsip message model.
//!
//! The rsip-API parser we use (rsipstack's `sip` module) is lenient where a softswitch must not
//! be: it accepts `SIP/3.0`, trailing whitespace on the start line, several Content-Length
//! headers, a non-numeric Content-Length (as 0), and drops every header after a non-UTF-8 line.
//! So framing, the start line, header lines (folding, compact names, `Via :`), Content-Length
//! and the scalar checks RFC 4475 exercises are done here; rsip only builds typed values from
//! header lines we already accepted. Everything returns a typed [`ParseError`] that maps to a
//! SIP status, and [`RawContext`] keeps what is needed to answer a request we could not model.

mod compact;
mod error;
mod frame;
mod lines;
mod raw;
mod response;
mod validate;

pub use error::ParseError;
pub use frame::{frame_stream, Frame};
pub use raw::{RawContext, RawMessage};
pub use response::{response_from_raw, response_to};

use crate::sip::rsip;

/// Largest message we accept from any transport.
pub const MAX_MESSAGE_BYTES: usize = 65_535;

/// A parsed, validated message and how many bytes of the input it used (the rest of a UDP
/// datagram after Content-Length is ignored, RFC 3261 §18.3).
#[derive(Debug)]
pub struct Parsed {
    pub message: rsip::SipMessage,
    pub consumed: usize,
}

/// Why a message failed, with what is needed to answer it when it was a request.
#[derive(Debug)]
pub struct Rejected {
    pub error: ParseError,
    /// Present when the input was a request with enough headers to build a response.
    pub context: Option<RawContext>,
}

/// Parse one message from a datagram (or a frame cut by [`frame_stream`]). The refusal is
/// boxed: it is the rare path, and this keeps `Result` small on the hot one.
pub fn parse(buf: &[u8]) -> Result<Parsed, Box<Rejected>> {
    let raw = RawMessage::split(buf).map_err(|error| {
        Box::new(Rejected {
            error,
            context: None,
        })
    })?;
    let context = raw.context();
    let reject = |error| {
        Box::new(Rejected {
            error,
            context: context.clone(),
        })
    };
    let message = validate::build(&raw).map_err(reject)?;
    Ok(Parsed {
        message,
        consumed: validate::consumed(&raw),
    })
}

/// Serialize a message for the wire.
pub fn to_bytes(msg: &rsip::SipMessage) -> Vec<u8> {
    msg.to_bytes()
}

/// Values of every header named `name` (case-insensitive), in order.
pub fn header_values<'a>(
    headers: &'a rsip::Headers,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value())
}

/// The first value of header `name`.
pub fn header_value<'a>(headers: &'a rsip::Headers, name: &'a str) -> Option<&'a str> {
    header_values(headers, name).next()
}

/// Comma-separated list values of every header named `name`, trimmed, empty items dropped.
pub fn list_values<'a>(
    headers: &'a rsip::Headers,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    header_values(headers, name)
        .flat_map(validate::split_commas)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}
