//! SDP: a small model of our own (parse, write) and offer/answer for an anchoring B2BUA
//! (RFC 4566/8866, RFC 3264). No crate does offer/answer; this is all we need.

mod model;
mod negotiate;
mod parse;

pub use model::{Attribute, Direction, Media, Origin, RtpMap, SessionDescription};
pub use negotiate::{
    answer_direction, answered_audio, build_answer, build_offer, offered_audio, Codec, CodecName,
    LocalMedia, NegotiateError, Negotiated, OfferedAudio, OriginState,
};
pub use parse::{parse, SdpError};

#[cfg(test)]
mod tests;
