//! TCP: the accept loop admits a connection unless its source is banned, every slot of the
//! global cap is taken, or its source is at its own cap; refused connections are reset at
//! once. Accept errors (out of descriptors) back off instead of spinning. Refusals and
//! errors are logged at most once per period per kind, with the count of the rest.
//! Each admitted connection gets a task (`conn`).

mod conn;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::backoff::{self, AcceptBackoff};
use super::bans::SharedBans;
use super::throttle::{LogThrottle, LOG_PERIOD};
use super::{NetEvent, TcpLimits};
use crate::sip::{Peer, TransportKind};

/// TCP connection ids start high so they never collide with UDP socket ids in `Peer::conn`.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1 << 32);

/// What every TCP listener and connection shares.
#[derive(Clone)]
pub struct TcpShared {
    pub conns: Arc<DashMap<u64, mpsc::Sender<Bytes>>>,
    pub per_ip: Arc<DashMap<IpAddr, usize>>,
    /// One permit per open connection, across all listeners: the global cap.
    pub slots: Arc<Semaphore>,
    pub bans: SharedBans,
    /// Connections cut for a message that came too slowly: one line per period for all.
    pub slow_log: Arc<Mutex<LogThrottle>>,
    pub inbound: mpsc::Sender<NetEvent>,
}

impl TcpShared {
    pub fn new(limits: &TcpLimits, bans: SharedBans, inbound: mpsc::Sender<NetEvent>) -> Self {
        TcpShared {
            conns: Arc::new(DashMap::new()),
            per_ip: Arc::new(DashMap::new()),
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            bans,
            slow_log: Arc::new(Mutex::new(LogThrottle::new(LOG_PERIOD))),
            inbound,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Refusal {
    Banned,
    AllSlotsTaken,
    SourceAtCap,
}

/// A connection's place: a global slot and one count against its source. Dropping it
/// frees both.
struct Admission {
    _slot: OwnedSemaphorePermit,
    per_ip: Arc<DashMap<IpAddr, usize>>,
    ip: IpAddr,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(mut n) = self.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
        }
        self.per_ip.remove_if(&self.ip, |_, n| *n == 0);
    }
}

fn admit(
    limits: &TcpLimits,
    shared: &TcpShared,
    now: Instant,
    ip: IpAddr,
) -> Result<Admission, Refusal> {
    if shared.bans.is_banned(now, ip) {
        return Err(Refusal::Banned);
    }
    let slot = shared
        .slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refusal::AllSlotsTaken)?;
    let mut n = shared.per_ip.entry(ip).or_insert(0);
    if *n >= limits.max_connections_per_ip {
        return Err(Refusal::SourceAtCap);
    }
    *n += 1;
    Ok(Admission {
        _slot: slot,
        per_ip: shared.per_ip.clone(),
        ip,
    })
}

/// One throttle per kind of line, so a flood of one kind cannot hide another.
struct AcceptLogs {
    error: LogThrottle,
    banned: LogThrottle,
    all_slots: LogThrottle,
    source_cap: LogThrottle,
}

impl AcceptLogs {
    fn new() -> Self {
        AcceptLogs {
            error: LogThrottle::new(LOG_PERIOD),
            banned: LogThrottle::new(LOG_PERIOD),
            all_slots: LogThrottle::new(LOG_PERIOD),
            source_cap: LogThrottle::new(LOG_PERIOD),
        }
    }

    /// `source` is the refusal that made the line; `suppressed` counts the others (from any
    /// source) since the last line of the kind.
    fn refused(&mut self, now: Instant, why: Refusal, source: IpAddr, limits: &TcpLimits) {
        match why {
            Refusal::Banned => {
                if let Some(suppressed) = self.banned.handle(now) {
                    tracing::warn!(security = true, %source, suppressed, "security: banned source; tcp connection refused");
                }
            }
            Refusal::AllSlotsTaken => {
                if let Some(suppressed) = self.all_slots.handle(now) {
                    tracing::warn!(security = true, %source, limit = limits.max_connections, suppressed, "security: global tcp connection limit reached; refusing");
                }
            }
            Refusal::SourceAtCap => {
                if let Some(suppressed) = self.source_cap.handle(now) {
                    tracing::warn!(security = true, %source, limit = limits.max_connections_per_ip, suppressed, "security: tcp connection cap reached; refusing");
                }
            }
        }
    }
}

pub async fn accept_loop(listener: TcpListener, limits: TcpLimits, shared: TcpShared) {
    let mut backoff = AcceptBackoff::default();
    let mut logs = AcceptLogs::new();
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => {
                backoff.handle_success();
                x
            }
            Err(e) => {
                let pause = backoff.handle_error(backoff::classify(&e));
                if let Some(suppressed) = logs.error.handle(Instant::now()) {
                    tracing::warn!(error = %e, suppressed, pause_ms = pause.as_millis() as u64, "tcp accept failed");
                }
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                continue;
            }
        };
        let now = Instant::now();
        match admit(&limits, &shared, now, addr.ip()) {
            Ok(admission) => spawn_connection(stream, addr, admission, &limits, &shared),
            Err(why) => {
                // A reset rather than a FIN: no TIME_WAIT left behind per refused connection.
                let _ = stream.set_zero_linger();
                drop(stream);
                logs.refused(now, why, addr.ip(), &limits);
            }
        }
    }
}

fn spawn_connection(
    stream: TcpStream,
    addr: SocketAddr,
    admission: Admission,
    limits: &TcpLimits,
    shared: &TcpShared,
) {
    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(256);
    shared.conns.insert(id, tx);
    let peer = Peer {
        transport: TransportKind::Tcp,
        addr,
        conn: Some(id),
    };
    let (limits, shared) = (limits.clone(), shared.clone());
    tokio::spawn(async move {
        if let Err(e) = conn::serve(stream, peer, rx, &limits, &shared).await {
            tracing::debug!(peer = %addr, error = %e, "tcp connection ended");
        }
        shared.conns.remove(&id);
        drop(admission);
    });
}
