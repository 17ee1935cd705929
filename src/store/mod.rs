//! The embedded store: SQLite (WAL, synchronous=FULL) written by one thread that batches
//! operations into transactions and acknowledges each one only after its commit. Callers
//! answer the network after the acknowledgement: write-through.

mod acd_events;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::call::cdr::{Cdr, MediaQuality};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store writer has stopped")]
    Closed,
    #[error("no store at {0} (has the daemon run with this config?)")]
    Missing(PathBuf),
    #[error("stored ACD event {seq} is unreadable: {source}")]
    Json { seq: i64, source: serde_json::Error },
}

/// A registration binding as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBinding {
    pub aor: String,
    pub contact: String,
    pub instance: Option<String>,
    pub call_id: String,
    pub cseq: u32,
    pub expires_unix_ms: i64,
    pub transport: String,
    pub source_addr: String,
    pub user_agent: Option<String>,
}

pub type Ack = oneshot::Receiver<Result<(), StoreError>>;

pub(crate) enum Op {
    UpsertBinding(StoredBinding),
    /// Insert or replace a whole CDR (open at start, complete at the end).
    PutCdr(Box<Cdr>),
    DeleteBinding {
        aor: String,
        contact: String,
    },
    DeleteAor(String),
    PutAgent(AgentRow),
    PutCallback(CallbackRow),
    DeleteCallback(i64),
    PutCampaignState {
        campaign: String,
        state: String,
        at_ms: i64,
    },
    /// A campaign's runtime overrides as JSON; `None` deletes them.
    PutCampaignOverrides {
        campaign: String,
        json: Option<String>,
        at_ms: i64,
    },
    /// One ACD event, already serialized (on the caller's thread, so a bad event cannot
    /// fail a whole batch).
    PutAcdEvent {
        at_ms: u64,
        kind: String,
        json: String,
    },
    /// A disposition set after the CDR row exists (a later full PutCdr keeps it: its NULL
    /// disposition does not overwrite one already stored).
    SetDisposition {
        id: String,
        code: String,
        notes: Option<String>,
    },
    PutBlocked(BlockedRow),
    DeleteBlocked(String),
    Flush,
}

/// A blocked number as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedRow {
    pub number: String,
    pub reason: String,
    pub created_unix_ms: i64,
    /// None: never lapses.
    pub expires_unix_ms: Option<i64>,
}

/// A queued callback as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRow {
    pub call: i64,
    pub queue: String,
    pub priority: i64,
    pub enqueued_at_ms: i64,
    pub orig_position: i64,
    pub number: String,
    pub trunk: Option<String>,
}

/// An ACD agent's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    pub agent: String,
    pub state: String,
    pub reason: Option<String>,
    pub phone: Option<String>,
    pub updated_unix_ms: i64,
}

pub(crate) struct Job {
    op: Op,
    ack: oneshot::Sender<Result<(), StoreError>>,
}

pub struct Store {
    path: PathBuf,
    tx: Option<std_mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// One read-only connection kept for reads on the daemon's loop (the screen pop's
    /// history): opening and checking migrations per read would cost more than the query.
    reader: std::sync::Mutex<Option<rusqlite::Connection>>,
}

/// A connection of its own for a component that owns its tables and commits synchronously
/// (the dialer's lead book): same settings and migrations as the writer's.
pub fn open_connection(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    create_dir(path)?;
    Ok(schema::open(path)?)
}

/// Create the store's directory (mode 0700) if it is missing.
fn create_dir(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.into(),
                source,
            })?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
    }
    Ok(())
}

