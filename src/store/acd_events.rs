//! ACD events as JSON rows: appended by the daemon, read back in emission order by `report`
//! (KPIs are exact folds over events).

use std::path::Path;

use rusqlite::{params, Connection};

use super::{schema, Ack, Op, Store, StoreError};
use crate::acd::AcdEvent;

impl Store {
    /// Append one event (batched with whatever else the writer has queued).
    pub fn put_acd_event(&self, ev: &AcdEvent) -> Ack {
        match encode(ev) {
            Ok((kind, json)) => self.submit(Op::PutAcdEvent {
                at_ms: ev.at_ms,
                kind,
                json,
            }),
            Err(e) => {
                let (ack, rx) = tokio::sync::oneshot::channel();
                let _ = ack.send(Err(e));
                rx
            }
        }
    }

    /// Every committed event with `at_ms >= since_ms`, in the order they were stored.
    pub fn load_acd_events(&self, since_ms: u64) -> Result<Vec<AcdEvent>, StoreError> {
        query(&schema::open(&self.path)?, since_ms)
    }

    /// Like `load_acd_events`, without opening a writer: read-only, never creates or
    /// migrates the file, safe beside the running daemon. A store from before the
    /// `acd_events` migration has no events yet.
    pub fn read_acd_events(path: &Path, since_ms: u64) -> Result<Vec<AcdEvent>, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let conn = schema::open_read_only(path)?;
        let has_table: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'acd_events')",
            [],
            |r| r.get(0),
        )?;
        if !has_table {
            return Ok(Vec::new());
        }
        query(&conn, since_ms)
    }
}

/// The variant name (the `kind` column) and the whole event as JSON.
fn encode(ev: &AcdEvent) -> Result<(String, String), StoreError> {
    let json = serde_json::to_value(ev).map_err(|source| StoreError::Json { seq: 0, source })?;
    // Externally tagged enum: `kind` is `{ "Variant": { .. } }`.
    let kind = json
        .get("kind")
        .and_then(|k| k.as_object())
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_default();
    Ok((kind, json.to_string()))
}

fn query(conn: &Connection, since_ms: u64) -> Result<Vec<AcdEvent>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT seq, json FROM acd_events WHERE at_ms >= ?1 ORDER BY seq")?;
    let rows = stmt.query_map(params![since_ms as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, json) = row?;
        out.push(serde_json::from_str(&json).map_err(|source| StoreError::Json { seq, source })?);
    }
    Ok(out)
}
