//! Which lead to dial next: due callbacks first, then due retries, then new leads (oldest
//! first), among the zones whose calling window is open now; then max attempts and the DNC
//! lists are checked on the lead itself, every time. The attempt is committed before the
//! lead is handed out.
//!
//! Cost: one indexed seek (`leads_due`) per (state, open zone) plus the DNC lookups, so it
//! does not grow with the number of leads (see BENCHMARKS.md, "Lead book").

use std::collections::BTreeMap;
use std::time::SystemTime;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{dnc, ms, LeadBook, LeadError, Rules};
use crate::dialer::source::LeadDial;

/// Selection order by state. A callback is not bound by `max_attempts`: it is a promise to
/// the customer, kept even after the last regular attempt.
const ORDER: [&str; 3] = ["callback", "retry", "new"];

/// Whose leads a selection may hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick<'a> {
    /// The campaign's leads for whichever agent takes them: never a personal callback (it
    /// belongs to one agent, who must be free when it is dialed).
    Anyone,
    /// Preview: `agent`'s personal callbacks and the campaign's leads.
    Agent(&'a str),
    /// Only `agent`'s personal callbacks.
    PersonalOf(&'a str),
}

impl<'a> Pick<'a> {
    /// The `pick` query's mode parameter.
    fn mode(self) -> i64 {
        match self {
            Pick::Anyone => 0,
            Pick::Agent(_) => 1,
            Pick::PersonalOf(_) => 2,
        }
    }

    /// The agent a picked lead goes to (`LeadDial.agent`), if not whoever is free.
    pub(crate) fn agent(self) -> Option<&'a str> {
        match self {
            Pick::Anyone => None,
            Pick::Agent(a) | Pick::PersonalOf(a) => Some(a),
        }
    }

    /// Whether a lead whose personal callback belongs to `owner` (None: anyone's) may be
    /// picked (what the `pick` query's mode checks in SQL).
    pub(crate) fn may_take(self, owner: Option<&str>) -> bool {
        match (self, owner) {
            (Pick::Anyone, o) => o.is_none(),
            (Pick::Agent(a), o) => o.is_none_or(|o| o == a),
            (Pick::PersonalOf(a), o) => o == Some(a),
        }
    }
}

