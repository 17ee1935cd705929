//! The lead book: the dialer's leads, their attempts and the do-not-call lists, in the
//! embedded store, behind the [`LeadSource`] contract.
//!
//! One owner: a `LeadBook` holds its own SQLite connection to the store file and is the only
//! writer of the lead tables (`leads`, `lead_zones`, `lead_attempts`, `dnc`; see
//! `store/schema.rs`). Its commits are synchronous (WAL, `synchronous=FULL`) because the
//! contract is: when `next_lead` returns, the attempt is on disk. It is sans-IO as far as
//! time goes: every call takes `now`, nothing reads the clock. Calls block on the disk (a
//! few ms per commit): a tokio driver calls them from a blocking thread.
//!
//! Files: [`e164`] numbers, [`zone`] time zones, [`window`] calling windows, [`import`] CSV,
//! [`select`] which lead next, [`outcome`] retries / dispositions / crash recovery, [`dnc`],
//! [`progress`] the campaign report.

pub mod cli;
pub mod dnc;
pub mod e164;
pub mod import;
pub mod outcome;
pub mod progress;
pub mod select;
pub mod window;
pub mod zone;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono_tz::Tz;
use rusqlite::Connection;

use crate::dialer::source::{AttemptResult, LeadDial, LeadRules, LeadSource};
use crate::store::StoreError;

pub use import::ImportReport;
pub use progress::Progress;

#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error("lead store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("campaign {campaign:?}: rules: {msg}")]
    Rules { campaign: String, msg: String },
    #[error("no attempt {0} in the lead book")]
    NoAttempt(i64),
    #[error("attempt {id} already ended as {result}")]
    AttemptClosed { id: i64, result: String },
    /// A CSV problem that stops the import (nothing of that file is imported).
    #[error("line {line}: {msg}")]
    Csv { line: u64, msg: String },
    #[error("{0}")]
    Invalid(String),
}

/// A campaign's rules, parsed once.
#[derive(Debug)]
pub(crate) struct Rules {
    pub rules: LeadRules,
    pub windows: window::Windows,
    pub default_tz: Tz,
    pub region: phonenumber::country::Id,
}

impl Rules {
    fn parse(rules: LeadRules) -> Result<Rules, String> {
        Ok(Rules {
            windows: window::Windows::parse(&rules.window)?,
            default_tz: zone::parse_tz(&rules.default_timezone)
                .map_err(|e| format!("default_timezone: {e}"))?,
            region: e164::parse_region(&rules.default_region)
                .map_err(|e| format!("default_region: {e}"))?,
            rules,
        })
    }

    /// Is the window open for leads stored with zone `tz` ('' = the campaign's default)?
    fn zone_open(&self, tz: &str, now: SystemTime) -> bool {
        let zone = if tz.is_empty() {
            self.default_tz
        } else {
            match tz.parse::<Tz>() {
                Ok(z) => z,
                // Import validates zones; one that no longer parses is never dialed.
                Err(_) => return false,
            }
        };
        self.windows.is_open(zone, now)
    }

    fn is_final(&self, disposition: &str) -> bool {
        self.rules
            .final_dispositions
            .iter()
            .any(|d| d == disposition)
    }
}

pub struct LeadBook {
    conn: Connection,
    rules: HashMap<String, Arc<Rules>>,
    default: Arc<Rules>,
    /// `[dispositions]` codes flagged `final`: they end a lead in every campaign, on top of
    /// each campaign's `final_dispositions`.
    final_codes: HashSet<String>,
}

/// One stored lead, as `leads list` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeadRow {
    pub id: i64,
    pub number: String,
    pub name: Option<String>,
    pub timezone: String,
    pub fields: BTreeMap<String, String>,
    pub state: String,
    pub next_at_ms: i64,
    pub attempts: u32,
    pub last_outcome: Option<String>,
    pub final_disposition: Option<String>,
    pub callback_agent: Option<String>,
    pub invalid_reason: Option<String>,
}

impl LeadBook {
    /// Open (creating and migrating) the store at `path`. Call [`LeadBook::recover`] once
    /// when the dialer starts; tools (`switchboard leads ...`) do not.
    pub fn open(path: &Path) -> Result<LeadBook, LeadError> {
        let conn = crate::store::open_connection(path)?;
        Ok(LeadBook {
            conn,
            rules: HashMap::new(),
            // The defaults are valid by construction (tested in `default_rules_parse`).
            default: Arc::new(Rules::parse(LeadRules::default()).expect("default rules parse")),
            final_codes: HashSet::new(),
        })
    }

