//! Opening the lead book for the daemon: the campaigns without an inline `numbers` list
//! dial from it. At start: each campaign's rules, then crash recovery (attempts a `kill -9`
//! left "dialing" are closed and retried later, never redialled at once), then each
//! campaign's `leads.csv` import (idempotent: stored numbers are duplicates).
//!
//! Known limit: the book commits synchronously (a few ms per dial on disk) and the daemon
//! calls it on its event loop; at dialer rates (tens of dials a second) that is acceptable.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::CampaignConfig;
use crate::dialer::leads::{LeadBook, LeadError};

/// The names of the campaigns that take their leads from the book.
pub fn book_campaigns(campaigns: &[CampaignConfig]) -> Vec<&str> {
    campaigns
        .iter()
        .filter(|c| c.numbers.is_empty())
        .map(|c| c.name.as_str())
        .collect()
}

/// Each book campaign's (name, live answers, abandons) over the last 30 days, to seed
/// pacing's abandon controller after a restart. A campaign whose report fails is left out
/// (logged): pacing then starts it from zero, as before the lead book.
pub fn abandon_seeds(
    book: &LeadBook,
    campaigns: &[CampaignConfig],
    now: SystemTime,
) -> Vec<(String, u64, u64)> {
    book_campaigns(campaigns)
        .into_iter()
        .filter_map(|c| match book.progress(now, c) {
            Ok(p) => Some((c.to_string(), p.answers_30d, p.abandons_30d)),
            Err(e) => {
                tracing::warn!(campaign = c, error = %e, "lead book: no abandon figures to seed pacing");
                None
            }
        })
        .collect()
}

/// How far back pacing's abandon windows are seeded (its longest: the regulators' day).
const RECENT_SEED: Duration = Duration::from_secs(24 * 3600);

/// Each book campaign's live answers of the last day (age at `wall_now`, abandoned), to
/// seed pacing's day rate and rolling-hour guard after a restart. Ages, not instants: the
/// monotonic clock of a host up for less than a day cannot go back that far.
pub fn recent_seeds(
    book: &LeadBook,
    campaigns: &[CampaignConfig],
    wall_now: SystemTime,
) -> Vec<(String, Vec<(Duration, bool)>)> {
    book_campaigns(campaigns)
        .into_iter()
        .filter_map(|c| {
            match book.live_answers_since(c, wall_now - RECENT_SEED, wall_now) {
                Ok(rows) => Some((c.to_string(), to_ages(&rows, wall_now))),
                Err(e) => {
                    tracing::warn!(campaign = c, error = %e, "lead book: no recent answers to seed the abandon windows");
                    None
                }
            }
        })
        .collect()
}

fn to_ages(rows: &[(SystemTime, bool)], wall_now: SystemTime) -> Vec<(Duration, bool)> {
    rows.iter()
        .map(|&(at, abandoned)| {
            // A clock step put it in the future: it is now.
            let age = wall_now.duration_since(at).unwrap_or(Duration::ZERO);
            (age, abandoned)
        })
        .collect()
}

/// The book on `store` ready for `campaigns` (None: every campaign has inline numbers).
pub fn open(
    store: &Path,
    campaigns: &[CampaignConfig],
    now: SystemTime,
) -> Result<Option<LeadBook>, LeadError> {
    let mine: Vec<&CampaignConfig> = campaigns.iter().filter(|c| c.numbers.is_empty()).collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let mut book = LeadBook::open(store)?;
    for c in &mine {
        book.set_rules(&c.name, c.leads.clone())?;
    }
    let interrupted = book.recover(now)?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "lead book: attempts left dialing by the last run were closed; their leads retry later"
        );
    }
    for c in &mine {
        let Some(csv) = &c.leads.csv else { continue };
        let file = std::fs::File::open(csv)
            .map_err(|e| LeadError::Invalid(format!("{}: {e}", csv.display())))?;
        let r = book
            .import_csv(now, &c.name, std::io::BufReader::new(file))
            .map_err(|e| match e {
                LeadError::Csv { line, msg } => {
                    LeadError::Invalid(format!("{}:{line}: {msg}", csv.display()))
                }
                e => e,
            })?;
        tracing::info!(
            campaign = %c.name,
            file = %csv.display(),
            imported = r.imported,
            duplicates = r.duplicates,
            invalid = r.invalid.len(),
            dnc = r.dnc,
            "leads imported"
        );
    }
    Ok(Some(book))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_become_ages() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let rows = [
            (wall - Duration::from_secs(600), true),
            (wall, false),
            // A clock step put it in the future: it is now.
            (wall + Duration::from_secs(5), false),
        ];
        let got = to_ages(&rows, wall);
        assert_eq!(
            got,
            [
                (Duration::from_secs(600), true),
                (Duration::ZERO, false),
                (Duration::ZERO, false)
            ]
        );
    }
}
