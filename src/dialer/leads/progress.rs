//! A campaign's progress: leads by state, attempts and their outcomes, dispositions, and the
//! abandon rate regulators look at (abandoned / live answers, live answers = connected +
//! abandoned) over the current day and a rolling 30 days. The runtime seeds its pacing
//! controller from these after a restart, and its rolling-hour guard from the last hour's
//! live answers ([`LeadBook::live_answers_since`]).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::params;

use super::{ms, LeadBook, LeadError};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    pub campaign: String,
    /// Leads in the campaign.
    pub total: u64,
    pub by_state: BTreeMap<String, u64>,
    /// Attempts that went to the network (not the skipped or refused ones).
    pub attempts: u64,
    pub connects: u64,
    pub abandons: u64,
    /// Attempts by result (connected, busy, no-answer, interrupted, ...).
    pub by_result: BTreeMap<String, u64>,
    /// Since midnight in the campaign's default time zone.
    pub answers_today: u64,
    pub abandons_today: u64,
    /// abandons / answers, 0 when nobody answered.
    pub abandon_rate_today: f64,
    pub answers_30d: u64,
    pub abandons_30d: u64,
    pub abandon_rate_30d: f64,
    pub by_disposition: BTreeMap<String, u64>,
    /// Lead economy (the simulator's `dl/con` and `ld/con`): attempts per connect, and
    /// leads used up (`done` or `invalid`: no attempt left) per connect. Surplus hang-ups
    /// and late answers raise both; `lead_cost` trades them against utilization. 0 when
    /// nothing connected yet.
    pub dials_per_connect: f64,
    pub leads_used_per_connect: f64,
}

const DAY_MS: i64 = 86_400_000;

/// Local midnight of `now` in `tz`, as Unix ms.
fn midnight_ms(now: SystemTime, tz: Tz) -> i64 {
    let local = DateTime::<Utc>::from(now).with_timezone(&tz);
    let start = local.date_naive().and_hms_opt(0, 0, 0);
    start
        .and_then(|s| tz.from_local_datetime(&s).earliest())
        .map_or(ms(now) - DAY_MS, |d| d.timestamp_millis())
}

fn rate(abandons: u64, answers: u64) -> f64 {
    if answers == 0 {
        0.0
    } else {
        abandons as f64 / answers as f64
    }
}

fn per_connect(n: u64, connects: u64) -> f64 {
    if connects == 0 {
        0.0
    } else {
        n as f64 / connects as f64
    }
}

