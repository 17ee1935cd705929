//! The daemon's side of the ACD: building the engine with the wall clock, restoring agents
//! from the store, and writing the Asterisk-format queue_log.

use std::io::Write;
use std::path::Path;
use std::time::{Instant, SystemTime};

use crate::acd::{self, AcdEvent, Directory, Engine};
use crate::config::Config;
use crate::sip::endpoint::acd::AgentRecord;
use crate::sip::endpoint::calls::CallbackEntry;
use crate::sip::endpoint::Endpoint;
use crate::store::{AgentRow, CallbackRow, Store, StoreError};

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Build the engine, hand it to the endpoint, and bring stored agents back.
pub fn start(
    endpoint: &mut Endpoint,
    cfg: &Config,
    store: &Store,
) -> Result<Directory, StoreError> {
    let now = Instant::now();
    // Invariant: config validation built this very engine config once already.
    let engine = match Engine::new(&cfg.acd.engine, now, unix_ms(SystemTime::now())) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "ACD config refused; queues are off");
            return Ok(Directory::default());
        }
    };
    let dir = engine.directory();
    endpoint.set_acd(engine);
    let rows = store.load_agents()?;
    let n = rows.len();
    for r in rows {
        endpoint.restore_agent(
            now,
            &AgentRecord {
                agent: r.agent,
                state: r.state,
                reason: r.reason,
                phone: r.phone,
            },
        );
    }
    if n > 0 {
        tracing::info!(agents = n, "agent states restored from the store");
    }
    let callbacks = store.load_callbacks()?;
    let n = callbacks.len();
    for r in callbacks {
        endpoint.restore_callback(
            now,
            CallbackEntry {
                record: acd::CallbackRecord {
                    call: acd::CallId(r.call as u64),
                    queue: r.queue,
                    priority: r.priority.clamp(0, 255) as u8,
                    enqueued_at_ms: r.enqueued_at_ms.max(0) as u64,
                    orig_position: r.orig_position.max(0) as u32,
                },
                number: r.number,
                trunk: r.trunk,
            },
        );
    }
    if n > 0 {
        tracing::info!(callbacks = n, "queued callbacks restored from the store");
    }
    Ok(dir)
}

/// Write a queued callback through to the store.
pub fn persist_callback(store: &Store, e: CallbackEntry) {
    drop(store.put_callback(CallbackRow {
        call: e.record.call.0 as i64,
        queue: e.record.queue,
        priority: i64::from(e.record.priority),
        enqueued_at_ms: e.record.enqueued_at_ms as i64,
        orig_position: i64::from(e.record.orig_position),
        number: e.number,
        trunk: e.trunk,
    }));
}

/// Write an agent's state through to the store.
pub fn persist_agent(store: &Store, rec: AgentRecord) {
    drop(store.put_agent(AgentRow {
        agent: rec.agent,
        state: rec.state,
        reason: rec.reason,
        phone: rec.phone,
        updated_unix_ms: unix_ms(SystemTime::now()) as i64,
    }));
}

/// The queue_log file (append-only, one line per event, Asterisk's format).
pub struct QueueLog {
    file: Option<std::io::BufWriter<std::fs::File>>,
    dir: Directory,
}

impl QueueLog {
    pub fn open(path: Option<&Path>, dir: Directory) -> QueueLog {
        let file = path.and_then(|p| {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                Ok(f) => Some(std::io::BufWriter::new(f)),
                Err(e) => {
                    tracing::error!(path = %p.display(), error = %e, "cannot open the queue_log");
                    None
                }
            }
        });
        QueueLog { file, dir }
    }

    pub fn event(&mut self, ev: &AcdEvent) {
        match &ev.kind {
            acd::EventKind::AgentState {
                agent,
                from,
                to,
                reason,
                ..
            } => {
                let id = self.dir.agents.get(agent.0 as usize).map(String::as_str);
                tracing::info!(agent = ?id, ?from, ?to, ?reason, "agent state");
            }
            kind => tracing::debug!(?kind, "acd event"),
        }
        let Some(f) = self.file.as_mut() else {
            return;
        };
        for line in acd::queue_log::lines(ev, &self.dir) {
            if let Err(e) = writeln!(f, "{line}") {
                tracing::error!(error = %e, "queue_log write failed");
            }
        }
    }

    /// Push buffered lines to the file (after each batch of endpoint output).
    pub fn flush(&mut self) {
        if let Some(f) = self.file.as_mut() {
            if let Err(e) = f.flush() {
                tracing::error!(error = %e, "queue_log write failed");
            }
        }
    }
}
