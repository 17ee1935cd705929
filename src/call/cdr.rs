//! The call detail record: one per call, both legs. Written as an open record when the call
//! starts (the journal) and completed when it ends; a restart after a crash closes open
//! records with end cause `system-restart`.

/// Per-direction media quality from the relay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaQuality {
    /// What reached us from the sending side, lost on the way to us, and its jitter.
    pub packets: u64,
    pub lost: u64,
    pub jitter_ms: f64,
    /// What the receiving side reported in RTCP about the stream we relayed to it (the path
    /// from us to it); None when it sent no reports.
    pub far_lost: Option<i64>,
    pub far_jitter_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cdr {
    /// Our id for the call (also in logs and events).
    pub id: String,
    pub a_call_id: String,
    pub b_call_id: Option<String>,
    /// internal | inbound | outbound
    pub direction: String,
    pub caller: String,
    pub callee: String,
    pub trunk: Option<String>,
    pub start_unix_ms: i64,
    pub answer_unix_ms: Option<i64>,
    pub end_unix_ms: Option<i64>,
    /// normal (answered, then a side hung up), caller-cancel, busy, no-answer, rejected,
    /// failed, incompatible-media, rtp-timeout, session-timeout, system-restart, shutdown ...
    pub end_cause: Option<String>,
    /// caller | callee | system
    pub hangup_side: Option<String>,
    /// Final status we sent the caller, and the callee's last status when the call ended
    /// (180 for a call cancelled while ringing: the callee's 487 comes after the CDR).
    pub a_sip_code: Option<u16>,
    pub b_sip_code: Option<u16>,
    pub codec: Option<String>,
    /// From caller to callee (what the callee heard) and back.
    pub a_to_b: MediaQuality,
    pub b_to_a: MediaQuality,
    pub mos: Option<f64>,
    /// Phone-to-phone round trip: the sum of the RTCP round trips of both legs to us (one leg
    /// only when the other sent no reports).
    pub rtt_ms: Option<f64>,
    /// Filled by later features (ACD, recording, dispositions).
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// The recording's path, its length, and how it went: ok | failed: reason |
    /// skipped-limit | none.
    pub recording: Option<String>,
    pub recording_ms: Option<i64>,
    pub recording_status: Option<String>,
    pub disposition: Option<String>,
    /// Where the call was blind-transferred, comma-separated in order (`1002`,
    /// `queue:sales`, `0123456`); None: never transferred. `callee` is the last party.
    pub transferred_to: Option<String>,
    /// The agent's notes with the disposition.
    pub disposition_notes: Option<String>,
}
