//! The sans-IO SIP endpoint: what switchboard does with every message, without sockets, files
//! or clocks. The daemon feeds it (`handle_*`) and carries out what it asks (`poll_output`).
//!
//! Pipeline: rate limit → parse (`sip::message`) → transactions → UAS checks (`sip::uas`) →
//! the method's handler (OPTIONS here, REGISTER in `register.rs`, the rest in `requests.rs`).
//! A REGISTER that changes bindings is answered only after the daemon reports the change
//! durable (`handle_store_done`): write-through, so an acknowledged registration survives a
//! crash.

pub mod acd;
pub mod calls;
mod digest;
mod register;
mod requests;
mod respond;
mod trunkreg;
pub mod views;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::call::dialog::LocalAddr;
use crate::config::{DialplanConfig, DigestAlgorithm, TrunkConfig};
use crate::sdp::CodecName;
use crate::sip::auth::{Authenticator, UserCredentials};
use crate::sip::message;
use crate::sip::ratelimit::{RateLimitConfig, RateLimiter, Verdict};
use crate::sip::registrar::{Binding, BindingChange, Registrar, RegistrarLimits};
use crate::sip::rsip;
use crate::sip::transaction::{TimerConfig, TransactionLayer, TxEvent, TxKey};
use crate::sip::Peer;

/// What the endpoint needs to know, taken from the validated config.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub domain: String,
    pub realm: String,
    pub user_agent: String,
    /// Answer UDP requests at their source port even without `;rport` (RFC 3581 behaviour
    /// for every client, like Asterisk's force_rport): phones behind NAT get their answers,
    /// and a forged Via cannot aim our responses at a third party.
    pub force_rport: bool,
    pub timers: TimerConfig,
    pub registrar: RegistrarLimits,
    pub rate_limit: RateLimitConfig,
    pub nonce_ttl: Duration,
    pub algorithms: Vec<DigestAlgorithm>,
    pub auth_secret: [u8; 32],
    pub users: HashMap<String, UserCredentials>,
    /// Route classes each user may dial.
    pub permissions: HashMap<String, Vec<String>>,
    pub display_names: HashMap<String, String>,
    pub dialplan: DialplanConfig,
    pub trunks: Vec<TrunkConfig>,
    pub max_calls: usize,
    pub ring_timeout: Duration,
    /// What a side put on hold through the API hears (a prompt name).
    pub hold_music: String,
    pub session_expires: Option<u32>,
    pub min_se: u32,
    pub codecs: Vec<CodecName>,
    pub telephone_event: bool,
    pub media_address: IpAddr,
    pub ptime_ms: u32,
    pub port_min: u16,
    pub port_max: u16,
    /// IVR menus and the extensions that reach them.
    pub ivr: crate::config::IvrConfig,
    /// Queues (their caller settings; the engine itself is handed over with `set_acd`).
    pub acd: crate::acd::AcdConfig,
    pub features: crate::config::FeatureCodes,
    /// Recording policies by level (see `recording::policy` for the precedence).
    pub recording: calls::RecordingPolicies,
    /// `[dispositions] codes`: the call results SetDisposition accepts.
    pub dispositions: Vec<crate::config::DispositionCode>,
}

