//! The lead book's command-line tools (`switchboard leads|dnc|campaign ...`): each opens
//! the store the config names, does one thing, and returns the text to print or the error
//! to show (main.rs owns the arguments and the exit code).

use std::fmt::Write;
use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::{progress, LeadBook, LeadError};
use crate::dialer::source::LeadRules;

/// A book whose default rules use `region` (numbers) and `timezone` (the report's day).
fn open(store: &Path, region: &str, timezone: &str) -> Result<LeadBook, String> {
    let mut b = LeadBook::open(store).map_err(|e| format!("{}: {e}", store.display()))?;
    b.set_default_rules(LeadRules {
        default_region: region.into(),
        default_timezone: timezone.into(),
        ..LeadRules::default()
    })
    .map_err(|e| e.to_string())?;
    Ok(b)
}

fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// `leads import`: the report, one line per invalid row as FILE:LINE.
pub fn import(store: &Path, campaign: &str, region: &str, csv: &Path) -> Result<String, String> {
    let file = std::fs::File::open(csv).map_err(|e| format!("{}: {e}", csv.display()))?;
    let mut b = open(store, region, "UTC")?;
    let r = b
        .import_csv(SystemTime::now(), campaign, std::io::BufReader::new(file))
        .map_err(|e| match e {
            LeadError::Csv { line, msg } => format!("{}:{line}: {msg}", csv.display()),
            e => format!("{}: {e}", csv.display()),
        })?;
    let mut s = format!(
        "{}: {} imported, {} duplicates, {} invalid, {} on do-not-call lists (campaign {campaign})\n",
        csv.display(),
        r.imported,
        r.duplicates,
        r.invalid.len(),
        r.dnc
    );
    for (line, reason) in &r.invalid {
        let _ = writeln!(s, "{}:{line}: invalid: {reason}", csv.display());
    }
    Ok(s)
}

/// `leads list`.
pub fn list(
    store: &Path,
    campaign: &str,
    state: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<String, String> {
    let b = open(store, "US", "UTC")?;
    let rows = b
        .list(campaign, state, limit.min(i64::MAX as usize))
        .map_err(|e| e.to_string())?;
    if json {
        return serde_json::to_string_pretty(&rows)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string());
    }
    let mut s = format!(
        "{:>6}  {:<16} {:<8} {:>3}  {:<20}  {:<20} {}\n",
        "id", "number", "state", "att", "next", "zone", "name"
    );
    for r in &rows {
        let _ = writeln!(
            s,
            "{:>6}  {:<16} {:<8} {:>3}  {:<20}  {:<20} {}{}",
            r.id,
            r.number,
            r.state,
            r.attempts,
            time(r.next_at_ms),
            if r.timezone.is_empty() {
                "(default)"
            } else {
                &r.timezone
            },
            r.name.as_deref().unwrap_or(""),
            r.invalid_reason
                .as_deref()
                .map(|x| format!("  [{x}]"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(s, "{} leads", rows.len());
    Ok(s)
}

pub enum DncAction {
    Add {
        number: String,
        reason: Option<String>,
    },
    Remove {
        number: String,
    },
    List,
}

/// `dnc add|remove|list`.
pub fn dnc(
    store: &Path,
    campaign: Option<&str>,
    region: &str,
    action: DncAction,
) -> Result<String, String> {
    let mut b = open(store, region, "UTC")?;
    let list = campaign.map_or("the global list".to_string(), |c| {
        format!("campaign {c}'s list")
    });
    let err = |e: LeadError| e.to_string();
    Ok(match action {
        DncAction::Add { number, reason } => {
            if b.dnc_add(SystemTime::now(), &number, campaign, reason.as_deref())
                .map_err(err)?
            {
                format!("{number}: added to {list}\n")
            } else {
                format!("{number}: already on {list}\n")
            }
        }
        DncAction::Remove { number } => {
            if b.dnc_remove(&number, campaign).map_err(err)? {
                format!("{number}: removed from {list}\n")
            } else {
                return Err(format!("{number}: not on {list}"));
            }
        }
        DncAction::List => {
            let rows = b.dnc_list(campaign).map_err(err)?;
            let mut s = String::new();
            for r in &rows {
                let _ = writeln!(
                    s,
                    "{:<16} {}  {}",
                    r.number,
                    time(r.added_ms),
                    r.reason.as_deref().unwrap_or("")
                );
            }
            let _ = writeln!(s, "{} numbers on {list}", rows.len());
            s
        }
    })
}

/// `campaign report`.
pub fn report(store: &Path, campaign: &str, timezone: &str, json: bool) -> Result<String, String> {
    let b = open(store, "US", timezone)?;
    let p = b
        .progress(SystemTime::now(), campaign)
        .map_err(|e| e.to_string())?;
    if json {
        serde_json::to_string_pretty(&p)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string())
    } else {
        Ok(progress::table(&p))
    }
}
