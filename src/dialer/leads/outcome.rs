//! What happens to a lead after an attempt: the retry its outcome asks for, the end of the
//! line (max attempts, final dispositions, do-not-call, a SIT saying the number is bad),
//! scheduled callbacks, preview skips, and the repair after a crash (attempts left
//! "dialing" become `interrupted`).

use std::time::SystemTime;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{dnc, ms, secs_ms, LeadBook, LeadError, Rules};
use crate::dialer::amd::SitCategory;
use crate::dialer::source::AttemptResult;

/// The attempt row's fields this module needs.
struct Attempt {
    lead: i64,
    campaign: String,
    result: Option<String>,
    prev_state: String,
}

fn attempt(tx: &Transaction, id: i64) -> Result<Attempt, LeadError> {
    tx.query_row(
        "SELECT lead, campaign, result, prev_state FROM lead_attempts WHERE id = ?1",
        [id],
        |r| {
            Ok(Attempt {
                lead: r.get(0)?,
                campaign: r.get(1)?,
                result: r.get(2)?,
                prev_state: r.get(3)?,
            })
        },
    )
    .optional()?
    .ok_or(LeadError::NoAttempt(id))
}

/// What becomes of the lead after an attempt.
#[derive(Debug)]
enum Next {
    /// It stays `dialing` until the agent's disposition.
    Disposition,
    /// Back where it was, the attempt not counted.
    GiveBack,
    /// Retried this many seconds later (or `done` when it used its attempts).
    Retry(u64),
    /// The number is bad: `invalid` with this reason, never dialed again.
    Invalid(String),
}

/// The stored name of a result, its detail, and what the rules make of it.
fn classify(r: &AttemptResult, rules: &Rules) -> (&'static str, Option<String>, Next) {
    let x = &rules.rules;
    match r {
        AttemptResult::Connected { agent } => ("connected", Some(agent.clone()), Next::Disposition),
        AttemptResult::Abandoned => ("abandoned", None, Next::Retry(x.retry_abandoned_secs)),
        AttemptResult::Machine { left_message } => (
            "machine",
            left_message.then(|| "left-message".to_string()),
            Next::Retry(x.retry_machine_secs),
        ),
        AttemptResult::Busy => ("busy", None, Next::Retry(x.retry_busy_secs)),
        AttemptResult::NoAnswer => ("no-answer", None, Next::Retry(x.retry_no_answer_secs)),
        AttemptResult::Failed { cause } => ("failed", Some(cause.clone()), failed(cause, rules)),
        AttemptResult::NotDialed { reason } => ("not-dialed", Some(reason.clone()), Next::GiveBack),
    }
}

/// A failed dial: a special information tone says whether the number is bad (IC, VC), the
/// network congested (RO, NC: retried as soon as a busy line), or neither (a carrier error,
/// a reserved pattern: `retry_failed_secs`).
fn failed(cause: &str, rules: &Rules) -> Next {
    match SitCategory::from_cause(cause) {
        Some(c) if c.number_invalid() => Next::Invalid(format!(
            "special information tone {} ({})",
            c.code(),
            c.meaning()
        )),
        Some(c) if c.retry_later() => Next::Retry(rules.rules.retry_busy_secs),
        _ => Next::Retry(rules.rules.retry_failed_secs),
    }
}

/// Retry `lead` at `at_ms`, or finish it when it has used its attempts.
fn schedule(tx: &Transaction, lead: i64, at_ms: i64, rules: &Rules) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE leads SET state = CASE WHEN attempts >= ?3 THEN 'done' ELSE 'retry' END,
             next_at_ms = ?2, callback_agent = NULL
         WHERE id = ?1",
        params![lead, at_ms, rules.rules.max_attempts],
    )?;
    Ok(())
}

/// Put the lead back where it was, to the back of the line, the attempt not counted.
fn give_back(tx: &Transaction, a: &Attempt, now_ms: i64, rules: &Rules) -> rusqlite::Result<()> {
    let state = if a.prev_state == "new" {
        "retry"
    } else {
        a.prev_state.as_str()
    };
    tx.execute(
        "UPDATE leads SET state = ?2, attempts = max(attempts - 1, 0), next_at_ms = ?3
         WHERE id = ?1",
        params![
            a.lead,
            state,
            now_ms + secs_ms(rules.rules.retry_skipped_secs)
        ],
    )?;
    Ok(())
}

