//! The contract between the dialer's runtime (SIP side, pacing driver) and where its leads
//! come from (the lead book: CSV import, DNC, retries, calling windows, persistence).
//!
//! The runtime asks `next_lead` when pacing wants a dial, places the call, and reports what
//! happened with `handle_attempt`; agents' dispositions arrive with `handle_disposition`.
//! Every call is write-through: when `next_lead` returns, the attempt is on disk, so a
//! `kill -9` after it can neither lose the attempt nor dial the lead again by mistake.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Deserialize;

/// One lead to dial now. The attempt is already recorded as "dialing".
#[derive(Debug, Clone, PartialEq)]
pub struct LeadDial {
    pub campaign: String,
    pub lead_id: i64,
    pub attempt_id: i64,
    /// 1 for the first attempt.
    pub attempt_no: u32,
    /// E.164 with the leading '+'.
    pub number: String,
    pub name: Option<String>,
    /// Custom CSV columns: they travel to the agent's screen pop.
    pub fields: BTreeMap<String, String>,
    /// A scheduled callback to one agent: only that agent may take it.
    pub agent: Option<String>,
}

/// How one attempt ended, as the runtime saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// A person answered and reached `agent`.
    Connected {
        agent: String,
    },
    /// A person answered and no agent came within the reach time: the campaign message
    /// played. Counted against the abandon cap.
    Abandoned,
    /// An answering machine (AMD); `left_message` when the campaign left one.
    Machine {
        left_message: bool,
    },
    Busy,
    NoAnswer,
    /// SIT tone, invalid number, carrier failure: `cause` says which.
    Failed {
        cause: String,
    },
    /// Refused at dial time (DNC, outside the window after all): never reached the network.
    NotDialed {
        reason: String,
    },
}

/// Where leads come from. Implemented by the lead book; tests may use an in-memory one.
pub trait LeadSource {
    /// The next lead of `campaign` that may be dialed at `now` (window, retry time, DNC, max
    /// attempts all checked), or None. Records the attempt before returning.
    /// Never a personal callback: those wait for their agent (`next_personal_callback`).
    fn next_lead(&mut self, now: SystemTime, campaign: &str) -> Option<LeadDial>;
    /// Preview mode: the next lead for `agent` to look at: its own personal callbacks first,
    /// then the campaign's due leads, never another agent's personal callback. Recorded as
    /// for `next_lead`, with `LeadDial.agent = Some(agent)`.
    fn next_lead_for_agent(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Option<LeadDial>;
    /// `agent`'s due personal callback, if any (the runtime dials it to that agent first,
    /// when the agent is free). Recorded as for `next_lead`.
    fn next_personal_callback(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Option<LeadDial>;
    /// Preview mode: the agent passed on the lead of `attempt_id` (from
    /// `next_lead_for_agent`): it goes back to the line, the attempt does not count.
    fn skip(&mut self, now: SystemTime, attempt_id: i64) -> Result<(), String>;
    /// The attempt's outcome; schedules the retry the campaign's rules ask for.
    fn handle_attempt(&mut self, now: SystemTime, attempt_id: i64, result: &AttemptResult);
    /// An agent's disposition for the lead of `attempt_id`. `callback_at` schedules a callback
    /// (to `agent` when `personal`). Final dispositions stop all further dialing of the lead.
    fn handle_disposition(
        &mut self,
        now: SystemTime,
        attempt_id: i64,
        disposition: &str,
        agent: Option<&str>,
        callback_at: Option<SystemTime>,
        personal: bool,
    ) -> Result<(), String>;
}

/// `[campaigns.rules]`-level settings the lead book applies (the runtime only carries them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeadRules {
    /// Calling window per weekday in the lead's own time zone, "HH:MM-HH:MM"; a missing day
    /// uses `default`; an empty string means no calls that day.
    pub window: BTreeMap<String, String>,
    /// Used for a lead without a time zone or region: an IANA name.
    pub default_timezone: String,
    pub max_attempts: u32,
    pub retry_busy_secs: u64,
    pub retry_no_answer_secs: u64,
    pub retry_machine_secs: u64,
    pub retry_failed_secs: u64,
    pub retry_abandoned_secs: u64,
    /// Dispositions after which a lead is never dialed again.
    pub final_dispositions: Vec<String>,
    /// ISO 3166 region ("US", "GB") for numbers written without a country code.
    pub default_region: String,
    /// A person answered, talked to an agent, and the disposition was neither final nor a
    /// callback: try again this much later.
    pub retry_connected_secs: u64,
    /// An attempt found still "dialing" at start-up (the daemon died mid-call).
    pub retry_interrupted_secs: u64,
    /// A preview agent skipped the lead, or the runtime reported `NotDialed`: the lead goes
    /// to the back of the line for this long (the attempt does not count).
    pub retry_skipped_secs: u64,
    /// A CSV imported into the lead book at every daemon start (relative to the config file;
    /// the config check resolves it). Re-importing is idempotent: stored numbers are
    /// duplicates.
    pub csv: Option<PathBuf>,
}

impl Default for LeadRules {
    fn default() -> Self {
        LeadRules {
            window: BTreeMap::from([("default".to_string(), "09:00-20:00".to_string())]),
            default_timezone: "UTC".into(),
            max_attempts: 5,
            retry_busy_secs: 300,
            retry_no_answer_secs: 3600,
            retry_machine_secs: 3600 * 4,
            retry_failed_secs: 3600 * 24,
            retry_abandoned_secs: 3600,
            final_dispositions: vec![
                "sale".into(),
                "no-interest".into(),
                "wrong-number".into(),
                "do-not-call".into(),
            ],
            default_region: "US".into(),
            retry_connected_secs: 3600 * 24,
            retry_interrupted_secs: 3600,
            retry_skipped_secs: 600,
            csv: None,
        }
    }
}
