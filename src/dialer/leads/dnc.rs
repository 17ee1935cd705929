//! Do-not-call lists: one global (`campaign` NULL) and one per campaign, of E.164 numbers.
//! Checked when a lead is selected, every time, so a number added after import is never
//! dialed; removing a number does not bring back leads already marked `dnc`.

use std::time::SystemTime;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{e164, ms, LeadBook, LeadError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DncEntry {
    pub number: String,
    /// None: the global list.
    pub campaign: Option<String>,
    pub added_ms: i64,
    pub reason: Option<String>,
}

/// Which list holds `number` for `campaign`: "dnc-global" or "dnc-campaign", or None.
pub(crate) fn lookup(
    conn: &Connection,
    number: &str,
    campaign: &str,
) -> rusqlite::Result<Option<&'static str>> {
    let mut stmt = conn.prepare_cached(
        "SELECT campaign IS NULL FROM dnc WHERE number = ?1 AND (campaign IS NULL OR campaign = ?2)
         ORDER BY campaign IS NULL DESC LIMIT 1",
    )?;
    let global: Option<bool> = stmt
        .query_row(params![number, campaign], |r| r.get(0))
        .optional()?;
    Ok(global.map(|g| if g { "dnc-global" } else { "dnc-campaign" }))
}

pub(crate) fn insert(
    conn: &Connection,
    now: SystemTime,
    number: &str,
    campaign: Option<&str>,
    reason: Option<&str>,
) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO dnc (number, campaign, added_ms, reason) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![number, campaign, ms(now), reason])?;
    Ok(n == 1)
}

impl LeadBook {
    /// Normalize `raw` with the region of `campaign`'s rules (the default rules' for the
    /// global list).
    fn dnc_number(&self, raw: &str, campaign: Option<&str>) -> Result<String, LeadError> {
        let rules = match campaign {
            Some(c) => self.rules_of(c),
            None => self.default.clone(),
        };
        e164::normalize(raw, rules.region)
            .map(|n| n.number)
            .map_err(LeadError::Invalid)
    }

    /// Add a number; false when it was already on that list.
    pub fn dnc_add(
        &mut self,
        now: SystemTime,
        raw: &str,
        campaign: Option<&str>,
        reason: Option<&str>,
    ) -> Result<bool, LeadError> {
        let number = self.dnc_number(raw, campaign)?;
        Ok(insert(&self.conn, now, &number, campaign, reason)?)
    }

    /// Add many numbers in one transaction (a national DNC list); returns how many were new.
    /// One that does not normalize refuses the whole batch, naming it.
    pub fn dnc_add_many<'a>(
        &mut self,
        now: SystemTime,
        raws: impl IntoIterator<Item = &'a str>,
        campaign: Option<&str>,
        reason: Option<&str>,
    ) -> Result<usize, LeadError> {
        let numbers = raws
            .into_iter()
            .map(|r| self.dnc_number(r, campaign))
            .collect::<Result<Vec<_>, _>>()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        for n in &numbers {
            added += usize::from(insert(&tx, now, n, campaign, reason)?);
        }
        tx.commit()?;
        Ok(added)
    }

    /// Remove a number; false when it was not on that list.
    pub fn dnc_remove(&mut self, raw: &str, campaign: Option<&str>) -> Result<bool, LeadError> {
        let number = self.dnc_number(raw, campaign)?;
        let n = self.conn.execute(
            "DELETE FROM dnc WHERE number = ?1 AND campaign IS ?2",
            params![number, campaign],
        )?;
        Ok(n > 0)
    }

    /// The global list (None) or one campaign's, by number.
    pub fn dnc_list(&self, campaign: Option<&str>) -> Result<Vec<DncEntry>, LeadError> {
        let mut stmt = self.conn.prepare(
            "SELECT number, campaign, added_ms, reason FROM dnc WHERE campaign IS ?1 ORDER BY number",
        )?;
        let rows = stmt.query_map([campaign], |r| {
            Ok(DncEntry {
                number: r.get(0)?,
                campaign: r.get(1)?,
                added_ms: r.get(2)?,
                reason: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Is `raw` (normalized for `campaign`) on the global list or `campaign`'s?
    #[cfg(test)]
    pub fn is_dnc(&self, raw: &str, campaign: &str) -> Result<bool, LeadError> {
        let number = self.dnc_number(raw, Some(campaign))?;
        Ok(lookup(&self.conn, &number, campaign)?.is_some())
    }
}
