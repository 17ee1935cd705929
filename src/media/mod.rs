//! Media: RTP/RTCP packets, RFC 4733 DTMF, quality, and the anchored relay.

pub mod analysis;
pub mod driver;
mod dtmf;
mod far_end;
pub mod g711;
mod latch;
pub mod mixer;
pub mod monitor;
pub mod player;
pub mod prompt;
mod quality;
pub mod relay;
mod rewrite;
mod rtcp;
mod rtp;
pub mod tones;

pub use dtmf::{
    event_char, parse_telephone_event, DtmfDetector, DtmfDigit, DtmfError, TelephoneEvent,
};
pub use far_end::FarEndView;
pub use quality::{estimate_mos, ReceiveStats};
pub use rewrite::{rewrite_rtcp, rewrite_rtcp_ssrc, RtcpRewrite, StreamRewriter};
pub use rtcp::{parse_rtcp, ReportBlock, RtcpError, RtcpPacket};
pub use rtp::{is_rtcp, parse_rtp, RtpError, RtpHeader};
