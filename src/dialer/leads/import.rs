//! CSV import. A header row is required: `phone` (or `number`) names the number column;
//! `name`, `timezone` (IANA) and `region` (US state / Canadian province) are known; every
//! other column is a custom field that travels with the lead to the agent's screen. Column
//! names are case-insensitive.
//!
//! Each row becomes one lead: numbers are normalized to E.164 (the campaign's
//! `default_region` for national forms); a number already in the campaign (in this file or
//! before) is a duplicate and skipped; a row whose number, zone or region is unusable is kept
//! as `invalid` with the reason and never dialed; a number on a DNC list is kept as `dnc`.
//! A file that is not CSV at all (no header, no phone column, bad UTF-8) imports nothing and
//! says at which line (the file is checked whole before anything is written).

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::time::SystemTime;

use rusqlite::{params, TransactionBehavior};

use super::{dnc, e164, ms, zone, LeadBook, LeadError};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// New, dialable leads.
    pub imported: u64,
    /// Rows whose number the campaign already had (in this file or from before).
    pub duplicates: u64,
    /// Rows kept as `invalid`, never dialed: (line, reason).
    pub invalid: Vec<(u64, String)>,
    /// Rows whose number is on a DNC list: kept as `dnc`, never dialed.
    pub dnc: u64,
}

/// Where the known columns are.
struct Columns {
    phone: usize,
    name: Option<usize>,
    timezone: Option<usize>,
    region: Option<usize>,
    /// (index, header) of the custom fields.
    custom: Vec<(usize, String)>,
    width: usize,
}

fn columns(headers: &csv::StringRecord) -> Result<Columns, LeadError> {
    let names: Vec<String> = headers
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let find = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
    let phone = find(&["phone", "number"]).ok_or_else(|| LeadError::Csv {
        line: 1,
        msg: if names.iter().all(|n| n.is_empty()) {
            "no header row: the first line must name the columns (phone, name, ...)".into()
        } else {
            format!(
                "the header has no `phone` (or `number`) column: {}",
                names.join(",")
            )
        },
    })?;
    let (name, timezone, region) = (find(&["name"]), find(&["timezone"]), find(&["region"]));
    let known = [Some(phone), name, timezone, region];
    let custom = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| !known.contains(&Some(*i)) && !h.trim().is_empty())
        .map(|(i, h)| (i, h.trim().to_string()))
        .collect();
    Ok(Columns {
        phone,
        name,
        timezone,
        region,
        custom,
        width: headers.len(),
    })
}

/// A row's usable parts, or why it is invalid.
struct Row {
    number: String,
    tz: String,
}

fn field(rec: &csv::StringRecord, i: Option<usize>) -> Option<&str> {
    i.and_then(|i| rec.get(i))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn resolve(
    rec: &csv::StringRecord,
    c: &Columns,
    region: phonenumber::country::Id,
) -> Result<Row, String> {
    if rec.len() > c.width {
        return Err(format!("{} fields, the header has {}", rec.len(), c.width));
    }
    let n = e164::normalize(rec.get(c.phone).unwrap_or(""), region)?;
    let tz = if let Some(tz) = field(rec, c.timezone) {
        zone::parse_tz(tz)?.name().to_string()
    } else if let Some(r) = field(rec, c.region) {
        zone::region_zone(r)
            .ok_or_else(|| {
                format!(
                    "unknown region {r:?} (expected a US state or Canadian province like NY, ON)"
                )
            })?
            .to_string()
    } else {
        // '' = the campaign's default_timezone, decided at dial time.
        n.country
            .as_deref()
            .and_then(zone::country_zone)
            .unwrap_or("")
            .to_string()
    };
    Ok(Row {
        number: n.number,
        tz,
    })
}

/// A row ready to store.
struct Prepared {
    line: u64,
    name: Option<String>,
    json: String,
    /// The row, or (the raw phone text, why it is invalid).
    row: Result<Row, (String, String)>,
}

/// Rows per transaction: a big list must not hold the store's write lock for long (the
/// daemon's writer and the dialer wait at most `busy_timeout` for it).
const CHUNK: usize = 2000;

impl LeadBook {
    /// Import a CSV of leads into `campaign`. The whole file is read and checked first: a
    /// file-level error imports nothing. Rows are then committed in chunks; should a commit
    /// fail half-way, importing the same file again is safe (stored rows are duplicates).
    pub fn import_csv<R: Read>(
        &mut self,
        now: SystemTime,
        campaign: &str,
        reader: R,
    ) -> Result<ImportReport, LeadError> {
        let rules = self.rules_of(campaign);
        let now_ms = ms(now);
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::None)
            .from_reader(reader);
        let headers = rdr.headers().map_err(csv_error)?.clone();
        let cols = columns(&headers)?;
        let mut rows = Vec::new();
        let mut zones = HashSet::new();
        let mut rec = csv::StringRecord::new();
        while rdr.read_record(&mut rec).map_err(csv_error)? {
            let fields: BTreeMap<String, String> = cols
                .custom
                .iter()
                .filter_map(|(i, h)| field(&rec, Some(*i)).map(|v| (h.clone(), v.to_string())))
                .collect();
            let row = resolve(&rec, &cols, rules.region)
                .map_err(|reason| (rec.get(cols.phone).unwrap_or("").trim().to_string(), reason));
            if let Ok(r) = &row {
                zones.insert(r.tz.clone());
            }
            rows.push(Prepared {
                line: rec.position().map_or(0, |p| p.line()),
                name: field(&rec, cols.name).map(str::to_string),
                // Serializing a map of strings cannot fail.
                json: serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into()),
                row,
            });
        }
        // Zones first: a lead is never stored in a zone that selection does not know.
        {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            for z in &zones {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO lead_zones (campaign, tz) VALUES (?1, ?2)",
                )?
                .execute(params![campaign, z])?;
            }
            tx.commit()?;
        }
        let mut report = ImportReport::default();
        for chunk in rows.chunks(CHUNK) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO leads (campaign, number, name, tz, fields, state, next_at_ms,
                    invalid_reason, imported_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7)
                 ON CONFLICT (campaign, number) DO NOTHING",
            )?;
            for p in chunk {
                match &p.row {
                    Ok(row) => {
                        let on_dnc = dnc::lookup(&tx, &row.number, campaign)?.is_some();
                        let state = if on_dnc { "dnc" } else { "new" };
                        let n = insert.execute(params![
                            campaign,
                            row.number,
                            p.name,
                            row.tz,
                            p.json,
                            state,
                            now_ms,
                            None::<String>
                        ])?;
                        if n == 0 {
                            report.duplicates += 1;
                        } else if on_dnc {
                            report.dnc += 1;
                        } else {
                            report.imported += 1;
                        }
                    }
                    Err((raw, reason)) => {
                        insert.execute(params![
                            campaign, raw, p.name, "", p.json, "invalid", now_ms, reason
                        ])?;
                        report.invalid.push((p.line, reason.clone()));
                    }
                }
            }
            drop(insert);
            tx.commit()?;
        }
        Ok(report)
    }
}

fn csv_error(e: csv::Error) -> LeadError {
    let line = e.position().map_or(0, |p| p.line());
    let msg = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("not UTF-8 text ({err})"),
        csv::ErrorKind::Io(err) => format!("read error: {err}"),
        _ => e.to_string(),
    };
    LeadError::Csv { line, msg }
}