impl Store {
    /// Open (creating the directory with mode 0700 and the schema) and start the writer.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        create_dir(path)?;
        let conn = schema::open(path)?;
        let (tx, rx) = std_mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::run(conn, rx))
            .map_err(|source| StoreError::Dir {
                path: path.into(),
                source,
            })?;
        Ok(Store {
            path: path.to_path_buf(),
            tx: Some(tx),
            thread: Some(thread),
            reader: std::sync::Mutex::new(None),
        })
    }

    fn submit(&self, op: Op) -> Ack {
        let (ack, rx) = oneshot::channel();
        match &self.tx {
            Some(tx) => {
                if let Err(std_mpsc::SendError(job)) = tx.send(Job { op, ack }) {
                    let _ = job.ack.send(Err(StoreError::Closed));
                }
            }
            None => {
                let _ = ack.send(Err(StoreError::Closed));
            }
        }
        rx
    }

    /// Every binding, as committed (read through a separate connection).
    pub fn load_bindings(&self) -> Result<Vec<StoredBinding>, StoreError> {
        let conn = schema::open(&self.path)?;
        let mut stmt = conn.prepare(
            "SELECT aor, contact, instance, call_id, cseq, expires_unix_ms, transport, source_addr, user_agent FROM bindings ORDER BY aor, contact",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredBinding {
                aor: r.get(0)?,
                contact: r.get(1)?,
                instance: r.get(2)?,
                call_id: r.get(3)?,
                cseq: r.get(4)?,
                expires_unix_ms: r.get(5)?,
                transport: r.get(6)?,
                source_addr: r.get(7)?,
                user_agent: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn upsert_binding(&self, b: StoredBinding) -> Ack {
        self.submit(Op::UpsertBinding(b))
    }

    pub fn delete_binding(&self, aor: &str, contact: &str) -> Ack {
        self.submit(Op::DeleteBinding {
            aor: aor.into(),
            contact: contact.into(),
        })
    }

    pub fn delete_aor(&self, aor: &str) -> Ack {
        self.submit(Op::DeleteAor(aor.into()))
    }

    pub fn put_agent(&self, row: AgentRow) -> Ack {
        self.submit(Op::PutAgent(row))
    }

    /// A campaign's run state (running | paused | stopped), as set over the API.
    pub fn put_campaign_state(&self, campaign: &str, state: &str, at_ms: i64) -> Ack {
        self.submit(Op::PutCampaignState {
            campaign: campaign.into(),
            state: state.into(),
            at_ms,
        })
    }

    /// Every stored campaign run state: (campaign, state).
    pub fn load_campaign_states(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.load_pairs("SELECT campaign, state FROM campaign_state ORDER BY campaign")
    }

    /// Rows of two text columns.
    fn load_pairs(&self, sql: &str) -> Result<Vec<(String, String)>, StoreError> {
        let conn = schema::open(&self.path)?;
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// A campaign's runtime overrides (UpdateCampaign) as JSON; `None`: cleared.
    pub fn put_campaign_overrides(&self, campaign: &str, json: Option<String>, at_ms: i64) -> Ack {
        self.submit(Op::PutCampaignOverrides {
            campaign: campaign.into(),
            json,
            at_ms,
        })
    }

    /// Every stored campaign override: (campaign, JSON).
    pub fn load_campaign_overrides(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.load_pairs("SELECT campaign, json FROM campaign_overrides ORDER BY campaign")
    }

    pub fn put_callback(&self, row: CallbackRow) -> Ack {
        self.submit(Op::PutCallback(row))
    }

    pub fn delete_callback(&self, call: i64) -> Ack {
        self.submit(Op::DeleteCallback(call))
    }

    pub fn load_callbacks(&self) -> Result<Vec<CallbackRow>, StoreError> {
        let conn = schema::open(&self.path)?;
        let mut stmt = conn.prepare(
            "SELECT call, queue, priority, enqueued_at_ms, orig_position, number, trunk
             FROM acd_callbacks ORDER BY enqueued_at_ms",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CallbackRow {
                call: r.get(0)?,
                queue: r.get(1)?,
                priority: r.get(2)?,
                enqueued_at_ms: r.get(3)?,
                orig_position: r.get(4)?,
                number: r.get(5)?,
                trunk: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn load_agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        let conn = schema::open(&self.path)?;
        let mut stmt = conn.prepare(
            "SELECT agent, state, reason, phone, updated_unix_ms FROM acd_agents ORDER BY agent",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AgentRow {
                agent: r.get(0)?,
                state: r.get(1)?,
                reason: r.get(2)?,
                phone: r.get(3)?,
                updated_unix_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Record a call's disposition in its CDR row (by call id).
    pub fn set_disposition(&self, id: &str, code: &str, notes: Option<&str>) -> Ack {
        self.submit(Op::SetDisposition {
            id: id.into(),
            code: code.into(),
            notes: notes.map(str::to_string),
        })
    }

    pub fn put_blocked(&self, row: BlockedRow) -> Ack {
        self.submit(Op::PutBlocked(row))
    }

    pub fn delete_blocked(&self, number: &str) -> Ack {
        self.submit(Op::DeleteBlocked(number.into()))
    }

    /// Every stored block (lapsed ones included: the endpoint drops them).
    pub fn load_blocked(&self) -> Result<Vec<BlockedRow>, StoreError> {
        let conn = schema::open(&self.path)?;
        let mut stmt = conn.prepare(
            "SELECT number, reason, created_unix_ms, expires_unix_ms FROM blocked_numbers ORDER BY number",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(BlockedRow {
                number: r.get(0)?,
                reason: r.get(1)?,
                created_unix_ms: r.get(2)?,
                expires_unix_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn put_cdr(&self, cdr: Cdr) -> Ack {
        self.submit(Op::PutCdr(Box::new(cdr)))
    }

    /// Close every CDR left open by a crash: end cause `system-restart`, ended at the
    /// restart (the best bound we have). Returns how many were closed.
    pub fn close_orphan_cdrs(&self, now_unix_ms: i64) -> Result<usize, StoreError> {
        let conn = schema::open(&self.path)?;
        let n = conn.execute(
            "UPDATE cdrs SET end_unix_ms = ?1, end_cause = 'system-restart', hangup_side = 'system'
             WHERE end_unix_ms IS NULL",
            rusqlite::params![now_unix_ms],
        )?;
        Ok(n)
    }

    /// A caller's finished calls, newest first (the screen pop's contact history). Uses the
    /// (caller, start) index; reads through a separate connection.
    pub fn caller_history(&self, caller: &str, limit: usize) -> Result<Vec<Cdr>, StoreError> {
        // The loop is this lock's only user: it is never contended.
        let mut guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(schema::open_read_only(&self.path)?);
        }
        let conn = guard.as_ref().expect("set just above");
        let mut stmt = conn.prepare_cached(
            "SELECT start_unix_ms, queue, agent, end_cause, disposition FROM cdrs
             WHERE caller = ?1 AND end_unix_ms IS NOT NULL
             ORDER BY start_unix_ms DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![caller, limit as i64], |r| {
            Ok(Cdr {
                caller: caller.to_string(),
                start_unix_ms: r.get(0)?,
                queue: r.get(1)?,
                agent: r.get(2)?,
                end_cause: r.get(3)?,
                disposition: r.get(4)?,
                ..Default::default()
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The most recent CDRs, newest first.
    pub fn recent_cdrs(&self, limit: usize) -> Result<Vec<Cdr>, StoreError> {
        let conn = schema::open(&self.path)?;
        let mut stmt = conn.prepare(
            "SELECT id, a_call_id, b_call_id, direction, caller, callee, trunk, start_unix_ms,
                    answer_unix_ms, end_unix_ms, end_cause, hangup_side, a_sip_code, b_sip_code, codec,
                    a_to_b_packets, a_to_b_lost, a_to_b_jitter_ms, b_to_a_packets, b_to_a_lost,
                    b_to_a_jitter_ms, mos, queue, agent, recording, disposition, a_to_b_far_lost,
                    a_to_b_far_jitter_ms, b_to_a_far_lost, b_to_a_far_jitter_ms, rtt_ms,
                    recording_status, recording_ms, transferred_to, disposition_notes
             FROM cdrs ORDER BY start_unix_ms DESC, rowid DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Cdr {
                id: r.get(0)?,
                a_call_id: r.get(1)?,
                b_call_id: r.get(2)?,
                direction: r.get(3)?,
                caller: r.get(4)?,
                callee: r.get(5)?,
                trunk: r.get(6)?,
                start_unix_ms: r.get(7)?,
                answer_unix_ms: r.get(8)?,
                end_unix_ms: r.get(9)?,
                end_cause: r.get(10)?,
                hangup_side: r.get(11)?,
                a_sip_code: r.get(12)?,
                b_sip_code: r.get(13)?,
                codec: r.get(14)?,
                a_to_b: MediaQuality {
                    packets: r.get::<_, Option<i64>>(15)?.unwrap_or(0) as u64,
                    lost: r.get::<_, Option<i64>>(16)?.unwrap_or(0) as u64,
                    jitter_ms: r.get::<_, Option<f64>>(17)?.unwrap_or(0.0),
                    far_lost: r.get(26)?,
                    far_jitter_ms: r.get(27)?,
                },
                b_to_a: MediaQuality {
                    packets: r.get::<_, Option<i64>>(18)?.unwrap_or(0) as u64,
                    lost: r.get::<_, Option<i64>>(19)?.unwrap_or(0) as u64,
                    jitter_ms: r.get::<_, Option<f64>>(20)?.unwrap_or(0.0),
                    far_lost: r.get(28)?,
                    far_jitter_ms: r.get(29)?,
                },
                mos: r.get(21)?,
                queue: r.get(22)?,
                agent: r.get(23)?,
                recording: r.get(24)?,
                disposition: r.get(25)?,
                rtt_ms: r.get(30)?,
                recording_status: r.get(31)?,
                recording_ms: r.get(32)?,
                transferred_to: r.get(33)?,
                disposition_notes: r.get(34)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Acknowledged once everything submitted before it is committed.
    pub fn barrier(&self) -> Ack {
        self.submit(Op::Flush)
    }

    /// Resolves once everything submitted before it is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.barrier().await.map_err(|_| StoreError::Closed)?
    }

    /// Stop the writer after it drains what is queued.
    pub fn close(mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;
