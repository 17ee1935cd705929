//! Reading CDRs straight from the daemon's SQLite store.

use std::path::Path;
use std::time::Duration;

use super::{poll_until, Daemon};

#[derive(Debug, Clone, Default)]
pub struct CdrRow {
    pub direction: String,
    pub caller: String,
    pub callee: String,
    pub trunk: Option<String>,
    pub end_cause: Option<String>,
    pub hangup_side: Option<String>,
    pub a_code: Option<i64>,
    pub b_code: Option<i64>,
    pub codec: Option<String>,
    pub a_to_b: i64,
    pub b_to_a: i64,
    pub answered: bool,
    pub mos: Option<f64>,
    pub rtt_ms: Option<f64>,
    pub a_to_b_far_lost: Option<i64>,
    pub b_to_a_far_lost: Option<i64>,
    pub queue: Option<String>,
    pub agent: Option<String>,
}

/// Every CDR in the store at `db`, oldest first (empty while the store does not exist yet).
pub fn cdrs(db: &Path) -> Vec<CdrRow> {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "SELECT direction, caller, callee, trunk, end_cause, hangup_side, a_sip_code, b_sip_code,
                codec, a_to_b_packets, b_to_a_packets, answer_unix_ms, mos, rtt_ms,
                a_to_b_far_lost, b_to_a_far_lost, queue, agent
         FROM cdrs ORDER BY start_unix_ms",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |r| {
        Ok(CdrRow {
            direction: r.get(0)?,
            caller: r.get(1)?,
            callee: r.get(2)?,
            trunk: r.get(3)?,
            end_cause: r.get(4)?,
            hangup_side: r.get(5)?,
            a_code: r.get(6)?,
            b_code: r.get(7)?,
            codec: r.get(8)?,
            a_to_b: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
            b_to_a: r.get::<_, Option<i64>>(10)?.unwrap_or(0),
            answered: r.get::<_, Option<i64>>(11)?.is_some(),
            mos: r.get(12)?,
            rtt_ms: r.get(13)?,
            a_to_b_far_lost: r.get(14)?,
            b_to_a_far_lost: r.get(15)?,
            queue: r.get(16)?,
            agent: r.get(17)?,
        })
    })
    .map(|rows| rows.filter_map(Result::ok).collect())
    .unwrap_or_default()
}

/// Wait for the first finished CDR in the daemon's store.
pub fn finished_cdr(daemon: &Daemon) -> CdrRow {
    let db = daemon.dir.join("switchboard.db");
    let mut rows = Vec::new();
    assert!(
        poll_until(Duration::from_secs(10), || {
            rows = cdrs(&db);
            rows.iter().any(|r| r.end_cause.is_some())
        }),
        "no finished CDR: {rows:?}\n{}",
        daemon.log_text()
    );
    // Invariant: the poll above only succeeds when such a row exists.
    rows.into_iter().find(|r| r.end_cause.is_some()).unwrap()
}