/// Work for the driver.
#[derive(Debug)]
pub enum Output {
    /// Send these bytes.
    Transmit { dest: Peer, bytes: Bytes },
    /// Make these binding changes durable, then call `handle_store_done(id, ..)`.
    Persist {
        id: u64,
        changes: Vec<BindingChange>,
    },
    /// A security event to log (bans, refused authentications).
    Security(SecurityEvent),
    /// Start, steer or stop a call's media relay.
    Media(calls::MediaCommand),
    /// Something the ACD did (queue_log, KPIs, the event stream).
    Acd(crate::acd::AcdEvent),
    /// An agent's state to store (write-through; restored with `restore_agent`).
    AgentState(acd::AgentRecord),
    /// A queued callback to store (restored with `restore_callback`) ...
    Callback(calls::CallbackEntry),
    /// ... and to forget once its agent answered (by the ACD call number).
    CallbackDone(u64),
    /// Write a CDR (journal entry or final record).
    Cdr(calls::CdrWrite),
    /// A call event (logs now; the event bus later).
    Event(calls::CallEvent),
    /// A step of a campaign call (the dialer runtime and the event bus follow them).
    Dialer(calls::DialerEvent),
    /// A blocked number added or lifted: make it durable (restored with `restore_blocked`).
    Blocklist(calls::BlockChange),
    /// A call's recording started, paused, resumed or stopped (for the event stream).
    Recording(calls::RecordingNote),
    /// An agent set a call's result (SetDisposition). The driver stores it in the call's CDR
    /// row and publishes it; a dialer runtime consumes it too: `is_final` means the lead is
    /// done with, `callback` that it is to be dialled again (at `callback_at_unix_ms` when
    /// given), anything else is the dialer's own retry rule.
    Disposition(calls::DispositionSet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityEvent {
    Banned {
        ip: IpAddr,
        reason: String,
        /// When the ban ends (the driver refuses the source's TCP connections until then).
        until: Instant,
    },
    AuthFailed {
        ip: IpAddr,
        user: Option<String>,
        reason: String,
    },
    /// Too many failed logins of `user` from `ip`: that user is refused from there for the
    /// ban time; other users and traffic from `ip` go on.
    UserBanned { ip: IpAddr, user: String },
    /// An INVITE from a blocked number (BlockNumber) was refused.
    Blocked {
        ip: IpAddr,
        number: String,
        reason: String,
    },
}

/// A response waiting for its store write.
struct Parked {
    key: TxKey,
    response: rsip::Response,
}

pub struct Endpoint {
    cfg: EndpointConfig,
    txns: TransactionLayer,
    auth: Authenticator,
    registrar: Registrar,
    limiter: RateLimiter,
    rng: StdRng,
    parked: HashMap<u64, Parked>,
    next_persist: u64,
    out: VecDeque<Output>,
    calls: calls::CallTable,
    /// Where we are reachable (Via, Contact); set by the driver once sockets are bound.
    local: LocalAddr,
    trunk_regs: Vec<trunkreg::TrunkReg>,
    acd: acd::AcdState,
}

impl Endpoint {
    pub fn new(now: Instant, cfg: EndpointConfig, seed: u64) -> Endpoint {
        Endpoint {
            txns: TransactionLayer::new(cfg.timers),
            auth: Authenticator::new(
                now,
                &cfg.realm,
                cfg.auth_secret,
                cfg.nonce_ttl,
                cfg.algorithms.clone(),
                seed ^ 0x5eed,
            ),
            registrar: Registrar::new(cfg.registrar.clone()),
            limiter: RateLimiter::new(cfg.rate_limit.clone()),
            rng: StdRng::seed_from_u64(seed),
            parked: HashMap::new(),
            next_persist: 1,
            out: VecDeque::new(),
            calls: calls::CallTable::new(now, cfg.port_min, cfg.port_max),
            local: LocalAddr {
                udp: std::net::SocketAddr::from(([127, 0, 0, 1], 5060)),
                tcp: None,
            },
            trunk_regs: Vec::new(),
            acd: acd::AcdState::default(),
            cfg,
        }
    }

    /// The addresses our SIP sockets are bound to (for Via and Contact).
    pub fn set_local_addrs(&mut self, now: Instant, local: LocalAddr) {
        self.local = local;
        // Our own registrations to carriers start once we know our address.
        self.init_trunk_regs(now);
    }

    /// Bindings loaded from the store at start.
    pub fn restore(&mut self, now: Instant, bindings: Vec<Binding>) {
        self.registrar.restore(now, bindings);
    }

    /// Apply a reloaded config. Registrations, transactions and parked answers are kept.
    /// The domain and realm stay as started: bindings are keyed by the domain and outstanding
    /// nonces by the realm, so changing them live would fail every phone in flight. Returns
    /// false when the new config asked to change them (the driver says a restart is needed).
    pub fn reconfigure(&mut self, mut cfg: EndpointConfig) -> bool {
        let identity_kept = cfg.domain == self.cfg.domain && cfg.realm == self.cfg.realm;
        cfg.domain = self.cfg.domain.clone();
        cfg.realm = self.cfg.realm.clone();
        // The running engine was built from these queues (their ids index this list): a
        // changed ACD takes effect at the next start, like the listen addresses.
        cfg.acd = self.cfg.acd.clone();
        self.registrar.set_limits(cfg.registrar.clone());
        self.limiter.set_config(cfg.rate_limit.clone());
        self.auth.set_policy(cfg.nonce_ttl, cfg.algorithms.clone());
        self.cfg = cfg;
        identity_kept
    }

    /// Answers still waiting for a store write (graceful shutdown waits for them).
    pub fn has_parked(&self) -> bool {
        !self.parked.is_empty()
    }

    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// A datagram or framed stream message from `source`.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8], source: Peer) {
        match self.limiter.check(now, source.addr.ip()) {
            Verdict::Allow => {}
            Verdict::Banned => return,
            Verdict::NewBan(reason) => {
                self.out.push_back(Output::Security(SecurityEvent::Banned {
                    ip: source.addr.ip(),
                    reason: format!("{reason:?}"),
                    until: self
                        .limiter
                        .banned_until(now, source.addr.ip())
                        .unwrap_or(now),
                }));
                return;
            }
        }
        let parsed = match message::parse(bytes) {
            Ok(p) => p,
            Err(rejected) => {
                tracing::debug!(source = %source.addr, error = %rejected.error, "refused message");
                if let Some(ctx) = rejected.context {
                    let (code, reason) = rejected.error.status();
                    let tag = self.new_tag();
                    let extra = respond::extra_for_parse_error(&rejected.error, &self.cfg);
                    let bytes = message::response_from_raw(&ctx, code, reason, &extra, &tag);
                    let dest = respond::response_peer(&ctx.vias[0], source, self.cfg.force_rport);
                    self.out.push_back(Output::Transmit {
                        dest,
                        bytes: Bytes::from(bytes),
                    });
                }
                return;
            }
        };
        let result = match parsed.message {
            rsip::SipMessage::Request(mut req) => {
                let dest = respond::request_response_peer(&mut req, source, self.cfg.force_rport);
                self.txns.handle_request(now, req, dest)
            }
            rsip::SipMessage::Response(resp) => self.txns.handle_response(now, resp, source),
        };
        if let Err(e) = result {
            tracing::debug!(source = %source.addr, error = %e, "transaction layer refused message");
        }
        self.drain_transactions(now);
    }

    /// The store finished (or failed) the write `id`: release its parked answer.
    pub fn handle_store_done(&mut self, now: Instant, id: u64, ok: bool) {
        let Some(parked) = self.parked.remove(&id) else {
            return;
        };
        let response = if ok {
            parked.response
        } else {
            tracing::error!(persist_id = id, "binding write failed; answering 500");
            let mut r = parked.response;
            r.status_code = rsip::StatusCode::from(500);
            r.headers.retain(|h| !matches!(h, rsip::Header::Contact(_)));
            r
        };
        self.send_response(now, &parked.key, response);
        self.drain_transactions(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.txns.handle_timeout(now);
        self.registrar.handle_timeout(now);
        self.limiter.handle_timeout(now);
        self.auth.handle_timeout(now);
        self.calls_handle_timeout(now);
        self.trunk_regs_handle_timeout(now);
        self.acd_handle_timeout(now);
        let mut expired = Vec::new();
        while let Some(change) = self.registrar.poll_change() {
            expired.push(change);
        }
        if !expired.is_empty() {
            let id = self.next_id();
            self.out.push_back(Output::Persist {
                id,
                changes: expired,
            });
        }
        self.drain_transactions(now);
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// How SIP transactions ended so far (for the metrics).
    pub fn tx_stats(&self) -> crate::sip::transaction::TxStats {
        self.txns.stats()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.txns.poll_timeout(),
            self.registrar.poll_timeout(),
            self.limiter.poll_timeout(),
            self.auth.poll_timeout(),
            self.calls_poll_timeout(),
            self.trunk_regs_poll_timeout(),
            self.acd_poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(crate) fn drain_transactions(&mut self, now: Instant) {
        loop {
            while let Some(t) = self.txns.poll_transmit() {
                self.out.push_back(Output::Transmit {
                    dest: t.dest,
                    bytes: t.bytes,
                });
            }
            let Some(ev) = self.txns.poll_event() else {
                break;
            };
            match ev {
                TxEvent::Request {
                    key,
                    request,
                    source,
                } => self.handle_request(now, key, request, source),
                TxEvent::Ack { request, .. } => self.calls_handle_ack(now, &request),
                TxEvent::Response { key, response } => {
                    if !self.trunk_regs_handle_response(now, &key, &response) {
                        self.calls_handle_response(now, &key, response);
                    }
                }
                TxEvent::Timeout { key } => {
                    if !self.trunk_regs_handle_tx_timeout(now, &key) {
                        self.calls_handle_tx_timeout(now, &key);
                    }
                }
                TxEvent::Terminated { key } => {
                    // A client transaction that ended without a final response for us.
                    self.calls.forget_client(&key);
                }
            }
        }
    }

    fn send_response(&mut self, now: Instant, key: &TxKey, response: rsip::Response) {
        if let Err(e) = self.txns.send_response(now, key, response) {
            tracing::debug!(error = %e, "response not sent");
        }
    }

    fn new_tag(&mut self) -> String {
        format!("{:016x}", self.rng.random::<u64>())
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_persist;
        self.next_persist += 1;
        id
    }
}

#[cfg(test)]
mod tests;