    /// The daemon's `[dispositions] codes`: those flagged `final` end the lead whatever the
    /// campaign's `final_dispositions` say (agents pick codes from that list, so it is the
    /// one they see; `final_dispositions` can only add to it).
    pub fn set_dispositions(&mut self, codes: &[crate::config::DispositionCode]) {
        self.final_codes = codes
            .iter()
            .filter(|c| c.is_final)
            .map(|c| c.code.clone())
            .collect();
    }

    /// Does `disposition` end a lead of a campaign with `rules`?
    pub(crate) fn is_final(&self, rules: &Rules, disposition: &str) -> bool {
        self.final_codes.contains(disposition) || rules.is_final(disposition)
    }

    /// The rules of `campaign` (from the runtime's config). Bad windows, zones or regions
    /// are refused with the reason.
    pub fn set_rules(&mut self, campaign: &str, rules: LeadRules) -> Result<(), LeadError> {
        let r = Rules::parse(rules).map_err(|msg| LeadError::Rules {
            campaign: campaign.into(),
            msg,
        })?;
        self.rules.insert(campaign.to_string(), Arc::new(r));
        Ok(())
    }

    /// The rules for campaigns given none (and for the global DNC list's region).
    pub fn set_default_rules(&mut self, rules: LeadRules) -> Result<(), LeadError> {
        self.default = Arc::new(Rules::parse(rules).map_err(|msg| LeadError::Rules {
            campaign: "(default)".into(),
            msg,
        })?);
        Ok(())
    }

    pub(crate) fn rules_of(&self, campaign: &str) -> Arc<Rules> {
        self.rules
            .get(campaign)
            .cloned()
            .unwrap_or_else(|| self.default.clone())
    }

    /// A campaign's leads, optionally in one state, by id.
    pub fn list(
        &self,
        campaign: &str,
        state: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LeadRow>, LeadError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, number, name, tz, fields, state, next_at_ms, attempts, last_outcome,
                    final_disposition, callback_agent, invalid_reason
             FROM leads WHERE campaign = ?1 AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(rusqlite::params![campaign, state, limit as i64], |r| {
            let fields: String = r.get(4)?;
            Ok(LeadRow {
                id: r.get(0)?,
                number: r.get(1)?,
                name: r.get(2)?,
                timezone: r.get(3)?,
                fields: serde_json::from_str(&fields).unwrap_or_default(),
                state: r.get(5)?,
                next_at_ms: r.get(6)?,
                attempts: r.get(7)?,
                last_outcome: r.get(8)?,
                final_disposition: r.get(9)?,
                callback_agent: r.get(10)?,
                invalid_reason: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

impl LeadSource for LeadBook {
    fn next_lead(&mut self, now: SystemTime, campaign: &str) -> Option<LeadDial> {
        match self.try_next_lead(now, campaign, select::Pick::Anyone) {
            Ok(l) => l,
            Err(e) => {
                // Nothing was committed: no lead is dialed, the runtime asks again later.
                tracing::error!(campaign, error = %e, "lead book: next_lead failed");
                None
            }
        }
    }

    fn next_lead_for_agent(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Option<LeadDial> {
        logged(
            campaign,
            "next_lead_for_agent",
            self.try_next_lead(now, campaign, select::Pick::Agent(agent)),
        )
    }

    fn next_personal_callback(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Option<LeadDial> {
        logged(
            campaign,
            "next_personal_callback",
            self.try_next_lead(now, campaign, select::Pick::PersonalOf(agent)),
        )
    }

    fn skip(&mut self, now: SystemTime, attempt_id: i64) -> Result<(), String> {
        LeadBook::skip(self, now, attempt_id).map_err(|e| e.to_string())
    }

    fn handle_attempt(&mut self, now: SystemTime, attempt_id: i64, result: &AttemptResult) {
        if let Err(e) = self.try_handle_attempt(now, attempt_id, result) {
            tracing::error!(attempt_id, error = %e, "lead book: handle_attempt failed");
        }
    }

    fn handle_disposition(
        &mut self,
        now: SystemTime,
        attempt_id: i64,
        disposition: &str,
        agent: Option<&str>,
        callback_at: Option<SystemTime>,
        personal: bool,
    ) -> Result<(), String> {
        self.try_handle_disposition(now, attempt_id, disposition, agent, callback_at, personal)
            .map_err(|e| e.to_string())
    }
}

/// A selection's lead, its error logged: nothing was committed, the runtime asks again later.
fn logged(campaign: &str, what: &str, r: Result<Option<LeadDial>, LeadError>) -> Option<LeadDial> {
    r.unwrap_or_else(|e| {
        tracing::error!(campaign, error = %e, "lead book: {what} failed");
        None
    })
}

/// Unix ms (times before 1970 clamp to 0).
pub(crate) fn ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn secs_ms(s: u64) -> i64 {
    Duration::from_secs(s).as_millis().min(i64::MAX as u128) as i64
}

#[cfg(test)]
mod tests;
