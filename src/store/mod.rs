//! The embedded store: SQLite (WAL, synchronous=FULL) written by one thread that batches
//! operations into transactions and acknowledges each one only after its commit. Callers
//! answer the network after the acknowledgement: write-through.

mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

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
    DeleteBinding { aor: String, contact: String },
    DeleteAor(String),
    Flush,
}

pub(crate) struct Job {
    op: Op,
    ack: oneshot::Sender<Result<(), StoreError>>,
}

pub struct Store {
    path: PathBuf,
    tx: Option<std_mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Open (creating the directory with mode 0700 and the schema) and start the writer.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
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

    /// Resolves once everything submitted before it is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.submit(Op::Flush)
            .await
            .map_err(|_| StoreError::Closed)?
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
