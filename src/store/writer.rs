//! The writer thread: take everything queued (up to a batch), apply it in one transaction,
//! commit, then acknowledge each operation with the commit's outcome.

use std::sync::mpsc::Receiver;

use rusqlite::{params, Connection};

use super::{Job, Op, StoreError};

const BATCH: usize = 512;

pub fn run(mut conn: Connection, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let result = apply(&mut conn, &jobs);
        for job in jobs {
            let r = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Sqlite(clone_err(e))),
            };
            let _ = job.ack.send(r);
        }
        if let Err(e) = result {
            tracing::error!(error = %e, "store commit failed");
        }
    }
}

fn clone_err(e: &rusqlite::Error) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
        Some(e.to_string()),
    )
}

fn apply(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for job in jobs {
        match &job.op {
            Op::UpsertBinding(b) => {
                tx.prepare_cached(
                    "INSERT INTO bindings (aor, contact, instance, call_id, cseq, expires_unix_ms, transport, source_addr, user_agent)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT(aor, contact) DO UPDATE SET instance = ?3, call_id = ?4, cseq = ?5,
                       expires_unix_ms = ?6, transport = ?7, source_addr = ?8, user_agent = ?9",
                )?
                .execute(params![
                    b.aor,
                    b.contact,
                    b.instance,
                    b.call_id,
                    b.cseq,
                    b.expires_unix_ms,
                    b.transport,
                    b.source_addr,
                    b.user_agent
                ])?;
            }
            Op::DeleteBinding { aor, contact } => {
                tx.prepare_cached("DELETE FROM bindings WHERE aor = ?1 AND contact = ?2")?
                    .execute(params![aor, contact])?;
            }
            Op::DeleteAor(aor) => {
                tx.prepare_cached("DELETE FROM bindings WHERE aor = ?1")?
                    .execute(params![aor])?;
            }
            Op::PutCdr(c) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO cdrs (id, a_call_id, b_call_id, direction, caller, callee, trunk,
                       start_unix_ms, answer_unix_ms, end_unix_ms, end_cause, hangup_side, a_sip_code,
                       b_sip_code, codec, a_to_b_packets, a_to_b_lost, a_to_b_jitter_ms, b_to_a_packets,
                       b_to_a_lost, b_to_a_jitter_ms, mos, queue, agent, recording, disposition,
                       a_to_b_far_lost, a_to_b_far_jitter_ms, b_to_a_far_lost, b_to_a_far_jitter_ms, rtt_ms,
                       recording_status, recording_ms, transferred_to, disposition_notes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                       ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25,
                       COALESCE(?26, (SELECT disposition FROM cdrs WHERE id = ?1)),
                       ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34,
                       COALESCE(?35, (SELECT disposition_notes FROM cdrs WHERE id = ?1)))",
                )?
                .execute(params![
                    c.id,
                    c.a_call_id,
                    c.b_call_id,
                    c.direction,
                    c.caller,
                    c.callee,
                    c.trunk,
                    c.start_unix_ms,
                    c.answer_unix_ms,
                    c.end_unix_ms,
                    c.end_cause,
                    c.hangup_side,
                    c.a_sip_code,
                    c.b_sip_code,
                    c.codec,
                    c.a_to_b.packets as i64,
                    c.a_to_b.lost as i64,
                    c.a_to_b.jitter_ms,
                    c.b_to_a.packets as i64,
                    c.b_to_a.lost as i64,
                    c.b_to_a.jitter_ms,
                    c.mos,
                    c.queue,
                    c.agent,
                    c.recording,
                    c.disposition,
                    c.a_to_b.far_lost,
                    c.a_to_b.far_jitter_ms,
                    c.b_to_a.far_lost,
                    c.b_to_a.far_jitter_ms,
                    c.rtt_ms,
                    c.recording_status,
                    c.recording_ms,
                    c.transferred_to,
                    c.disposition_notes
                ])?;
            }
            Op::PutAgent(a) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO acd_agents (agent, state, reason, phone, updated_unix_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![a.agent, a.state, a.reason, a.phone, a.updated_unix_ms])?;
            }
            Op::PutCampaignState {
                campaign,
                state,
                at_ms,
            } => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO campaign_state (campaign, state, updated_unix_ms)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![campaign, state, at_ms])?;
            }
            Op::PutCampaignOverrides {
                campaign,
                json: Some(json),
                at_ms,
            } => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO campaign_overrides (campaign, json, updated_unix_ms)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![campaign, json, at_ms])?;
            }
            Op::PutCampaignOverrides {
                campaign,
                json: None,
                ..
            } => {
                tx.prepare_cached("DELETE FROM campaign_overrides WHERE campaign = ?1")?
                    .execute(params![campaign])?;
            }
            Op::PutCallback(c) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO acd_callbacks
                       (call, queue, priority, enqueued_at_ms, orig_position, number, trunk)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    c.call,
                    c.queue,
                    c.priority,
                    c.enqueued_at_ms,
                    c.orig_position,
                    c.number,
                    c.trunk
                ])?;
            }
            Op::DeleteCallback(call) => {
                tx.prepare_cached("DELETE FROM acd_callbacks WHERE call = ?1")?
                    .execute(params![call])?;
            }
            Op::PutAcdEvent { at_ms, kind, json } => {
                tx.prepare_cached(
                    "INSERT INTO acd_events (at_ms, kind, json) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![*at_ms as i64, kind, json])?;
            }
            Op::SetDisposition { id, code, notes } => {
                tx.prepare_cached(
                    "UPDATE cdrs SET disposition = ?2, disposition_notes = ?3 WHERE id = ?1",
                )?
                .execute(params![id, code, notes])?;
            }
            Op::PutBlocked(b) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO blocked_numbers (number, reason, created_unix_ms, expires_unix_ms)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![b.number, b.reason, b.created_unix_ms, b.expires_unix_ms])?;
            }
            Op::DeleteBlocked(number) => {
                tx.prepare_cached("DELETE FROM blocked_numbers WHERE number = ?1")?
                    .execute(params![number])?;
            }
            Op::Flush => {}
        }
    }
    tx.commit()
}
