//! Connection settings and migrations (PRAGMA user_version).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS bindings (
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
    )",
    // One row per call: inserted open when the call starts (the journal), completed when it
    // ends. Rows still open at start-up are closed as `system-restart`.
    "CREATE TABLE IF NOT EXISTS cdrs (
        id TEXT PRIMARY KEY,
        a_call_id TEXT NOT NULL,
        b_call_id TEXT,
        direction TEXT NOT NULL,
        caller TEXT NOT NULL,
        callee TEXT NOT NULL,
        trunk TEXT,
        start_unix_ms INTEGER NOT NULL,
        answer_unix_ms INTEGER,
        end_unix_ms INTEGER,
        end_cause TEXT,
        hangup_side TEXT,
        a_sip_code INTEGER,
        b_sip_code INTEGER,
        codec TEXT,
        a_to_b_packets INTEGER,
        a_to_b_lost INTEGER,
        a_to_b_jitter_ms REAL,
        b_to_a_packets INTEGER,
        b_to_a_lost INTEGER,
        b_to_a_jitter_ms REAL,
        mos REAL,
        queue TEXT,
        agent TEXT,
        recording TEXT,
        disposition TEXT
    );
    CREATE INDEX IF NOT EXISTS cdrs_open ON cdrs(end_unix_ms) WHERE end_unix_ms IS NULL;
    CREATE INDEX IF NOT EXISTS cdrs_caller ON cdrs(caller, start_unix_ms);",
    // RTCP reports from each receiving side, and the round trip.
    "ALTER TABLE cdrs ADD COLUMN a_to_b_far_lost INTEGER;
    ALTER TABLE cdrs ADD COLUMN a_to_b_far_jitter_ms REAL;
    ALTER TABLE cdrs ADD COLUMN b_to_a_far_lost INTEGER;
    ALTER TABLE cdrs ADD COLUMN b_to_a_far_jitter_ms REAL;
    ALTER TABLE cdrs ADD COLUMN rtt_ms REAL;",
    // ACD agents as they last were: restored at start so a crash logs nobody out.
    "CREATE TABLE IF NOT EXISTS acd_agents (
        agent TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        reason TEXT,
        phone TEXT,
        updated_unix_ms INTEGER NOT NULL
    );",
    // Queued callbacks waiting for their turn: restored at start with their place in line.
    "CREATE TABLE IF NOT EXISTS acd_callbacks (
        call INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL,
        enqueued_at_ms INTEGER NOT NULL,
        orig_position INTEGER NOT NULL,
        number TEXT NOT NULL,
        trunk TEXT
    );",
    // Every ACD event, in the order the engine emitted it: `report` folds them into KPIs
    // (exact, and surviving restarts). `kind` is the variant name, for ad-hoc SQL.
    "CREATE TABLE IF NOT EXISTS acd_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        json TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS acd_events_at ON acd_events(at_ms);",
    // Recording outcome beside its path (`recording`): ok | failed: reason | skipped-limit
    // | none, and its length.
    "ALTER TABLE cdrs ADD COLUMN recording_status TEXT;
    ALTER TABLE cdrs ADD COLUMN recording_ms INTEGER;",
    // Outbound campaigns started, paused or stopped over the API: restored at start, so a
    // crash neither stops a running campaign nor restarts a paused one.
    "CREATE TABLE IF NOT EXISTS campaign_state (
        campaign TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_unix_ms INTEGER NOT NULL
    );",
    // The dialer's lead book (src/dialer/leads/), owned by `LeadBook` through its own
    // connection (its commits are synchronous: `next_lead` returns only once the attempt is
    // on disk). `number` is E.164 (the raw text for `invalid` leads); `tz` is an IANA name or
    // '' for the campaign's default; `fields` the custom CSV columns as a JSON object;
    // `state` new | dialing | retry | callback | done | dnc | invalid. Times are Unix ms.
    "CREATE TABLE IF NOT EXISTS leads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        campaign TEXT NOT NULL,
        number TEXT NOT NULL,
        name TEXT,
        tz TEXT NOT NULL DEFAULT '',
        fields TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL,
        next_at_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_outcome TEXT,
        final_disposition TEXT,
        callback_agent TEXT,
        invalid_reason TEXT,
        imported_at_ms INTEGER NOT NULL,
        UNIQUE (campaign, number)
    );
    -- Selection: one index seek per (state, zone) whose window is open.
    CREATE INDEX IF NOT EXISTS leads_due ON leads(campaign, state, tz, next_at_ms, id);
    -- The zones a campaign's leads are in, so selection never scans leads to find them.
    CREATE TABLE IF NOT EXISTS lead_zones (
        campaign TEXT NOT NULL,
        tz TEXT NOT NULL,
        PRIMARY KEY (campaign, tz)
    );
    -- One row per attempt; `result` NULL while dialing (closed as `interrupted` at start-up
    -- after a crash). `prev_state` is where the lead goes back to when the attempt did not
    -- count (skipped, not-dialed).
    CREATE TABLE IF NOT EXISTS lead_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        lead INTEGER NOT NULL REFERENCES leads(id),
        campaign TEXT NOT NULL,
        attempt_no INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        ended_ms INTEGER,
        result TEXT,
        detail TEXT,
        agent TEXT,
        disposition TEXT,
        prev_state TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS lead_attempts_open ON lead_attempts(result) WHERE result IS NULL;
    CREATE INDEX IF NOT EXISTS lead_attempts_campaign ON lead_attempts(campaign, started_ms);
    CREATE INDEX IF NOT EXISTS lead_attempts_lead ON lead_attempts(lead);
    -- Do-not-call numbers (E.164): `campaign` NULL for the global list.
    CREATE TABLE IF NOT EXISTS dnc (
        number TEXT NOT NULL,
        campaign TEXT,
        added_ms INTEGER NOT NULL,
        reason TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS dnc_key ON dnc(number, ifnull(campaign, ''));",
    // Blind transfers: the targets, comma-separated in order (the call keeps one CDR).
    "ALTER TABLE cdrs ADD COLUMN transferred_to TEXT;",
    // Numbers blocked through the API (BlockNumber): refused on every INVITE until they
    // lapse (`expires_unix_ms`, NULL: never) or are unblocked.
    "CREATE TABLE IF NOT EXISTS blocked_numbers (
        number TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        created_unix_ms INTEGER NOT NULL,
        expires_unix_ms INTEGER
    );",
    // The agent's free text beside the call's disposition code.
    "ALTER TABLE cdrs ADD COLUMN disposition_notes TEXT;",
    // Campaign settings changed over the API (UpdateCampaign) as a JSON object of the
    // fields set: re-applied over [[campaigns]] at start until cleared.
    "CREATE TABLE IF NOT EXISTS campaign_overrides (
        campaign TEXT PRIMARY KEY,
        json TEXT NOT NULL,
        updated_unix_ms INTEGER NOT NULL
    );",
];

/// A read-only connection for tools (`report`) that must neither create the file nor migrate
/// it, and may run beside the daemon (WAL lets readers and the one writer proceed together).
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

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