impl LeadBook {
    pub fn progress(&self, now: SystemTime, campaign: &str) -> Result<Progress, LeadError> {
        let rules = self.rules_of(campaign);
        let mut p = Progress {
            campaign: campaign.to_string(),
            ..Default::default()
        };
        let count_by = |sql: &str,
                        args: &[&dyn rusqlite::ToSql]|
         -> Result<BTreeMap<String, u64>, LeadError> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map(args, |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        p.by_state = count_by(
            "SELECT state, count(*) FROM leads WHERE campaign = ?1 GROUP BY state",
            &[&campaign],
        )?;
        p.total = p.by_state.values().sum();
        p.by_result = count_by(
            "SELECT result, count(*) FROM lead_attempts WHERE campaign = ?1 AND result IS NOT NULL
             AND result NOT IN ('skipped', 'not-dialed') GROUP BY result",
            &[&campaign],
        )?;
        // Attempts still dialing count as attempts too.
        let dialing: i64 = self.conn.query_row(
            "SELECT count(*) FROM lead_attempts WHERE campaign = ?1 AND result IS NULL",
            [campaign],
            |r| r.get(0),
        )?;
        p.attempts = p.by_result.values().sum::<u64>() + dialing as u64;
        p.connects = p.by_result.get("connected").copied().unwrap_or(0);
        p.abandons = p.by_result.get("abandoned").copied().unwrap_or(0);
        p.by_disposition = count_by(
            "SELECT disposition, count(*) FROM lead_attempts WHERE campaign = ?1
             AND disposition IS NOT NULL GROUP BY disposition",
            &[&campaign],
        )?;
        let live = |since: i64| -> Result<(u64, u64), LeadError> {
            Ok(self.conn.query_row(
                "SELECT count(*) FILTER (WHERE result = 'connected'),
                        count(*) FILTER (WHERE result = 'abandoned')
                 FROM lead_attempts WHERE campaign = ?1 AND started_ms >= ?2 AND started_ms <= ?3",
                params![campaign, since, ms(now)],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )?)
        };
        let (c, a) = live(midnight_ms(now, rules.default_tz))?;
        p.answers_today = c + a;
        p.abandons_today = a;
        p.abandon_rate_today = rate(a, c + a);
        let (c, a) = live(ms(now) - 30 * DAY_MS)?;
        p.answers_30d = c + a;
        p.abandons_30d = a;
        p.abandon_rate_30d = rate(a, c + a);
        let used = ["done", "invalid"]
            .iter()
            .map(|k| p.by_state.get(*k).copied().unwrap_or(0))
            .sum::<u64>();
        p.dials_per_connect = per_connect(p.attempts, p.connects);
        p.leads_used_per_connect = per_connect(used, p.connects);
        Ok(p)
    }
}

/// A live answer's fate (connected or abandoned) is booked at most this long after its
/// attempt started (ring timeout, AMD, reach time: minutes); bounds the index range scanned.
const ANSWER_WITHIN_MS: i64 = 3_600_000;

impl LeadBook {
    /// The live answers of `campaign` whose fate was booked in `[since, now]`: (when,
    /// abandoned), oldest first. Pacing's rolling-hour abandon guard is seeded with them
    /// after a restart.
    pub fn live_answers_since(
        &self,
        campaign: &str,
        since: SystemTime,
        now: SystemTime,
    ) -> Result<Vec<(SystemTime, bool)>, LeadError> {
        let mut stmt = self.conn.prepare(
            "SELECT ended_ms, result = 'abandoned' FROM lead_attempts
             WHERE campaign = ?1 AND started_ms >= ?2 AND started_ms <= ?4
               AND ended_ms >= ?3 AND ended_ms <= ?4 AND result IN ('connected', 'abandoned')
             ORDER BY ended_ms, id",
        )?;
        let since = ms(since);
        let rows = stmt.query_map(
            params![campaign, since - ANSWER_WITHIN_MS, since, ms(now)],
            |r| {
                let at: i64 = r.get(0)?;
                let at = SystemTime::UNIX_EPOCH + Duration::from_millis(at.max(0) as u64);
                Ok((at, r.get::<_, bool>(1)?))
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The report as text (the CLI's default output).
pub fn table(p: &Progress) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "campaign {}: {} leads", p.campaign, p.total);
    for (k, v) in &p.by_state {
        let _ = writeln!(s, "  {k:<12} {v}");
    }
    let _ = writeln!(
        s,
        "attempts {}  connects {}  abandons {}",
        p.attempts, p.connects, p.abandons
    );
    for (k, v) in &p.by_result {
        let _ = writeln!(s, "  {k:<12} {v}");
    }
    let _ = writeln!(
        s,
        "dials per connect {:.2}  leads used per connect {:.2}",
        p.dials_per_connect, p.leads_used_per_connect
    );
    let _ = writeln!(
        s,
        "abandon rate today {:.2}% ({} of {} live answers), last 30 days {:.2}% ({} of {})",
        p.abandon_rate_today * 100.0,
        p.abandons_today,
        p.answers_today,
        p.abandon_rate_30d * 100.0,
        p.abandons_30d,
        p.answers_30d
    );
    if !p.by_disposition.is_empty() {
        let _ = writeln!(s, "dispositions");
        for (k, v) in &p.by_disposition {
            let _ = writeln!(s, "  {k:<12} {v}");
        }
    }
    s
}
