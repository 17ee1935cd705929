//! Call recording to WAV (hound): stereo 8 kHz 16-bit (caller left, callee right) or a mono
//! mix. The relay only batches payloads (`batch::Tap`); writer threads (`writer`) decode,
//! place them on the wall-clock timeline (`timeline`), write and refresh headers; `repair`
//! fixes files cut by a crash at start; `policy` and `name` are the config's decisions.

pub mod batch;
pub mod name;
pub mod policy;
pub mod repair;
pub mod timeline;
pub mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

pub use batch::Tap;
pub use name::NameFields;
pub use policy::Policy;
pub use timeline::Layout;

/// `[recording]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingConfig {
    pub dir: PathBuf,
    pub layout: Layout,
    pub file_name: String,
    pub max_concurrent: usize,
    pub policy: Policy,
    pub writer_threads: usize,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            dir: PathBuf::from("recordings"),
            layout: Layout::Stereo,
            file_name: "{date}/{time}_{call_id}_{caller}_{callee}".into(),
            max_concurrent: 1000,
            policy: Policy::Never,
            writer_threads: 2,
        }
    }
}

/// How a recording ended, for the CDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok,
    Failed(String),
    SkippedLimit,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Ok => f.write_str("ok"),
            Status::Failed(why) => write!(f, "failed: {why}"),
            Status::SkippedLimit => f.write_str("skipped-limit"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub path: Option<String>,
    pub ms: Option<i64>,
    pub status: Status,
}

/// What the relay hands back at the end of the call.
#[derive(Debug)]
pub enum RecordingEnd {
    Ready(Outcome),
    /// The writer reports once the file is closed.
    Pending(tokio::sync::oneshot::Receiver<Outcome>),
}

/// Per writer thread: about 1 s of batches for 1,000 recordings shared by two threads.
const QUEUE: usize = 1024;

/// The writer pool and the limit on open recordings.
pub struct Recorder {
    cfg: RecordingConfig,
    senders: Vec<SyncSender<batch::Job>>,
    active: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Create the directory (0700), repair what a crash left, and start the writers.
    pub fn start(cfg: RecordingConfig) -> std::io::Result<Recorder> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&cfg.dir)?;
        // An existing directory keeps its mode from DirBuilder: tighten it.
        std::fs::set_permissions(&cfg.dir, std::fs::Permissions::from_mode(0o700))?;
        let r = repair::repair_dir(&cfg.dir);
        tracing::info!(dir = %cfg.dir.display(), checked = r.checked, repaired = r.repaired, failed = r.failed, "recordings checked");
        let active = Arc::new(AtomicUsize::new(0));
        let mut senders = Vec::new();
        for i in 0..cfg.writer_threads.max(1) {
            let (tx, rx) = sync_channel(QUEUE);
            let dir = cfg.dir.clone();
            let a = active.clone();
            std::thread::Builder::new()
                .name(format!("rec-writer-{i}"))
                .spawn(move || writer::run(dir, rx, a))?;
            senders.push(tx);
        }
        Ok(Recorder {
            cfg,
            senders,
            active,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn config(&self) -> &RecordingConfig {
        &self.cfg
    }

    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Batches dropped because a writer's queue was full (each one a silent hole).
    pub fn dropped_batches(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Start recording call `id` from `start`: the relay's tap and the pending outcome, or
    /// an outcome at once when the limit is reached or the writers are gone.
    pub fn begin(
        &self,
        id: u64,
        start: Instant,
        fields: &NameFields,
    ) -> Result<(Tap, RecordingEnd), Outcome> {
        let n = self.active.fetch_add(1, Ordering::Relaxed);
        if n >= self.cfg.max_concurrent {
            self.active.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(call = %fields.call_id, limit = self.cfg.max_concurrent, "recording skipped: concurrent recording limit reached");
            return Err(Outcome {
                path: None,
                ms: None,
                status: Status::SkippedLimit,
            });
        }
        let rel = name::render(&self.cfg.file_name, fields);
        // Invariant: `start` made at least one sender (writer_threads.max(1)).
        let tx = &self.senders[(id as usize) % self.senders.len()];
        let (done, rx) = tokio::sync::oneshot::channel();
        let job = batch::Job::Open {
            id,
            rel: rel.clone(),
            layout: self.cfg.layout,
            done,
        };
        let failed = |why: &str| {
            self.active.fetch_sub(1, Ordering::Relaxed);
            tracing::error!(call = %fields.call_id, error = why, "recording failed");
            Outcome {
                path: None,
                ms: None,
                status: Status::Failed(why.to_string()),
            }
        };
        match tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(failed("recording writers overloaded")),
            Err(TrySendError::Disconnected(_)) => return Err(failed("recording writers stopped")),
        }
        let tap = Tap::new(id, start, tx.clone(), self.dropped.clone());
        Ok((tap, RecordingEnd::Pending(rx)))
    }
}
