//! Connection settings and migrations (PRAGMA user_version).

use std::path::Path;

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS bindings (
        aor TEXT NOT NULL,
        contact TEXT NOT NULL,
        instance TEXT,
        call_id TEXT NOT NULL,
        cseq INTEGER NOT NULL,
        expires_unix_ms INTEGER NOT NULL,
        transport TEXT NOT NULL,
        source_addr TEXT NOT NULL,
        user_agent TEXT,
        PRIMARY KEY (aor, contact)
    )"];

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        conn.execute_batch(sql)?;
        conn.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    Ok(conn)
}