impl LeadBook {
    /// Preview mode: the next lead for `agent` to look at (its personal callbacks and
    /// everyone's due leads, never another agent's personal callbacks). The attempt is
    /// recorded as for `next_lead`, with `LeadDial.agent = Some(agent)`; the agent then
    /// dials (and the runtime reports the outcome) or calls [`LeadBook::skip`].
    pub fn next_lead_for_agent(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Result<Option<LeadDial>, LeadError> {
        self.try_next_lead(now, campaign, Pick::Agent(agent))
    }

    /// `agent`'s due personal callback (the oldest), recorded as for `next_lead`.
    pub fn next_personal_callback(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Result<Option<LeadDial>, LeadError> {
        self.try_next_lead(now, campaign, Pick::PersonalOf(agent))
    }

    /// `next_lead` with the error, for the leads `who` may have.
    pub fn try_next_lead(
        &mut self,
        now: SystemTime,
        campaign: &str,
        who: Pick<'_>,
    ) -> Result<Option<LeadDial>, LeadError> {
        let agent = who.agent();
        let rules = self.rules_of(campaign);
        let now_ms = ms(now);
        // IMMEDIATE: a deferred transaction that reads and then writes cannot wait for the
        // daemon's other writer (SQLite answers BUSY at once); this one waits busy_timeout.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let open = open_zones(&tx, &rules, campaign, now)?;
        let dial = loop {
            let Some(id) = pick(&tx, campaign, &open, now_ms, who)? else {
                break None;
            };
            let lead = load(&tx, id)?;
            if lead.state != "callback" && lead.attempts >= rules.rules.max_attempts {
                // Rules changed under the lead (a lower max): it is finished, not dialable.
                tx.execute("UPDATE leads SET state = 'done' WHERE id = ?1", params![id])?;
                continue;
            }
            if let Some(list) = dnc::lookup(&tx, &lead.number, campaign)? {
                tx.execute("UPDATE leads SET state = 'dnc' WHERE id = ?1", params![id])?;
                // The bookkeeping of a refused dial: an attempt that never reached the network.
                tx.execute(
                    "INSERT INTO lead_attempts (lead, campaign, attempt_no, started_ms, ended_ms,
                        result, detail, prev_state)
                     VALUES (?1, ?2, ?3, ?4, ?4, 'not-dialed', ?5, ?6)",
                    params![id, campaign, lead.attempts, now_ms, list, lead.state],
                )?;
                continue;
            }
            let attempt_no = lead.attempts + 1;
            // Personal callback: its agent; preview: the agent who asked.
            let to_agent = lead.callback_agent.clone().or(agent.map(str::to_string));
            tx.execute(
                "INSERT INTO lead_attempts (lead, campaign, attempt_no, started_ms, prev_state, agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, campaign, attempt_no, now_ms, lead.state, to_agent],
            )?;
            let attempt_id = tx.last_insert_rowid();
            tx.execute(
                "UPDATE leads SET state = 'dialing', attempts = ?2 WHERE id = ?1",
                params![id, attempt_no],
            )?;
            break Some(LeadDial {
                campaign: campaign.to_string(),
                lead_id: id,
                attempt_id,
                attempt_no,
                number: lead.number,
                name: lead.name,
                fields: lead.fields,
                agent: to_agent,
            });
        };
        // Commit also when nothing is dialed: leads found on DNC stay marked.
        tx.commit()?;
        Ok(dial)
    }
}

/// The campaign's zones whose window is open at `now`.
fn open_zones(
    tx: &Transaction,
    rules: &Rules,
    campaign: &str,
    now: SystemTime,
) -> Result<Vec<String>, LeadError> {
    let mut stmt = tx.prepare_cached("SELECT tz FROM lead_zones WHERE campaign = ?1")?;
    let zones = stmt.query_map([campaign], |r| r.get::<_, String>(0))?;
    let mut open = Vec::new();
    for z in zones {
        let z = z?;
        if rules.zone_open(&z, now) {
            open.push(z);
        }
    }
    Ok(open)
}

/// The best due lead's id: by state in `ORDER`, then earliest `next_at`, then lowest id.
fn pick(
    tx: &Transaction,
    campaign: &str,
    open: &[String],
    now_ms: i64,
    who: Pick<'_>,
) -> Result<Option<i64>, LeadError> {
    // ?6: 0 anyone (no personal callbacks), 1 an agent (theirs too), 2 only theirs.
    let mut stmt = tx.prepare_cached(
        "SELECT next_at_ms, id FROM leads INDEXED BY leads_due
         WHERE campaign = ?1 AND state = ?2 AND tz = ?3 AND next_at_ms <= ?4
           AND CASE ?6
               WHEN 0 THEN callback_agent IS NULL
               WHEN 1 THEN callback_agent IS NULL OR callback_agent = ?5
               ELSE callback_agent = ?5 END
         ORDER BY next_at_ms, id LIMIT 1",
    )?;
    let (mode, agent) = (who.mode(), who.agent());
    // Personal callbacks are always in state `callback`: the other states cannot match.
    let states: &[&str] = if mode == 2 { &ORDER[..1] } else { &ORDER };
    for &state in states {
        let mut best: Option<(i64, i64)> = None;
        for tz in open {
            let row: Option<(i64, i64)> = stmt
                .query_row(params![campaign, state, tz, now_ms, agent, mode], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            if let Some(r) = row {
                if best.is_none_or(|b| r < b) {
                    best = Some(r);
                }
            }
        }
        if let Some((_, id)) = best {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

pub(crate) struct Lead {
    pub number: String,
    pub name: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub state: String,
    pub attempts: u32,
    pub callback_agent: Option<String>,
}

pub(crate) fn load(tx: &Transaction, id: i64) -> Result<Lead, LeadError> {
    let mut stmt = tx.prepare_cached(
        "SELECT number, name, fields, state, attempts, callback_agent FROM leads WHERE id = ?1",
    )?;
    Ok(stmt.query_row([id], |r| {
        let fields: String = r.get(2)?;
        Ok(Lead {
            number: r.get(0)?,
            name: r.get(1)?,
            // Written by import from a BTreeMap: it parses; a hand-edited row loses only
            // its custom fields, not the dial.
            fields: serde_json::from_str(&fields).unwrap_or_default(),
            state: r.get(3)?,
            attempts: r.get(4)?,
            callback_agent: r.get(5)?,
        })
    })?)
}