impl LeadBook {
    /// `handle_attempt` with the error.
    pub fn try_handle_attempt(
        &mut self,
        now: SystemTime,
        attempt_id: i64,
        result: &AttemptResult,
    ) -> Result<(), LeadError> {
        let now_ms = ms(now);
        // `&mut self` already makes this the only transaction on the connection.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let a = attempt(&tx, attempt_id)?;
        if let Some(r) = a.result {
            return Err(LeadError::AttemptClosed {
                id: attempt_id,
                result: r,
            });
        }
        let rules = self.rules_of(&a.campaign);
        let (name, detail, next) = classify(result, &rules);
        let agent = match result {
            AttemptResult::Connected { agent } => Some(agent.as_str()),
            _ => None,
        };
        tx.execute(
            "UPDATE lead_attempts SET ended_ms = ?2, result = ?3, detail = ?4, agent = ?5 WHERE id = ?1",
            params![attempt_id, now_ms, name, detail, agent],
        )?;
        tx.execute(
            "UPDATE leads SET last_outcome = ?2 WHERE id = ?1",
            params![a.lead, name],
        )?;
        match next {
            Next::Disposition => {}
            Next::GiveBack => give_back(&tx, &a, now_ms, &rules)?,
            Next::Retry(secs) => schedule(&tx, a.lead, now_ms + secs_ms(secs), &rules)?,
            Next::Invalid(reason) => {
                tx.execute(
                    "UPDATE leads SET state = 'invalid', invalid_reason = ?2, callback_agent = NULL
                     WHERE id = ?1",
                    params![a.lead, reason],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Preview mode: the agent chose not to dial the lead `next_lead_for_agent` gave.
    pub fn skip(&mut self, now: SystemTime, attempt_id: i64) -> Result<(), LeadError> {
        let now_ms = ms(now);
        // `&mut self` already makes this the only transaction on the connection.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let a = attempt(&tx, attempt_id)?;
        if let Some(r) = a.result {
            return Err(LeadError::AttemptClosed {
                id: attempt_id,
                result: r,
            });
        }
        let rules = self.rules_of(&a.campaign);
        tx.execute(
            "UPDATE lead_attempts SET ended_ms = ?2, result = 'skipped' WHERE id = ?1",
            params![attempt_id, now_ms],
        )?;
        give_back(&tx, &a, now_ms, &rules)?;
        tx.commit()?;
        Ok(())
    }

    /// `handle_disposition` with the error.
    pub fn try_handle_disposition(
        &mut self,
        now: SystemTime,
        attempt_id: i64,
        disposition: &str,
        agent: Option<&str>,
        callback_at: Option<SystemTime>,
        personal: bool,
    ) -> Result<(), LeadError> {
        let disposition = disposition.trim();
        if disposition.is_empty() {
            return Err(LeadError::Invalid("empty disposition".into()));
        }
        if personal && callback_at.is_some() && agent.is_none() {
            return Err(LeadError::Invalid(
                "a personal callback needs the agent it belongs to".into(),
            ));
        }
        let now_ms = ms(now);
        // `&mut self` already makes this the only transaction on the connection.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let a = attempt(&tx, attempt_id)?;
        let rules = self.rules_of(&a.campaign);
        tx.execute(
            "UPDATE lead_attempts SET disposition = ?2, agent = coalesce(?3, agent) WHERE id = ?1",
            params![attempt_id, disposition, agent],
        )?;
        let (state, number): (String, String) = tx.query_row(
            "SELECT state, number FROM leads WHERE id = ?1",
            [a.lead],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if matches!(state.as_str(), "dnc" | "invalid")
            || (state == "done" && has_final(&tx, a.lead)?)
        {
            // Already out of the campaign: the disposition is recorded on the attempt only.
        } else if self.is_final(&rules, disposition) {
            tx.execute(
                "UPDATE leads SET state = 'done', final_disposition = ?2, callback_agent = NULL
                 WHERE id = ?1",
                params![a.lead, disposition],
            )?;
            if disposition == "do-not-call" {
                let reason = format!("disposition by {}", agent.unwrap_or("an agent"));
                dnc::insert(&tx, now, &number, Some(&a.campaign), Some(&reason))?;
            }
        } else if let Some(at) = callback_at {
            tx.execute(
                "UPDATE leads SET state = 'callback', next_at_ms = ?2, callback_agent = ?3
                 WHERE id = ?1",
                params![a.lead, ms(at), if personal { agent } else { None }],
            )?;
        } else if state == "dialing" {
            // A conversation that decided nothing: try again later.
            let at = now_ms + secs_ms(rules.rules.retry_connected_secs);
            schedule(&tx, a.lead, at, &rules)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// At dialer start: close every attempt a crash left open as `interrupted` and send its
    /// lead to retry (`retry_interrupted_secs`, not at once: the call may have gone through);
    /// leads left `dialing` after a connect with no disposition go to retry too
    /// (`retry_connected_secs`). Returns how many attempts were interrupted.
    pub fn recover(&mut self, now: SystemTime) -> Result<usize, LeadError> {
        let now_ms = ms(now);
        // `&mut self` already makes this the only transaction on the connection.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let open: Vec<(i64, i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, lead, campaign FROM lead_attempts WHERE result IS NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, lead, campaign) in &open {
            let rules = self.rules_of(campaign);
            tx.execute(
                "UPDATE lead_attempts SET result = 'interrupted', ended_ms = ?2 WHERE id = ?1",
                params![id, now_ms],
            )?;
            tx.execute(
                "UPDATE leads SET last_outcome = 'interrupted' WHERE id = ?1",
                [lead],
            )?;
            schedule(
                &tx,
                *lead,
                now_ms + secs_ms(rules.rules.retry_interrupted_secs),
                &rules,
            )?;
        }
        let stuck: Vec<(i64, String)> = {
            let mut stmt = tx.prepare("SELECT id, campaign FROM leads WHERE state = 'dialing'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (lead, campaign) in &stuck {
            let rules = self.rules_of(campaign);
            schedule(
                &tx,
                *lead,
                now_ms + secs_ms(rules.rules.retry_connected_secs),
                &rules,
            )?;
        }
        tx.commit()?;
        Ok(open.len())
    }
}

fn has_final(tx: &Transaction, lead: i64) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT final_disposition IS NOT NULL FROM leads WHERE id = ?1",
        [lead],
        |r| r.get(0),
    )
}
