//! The daemon: the thin tokio driver around the sans-IO endpoint. It owns the sockets, the
//! clock, the store and the signals; the endpoint owns every SIP decision.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::api;
use crate::call::cdr::Cdr;
use crate::call::dialog::LocalAddr;
use crate::config::{self, Config};
use crate::media::driver::MediaDriver;
use crate::sip::endpoint::calls::{CallRef, CdrWrite, MediaEvent};
use crate::sip::endpoint::{Endpoint, EndpointConfig, Output, SecurityEvent};
use crate::sip::registrar::{Binding, BindingChange};
use crate::sip::transport::{
    Budget, BudgetError, NetEvent, SharedBans, StreamTimeouts, TcpLimits, Transports,
};
use crate::sip::{Peer, TransportKind};
use crate::store::{Store, StoredBinding};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("configuration:\n{0}")]
    Config(config::ConfigErrors),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    #[error("gRPC API ([api]): {0}")]
    Api(String),
    #[error("dialer ([[campaigns]]): {0}")]
    Dialer(#[from] crate::dialer::pacing::PacingError),
    #[error("lead book ([[campaigns]] without `numbers`): {0}")]
    Leads(#[from] crate::dialer::leads::LeadError),
    #[error("descriptor budget: {0}")]
    Descriptors(#[from] BudgetError),
}

/// Load the config, set up logging, and run until SIGTERM/SIGINT.
pub fn run(config_path: &Path, json_logs: bool) -> Result<(), DaemonError> {
    let cfg = config::load(config_path).map_err(DaemonError::Config)?;
    init_tracing(&cfg, json_logs);
    let open_files = raise_fd_limit();
    // A file size limit (RLIMIT_FSIZE) must fail the write (EFBIG: the recording is marked
    // failed), not kill the daemon with SIGXFSZ.
    // SAFETY: setting a signal's disposition to ignore has no memory effects.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(serve(config_path.to_path_buf(), cfg, open_files))
}

/// Every anchored call holds four UDP sockets (RTP and RTCP on each leg), so the usual soft
/// limit of 1,024 descriptors caps us near 250 calls. Raise the soft limit to the hard one,
/// as most servers do at start, and log what we got so a low ceiling is visible. Returns the
/// limit in force (None: unreadable).
fn raise_fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    if got != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot read the descriptor limit");
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let wanted = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
            lim = wanted;
        } else {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot raise the descriptor limit");
        }
    }
    tracing::info!(
        open_files = lim.rlim_cur,
        max_calls_by_fds = lim.rlim_cur / 4,
        "descriptor limit (four UDP sockets per anchored call)"
    );
    Some(lim.rlim_cur)
}

fn init_tracing(cfg: &Config, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.log.level));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests embedding the daemon) is harmless: keep the first subscriber.
    let _ = if json || cfg.log.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// What the driver's loop waits for besides the network.
enum Control {
    StoreDone {
        id: u64,
        ok: bool,
    },
    /// A finished call's CDR with its media figures: ready to store.
    CdrReady(Box<Cdr>),
}

/// Everything the main loop drives besides the endpoint.
struct Io<'a> {
    transports: &'a Transports,
    store: &'a Store,
    acks: &'a mpsc::UnboundedSender<PendingAcks>,
    media: &'a mut MediaDriver,
    ctl: &'a mpsc::Sender<Control>,
    /// CDRs waiting for their relay's figures.
    pending_cdrs: &'a mut usize,
    queue_log: &'a mut crate::acd_driver::QueueLog,
    /// The gRPC event bus (None: `[api]` is off).
    api: Option<&'a mut ApiBus>,
    metrics: &'a crate::metrics::Metrics,
    dialer: &'a mut crate::dialer::runtime::Runtime,
    /// The bans the TCP accept loop checks.
    bans: &'a SharedBans,
}

/// The event bus writer with the converter that names each event's call, queue and agent.
struct ApiBus {
    bus: api::Bus,
    convert: api::Converter,
}

async fn serve(
    config_path: PathBuf,
    cfg: Config,
    open_files: Option<u64>,
) -> Result<(), DaemonError> {
    let store = Store::open(&cfg.store.path)?;
    let now = Instant::now();
    let mut endpoint = Endpoint::new(now, cfg.endpoint_config(), rand::random());
    endpoint.set_campaigns(&cfg.campaigns);
    let mut dialer = crate::dialer::runtime::Runtime::from_config(&cfg)?;
    if let Some(mut book) =
        crate::dialer::runtime::book::open(&cfg.store.path, &cfg.campaigns, SystemTime::now())?
    {
        book.set_dispositions(&cfg.dispositions);
        let now = SystemTime::now();
        for (name, live, abandoned) in
            crate::dialer::runtime::book::abandon_seeds(&book, &cfg.campaigns, now)
        {
            tracing::info!(campaign = %name, live, abandoned, "pacing seeded with the last 30 days' abandons");
            dialer.seed_abandons(&name, live, abandoned);
        }
        let now = Instant::now();
        for (name, events) in
            crate::dialer::runtime::book::recent_seeds(&book, &cfg.campaigns, SystemTime::now())
        {
            let abandoned = events.iter().filter(|(_, a)| *a).count();
            tracing::info!(campaign = %name, answers = events.len(), abandoned, "pacing's day and rolling hour seeded with the last day's answers");
            dialer.seed_abandon_events(now, &name, &events);
        }
        let names = crate::dialer::runtime::book::book_campaigns(&cfg.campaigns);
        dialer.add_source(Box::new(book), &names);
    }
    let restored: Vec<Binding> = store
        .load_bindings()?
        .into_iter()
        .filter_map(|b| binding_from_store(b, now, SystemTime::now()))
        .collect();
    tracing::info!(
        bindings = restored.len(),
        "registrations restored from the store"
    );
    endpoint.restore(now, restored);
    endpoint.set_wall_clock(now, unix_ms(SystemTime::now()));
    set_kpi_day(&mut endpoint, &store);
    let blocked: Vec<_> = store
        .load_blocked()?
        .into_iter()
        .map(|b| crate::sip::endpoint::calls::BlockEntry {
            number: b.number,
            reason: b.reason,
            created_unix_ms: b.created_unix_ms,
            expires_unix_ms: b.expires_unix_ms,
        })
        .collect();
    tracing::info!(
        numbers = blocked.len(),
        "blocked numbers restored from the store"
    );
    endpoint.restore_blocked(now, blocked);
    let directory = crate::acd_driver::start(&mut endpoint, &cfg, &store)?;
    for (name, state) in store.load_campaign_states()? {
        match crate::dialer::runtime::RunState::parse(&state) {
            Some(s) => dialer.restore_state(&name, s),
            None => {
                tracing::warn!(campaign = %name, state, "unknown stored campaign state ignored")
            }
        }
    }
    apply_overrides(&mut endpoint, &mut dialer, &store)?;
    let mut queue_log = crate::acd_driver::QueueLog::open(cfg.acd.queue_log.as_deref(), directory);
    let orphans = store.close_orphan_cdrs(unix_ms(SystemTime::now()))?;
    if orphans > 0 {
        tracing::warn!(
            calls = orphans,
            "closed CDRs of calls cut by the last stop (end cause system-restart)"
        );
    }

    let (net_tx, mut net_rx) = mpsc::channel::<NetEvent>(4096);
    let (ctl_tx, mut ctl_rx) = mpsc::channel::<Control>(4096);
    let (acks_tx, acks_rx) = mpsc::unbounded_channel::<PendingAcks>();
    tokio::spawn(collect_acks(acks_rx, ctl_tx.clone()));
    // The rate limiter's bans, for the TCP accept loop (filled in `flush`).
    let bans = SharedBans::default();
    let mut transports = Transports::bind(
        &cfg.listen_addrs(),
        tcp_limits(&cfg, open_files)?,
        bans.clone(),
        net_tx,
    )
    .await
    .map_err(DaemonError::Listen)?;
    for (kind, addr) in transports.local_addrs() {
        tracing::info!(transport = kind.as_via_str(), %addr, "listening");
    }
    let local = transports.local_addrs();
    let udp = local
        .iter()
        .find(|(k, _)| *k == TransportKind::Udp)
        .map(|(_, a)| *a);
    let tcp = local
        .iter()
        .find(|(k, _)| *k == TransportKind::Tcp)
        .map(|(_, a)| *a);
    if let Some(udp) = udp.or(tcp) {
        endpoint.set_local_addrs(Instant::now(), LocalAddr { udp, tcp });
    }
    let (media_tx, mut media_rx) = mpsc::unbounded_channel::<(CallRef, MediaEvent)>();
    let mut media = MediaDriver::new(cfg.media.address, cfg.media.rtp_timeout, media_tx);
    media.set_prompts(&cfg.prompts);
    // Recordings: the directory, the repair of files a crash cut short, the writers. A
    // recordings directory we cannot use fails recordings, not the daemon.
    match crate::recording::Recorder::start(cfg.recording.clone()) {
        Ok(r) => media.set_recorder(r),
        Err(e) => {
            tracing::error!(dir = %cfg.recording.dir.display(), error = %e, "recordings directory unusable: calls will not be recorded")
        }
    }
    let mut pending_cdrs = 0usize;
    let mut sigterm = signal(SignalKind::terminate()).map_err(DaemonError::Runtime)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(DaemonError::Runtime)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(DaemonError::Runtime)?;
    // Commands from the API; the loop keeps a sender so the channel stays open when it is off.
    let (api_tx, mut api_rx) = mpsc::channel::<api::ApiRequest>(256);
    let mut api_bus = start_api(&cfg, &endpoint, api_tx.clone()).await?;
    let metrics = start_metrics(&cfg).await?;
    let mut snapshot_tick = tokio::time::interval(Duration::from_secs(1));
    snapshot_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let listen_now = cfg.listen_addrs();

    macro_rules! io {
        () => {
            Io {
                transports: &transports,
                store: &store,
                acks: &acks_tx,
                media: &mut media,
                ctl: &ctl_tx,
                pending_cdrs: &mut pending_cdrs,
                queue_log: &mut queue_log,
                api: api_bus.as_mut(),
                metrics: &metrics,
                dialer: &mut dialer,
                bans: &bans,
            }
        };
    }
    loop {
        flush(&mut endpoint, &mut io!());
        let deadline = [endpoint.poll_timeout(), dialer.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            Some(ev) = net_rx.recv() => {
                let NetEvent::Message { bytes, peer } = ev;
                metrics.sip_received(&bytes);
                endpoint.handle_message(Instant::now(), &bytes, peer);
                // Drain what else is queued before flushing: batches store writes under load.
                for _ in 0..64 {
                    match net_rx.try_recv() {
                        Ok(NetEvent::Message { bytes, peer }) => {
                            metrics.sip_received(&bytes);
                            endpoint.handle_message(Instant::now(), &bytes, peer)
                        }
                        Err(_) => break,
                    }
                }
            }
            Some(ctl) = ctl_rx.recv() => match ctl {
                Control::StoreDone { id, ok } => endpoint.handle_store_done(Instant::now(), id, ok),
                Control::CdrReady(cdr) => {
                    pending_cdrs -= 1;
                    metrics.cdr(&cdr);
                    drop(store.put_cdr(*cdr));
                }
            },
            Some((call, ev)) = media_rx.recv() => endpoint.handle_media_event(Instant::now(), call, ev),
            Some(req) = api_rx.recv() => {
                if let api::Command::DialPreviewLead { agent, lead_id } = &req.command {
                    let reply = api::execute_preview_dial(
                        &mut endpoint,
                        &mut dialer,
                        Instant::now(),
                        SystemTime::now(),
                        agent,
                        *lead_id,
                    );
                    let _ = req.reply.send(reply);
                    continue;
                }
                if api::is_campaign_command(&req.command) {
                    campaign_command(&mut endpoint, &mut dialer, &store, req);
                    continue;
                }
                let durable = req.command.is_durable();
                let now = Instant::now();
                let mut reply = api::execute(&mut endpoint, now, req.command);
                if let Ok(api::ApiReply::Calls(calls)) = &mut reply {
                    api::add_quality(calls, &endpoint, now, |c| media.quality(c));
                }
                if durable && reply.is_ok() {
                    // Write-through: the client hears of a block or a disposition only
                    // once it is committed (the store commits in submission order).
                    flush(&mut endpoint, &mut io!());
                    reply_once_stored(store.barrier(), req.reply, reply, || {
                        "the store could not commit the change; try again".to_string()
                    });
                } else {
                    // The client may have gone meanwhile: nothing to tell it then.
                    let _ = req.reply.send(reply);
                }
            }
            _ = snapshot_tick.tick() => {
                let now = Instant::now();
                endpoint.roll_kpis(now);
                let subscribers = api_bus.as_ref().map_or(0, |b| b.bus.subscribers());
                let queues = endpoint.queues_view(now);
                metrics.tick(endpoint.active_calls(), &queues, &endpoint.agents_view(now), subscribers);
                metrics.transactions(endpoint.tx_stats());
                dialer.handle_inbound_load(now, &inbound_load(&cfg, &queues));
                if let Some(b) = api_bus.as_mut() {
                    let snap = api::snapshot(&endpoint, now, unix_ms(SystemTime::now()), |c| media.quality(c));
                    b.bus.snapshot(snap);
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                endpoint.handle_timeout(now);
                dialer.handle_timeout(now);
            }
            _ = sighup.recv() => match config::load(&config_path) {
                Ok(new_cfg) => {
                    if new_cfg.listen_addrs() != listen_now {
                        tracing::warn!("listen addresses changed: they take effect at the next restart");
                    }
                    if new_cfg.sip.tcp != cfg.sip.tcp {
                        tracing::warn!("[sip.tcp] changed: it takes effect at the next restart");
                    }
                    if new_cfg.store.path != cfg.store.path {
                        tracing::warn!("store path changed: it takes effect at the next restart");
                    }
                    media.set_prompts(&new_cfg.prompts);
                    if new_cfg.campaigns != cfg.campaigns {
                        tracing::warn!("[[campaigns]] changed: they take effect at the next restart");
                    }
                    if new_cfg.acd.engine != cfg.acd.engine {
                        tracing::warn!("[[agents]] / [[queues]] / [acd] changed: they take effect at the next restart");
                    }
                    if !endpoint.reconfigure(new_cfg.endpoint_config()) {
                        tracing::warn!("sip.domain / sip.realm changed: they take effect at the next restart");
                    }
                    tracing::info!(config = %config_path.display(), "configuration reloaded");
                }
                Err(errors) => tracing::error!(config = %config_path.display(), "reload refused, keeping the running configuration:\n{errors}"),
            },
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }

    tracing::info!(
        calls = endpoint.active_calls(),
        "shutting down: hanging up calls; no new requests; flushing the store"
    );
    endpoint.shutdown_calls(Instant::now());
    flush(&mut endpoint, &mut io!());
    transports.stop();
    // Answers parked on a store write go out once it is committed; ended calls' CDRs wait
    // for their relay's figures.
    let drain_until = Instant::now() + Duration::from_secs(2);
    while (endpoint.has_parked() || pending_cdrs > 0) && Instant::now() < drain_until {
        match tokio::time::timeout(Duration::from_millis(100), ctl_rx.recv()).await {
            Ok(Some(Control::StoreDone { id, ok })) => {
                endpoint.handle_store_done(Instant::now(), id, ok);
                flush(&mut endpoint, &mut io!());
            }
            Ok(Some(Control::CdrReady(cdr))) => {
                pending_cdrs -= 1;
                drop(store.put_cdr(*cdr));
            }
            _ => continue,
        }
    }
    store.flush().await?;
    store.close();
    tracing::info!("stopped");
    Ok(())
}

/// Today's live KPIs (the API's snapshots), from the day's events stored before a restart.
/// A store we cannot read starts them from zero: the figures are for display, the events
/// themselves stay stored for `switchboard report`.
fn set_kpi_day(endpoint: &mut Endpoint, store: &Store) {
    let now_ms = unix_ms(SystemTime::now()).max(0) as u64;
    let offset = crate::report::utc_offset_secs(now_ms);
    let midnight = crate::acd::kpi::Interval::since_midnight(now_ms, offset).from_ms;
    let today = store.load_acd_events(midnight).unwrap_or_else(|e| {
        tracing::error!(error = %e, "today's ACD events unreadable: live KPIs start from zero");
        Vec::new()
    });
    endpoint.set_kpi_day(offset, today);
}

/// Carry out everything the endpoint asked for, and place the dials the dialer wants (their
/// INVITEs are more output).
fn flush(endpoint: &mut Endpoint, io: &mut Io<'_>) {
    loop {
        flush_outputs(endpoint, io);
        if !place_dials(endpoint, io.dialer) {
            break;
        }
    }
    io.queue_log.flush();
}

/// The campaign overrides stored by UpdateCampaign, over the `[[campaigns]]` values. One
/// that no longer passes (the config or the rules changed) is skipped, and left stored.
fn apply_overrides(
    endpoint: &mut Endpoint,
    dialer: &mut crate::dialer::runtime::Runtime,
    store: &Store,
) -> Result<(), DaemonError> {
    for (name, json) in store.load_campaign_overrides()? {
        let applied = crate::dialer::overrides::Overrides::from_json(&json)
            .map_err(|e| e.to_string())
            .and_then(|o| {
                dialer
                    .update_campaign(Instant::now(), SystemTime::now(), &name, &o, true)
                    .map_err(|e| e.to_string())
            });
        match applied {
            Ok(o) => {
                tracing::info!(campaign = %name, overrides = ?o.fields(), "campaign overrides (UpdateCampaign) applied over [[campaigns]]");
                if let Some(cfg) = dialer.campaign_config(&name) {
                    endpoint.set_campaign(cfg.clone());
                }
            }
            Err(e) => {
                tracing::warn!(campaign = %name, overrides = %json, error = %e, "stored campaign overrides skipped: they no longer apply");
            }
        }
    }
    Ok(())
}

/// A campaign command from the API. A run state change or an update is written through:
/// the client hears of it once it is on disk (a `kill -9` after the reply keeps it).
fn campaign_command(
    endpoint: &mut Endpoint,
    dialer: &mut crate::dialer::runtime::Runtime,
    store: &Store,
    req: api::ApiRequest,
) {
    let change = match &req.command {
        api::Command::Campaign { campaign, state } => Some((campaign.clone(), *state)),
        _ => None,
    };
    let reply = api::execute_campaign(dialer, Instant::now(), SystemTime::now(), req.command);
    if let Ok(api::ApiReply::CampaignUpdated {
        campaign,
        overrides,
    }) = reply
    {
        return campaign_updated(endpoint, dialer, store, campaign, overrides, req.reply);
    }
    let (Some((name, state)), Ok(done)) = (change, &reply) else {
        let _ = req.reply.send(reply);
        return;
    };
    let done = Ok(done.clone());
    let ack = store.put_campaign_state(&name, state.as_str(), unix_ms(SystemTime::now()));
    reply_once_stored(ack, req.reply, done, move || {
        format!(
            "campaign `{name}` is {} now, but that could not be stored: it will not survive a restart (check the store's disk)",
            state.as_str()
        )
    });
}

/// UpdateCampaign done on the runtime: the endpoint dials with the new settings, and the
/// client hears of it once the overrides are on disk.
fn campaign_updated(
    endpoint: &mut Endpoint,
    dialer: &crate::dialer::runtime::Runtime,
    store: &Store,
    info: api::pb::CampaignInfo,
    overrides: crate::dialer::overrides::Overrides,
    reply: tokio::sync::oneshot::Sender<Result<api::ApiReply, tonic::Status>>,
) {
    if let Some(cfg) = dialer.campaign_config(&info.name) {
        endpoint.set_campaign(cfg.clone());
    }
    let json = (!overrides.is_empty()).then(|| overrides.to_json());
    let ack = store.put_campaign_overrides(&info.name, json, unix_ms(SystemTime::now()));
    let name = info.name.clone();
    reply_once_stored(ack, reply, Ok(api::ApiReply::Campaign(info)), move || {
        format!(
            "campaign `{name}` has its new settings now, but they could not be stored: they will not survive a restart (check the store's disk)"
        )
    });
}

/// Write-through: send `reply` once `ack` reports the write committed, else UNAVAILABLE
/// with `why()` (the store commits in submission order).
fn reply_once_stored(
    ack: crate::store::Ack,
    tx: tokio::sync::oneshot::Sender<Result<api::ApiReply, tonic::Status>>,
    reply: Result<api::ApiReply, tonic::Status>,
    why: impl FnOnce() -> String + Send + 'static,
) {
    tokio::spawn(async move {
        let reply = match ack.await {
            Ok(Ok(())) => reply,
            _ => Err(tonic::Status::unavailable(why())),
        };
        // The client may have gone meanwhile: nothing to tell it then.
        let _ = tx.send(reply);
    });
}

/// Hand every dial the runtime wants to the endpoint; true if any was asked for.
fn place_dials(endpoint: &mut Endpoint, dialer: &mut crate::dialer::runtime::Runtime) -> bool {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let mut any = false;
    while let Some(order) = dialer.poll_dial(now, wall) {
        let placed = endpoint.dial_campaign(now, order.clone());
        dialer.handle_placed(now, wall, &order, placed);
        any = true;
    }
    while let Some(call) = dialer.poll_cancel() {
        any |= endpoint.hang_up_surplus_dial(now, call);
    }
    any
}

/// Each queue's load for blending: (name, waiting, longest wait s, service level s).
fn inbound_load(
    cfg: &Config,
    queues: &[crate::sip::endpoint::views::QueueView],
) -> Vec<(String, u32, f64, f64)> {
    queues
        .iter()
        .map(|q| {
            let sl = cfg
                .acd
                .engine
                .queues
                .iter()
                .find(|c| c.name == q.name)
                .map_or(20, |c| c.service_level_secs);
            (
                q.name.clone(),
                q.waiting as u32,
                q.longest_wait.as_secs_f64(),
                sl as f64,
            )
        })
        .collect()
}

fn flush_outputs(endpoint: &mut Endpoint, io: &mut Io<'_>) {
    while let Some(out) = endpoint.poll_output() {
        match out {
            Output::Transmit { dest, bytes } => {
                io.metrics.sip_sent(&bytes);
                if !io.transports.send(&dest, bytes) {
                    io.metrics.sip_transport_error();
                }
            }
            Output::Persist { id, changes } => persist(io.store, id, changes, io.acks),
            Output::Media(cmd) => io.media.command(cmd),
            Output::Cdr(CdrWrite::Start(cdr)) => {
                // The journal entry; its commit needs no waiting (the call goes on).
                drop(io.store.put_cdr(*cdr));
            }
            Output::Cdr(CdrWrite::End(call, cdr)) => {
                *io.pending_cdrs += 1;
                let summary = io.media.finish(call);
                let ctl = io.ctl.clone();
                tokio::spawn(async move {
                    let mut cdr = *cdr;
                    cdr.recording_status = Some("none".into());
                    if let Some(rx) = summary {
                        if let Ok(Ok((s, rec))) =
                            tokio::time::timeout(Duration::from_secs(1), rx).await
                        {
                            if let Some(end) = rec {
                                recording_into_cdr(&mut cdr, end).await;
                            }
                            cdr.a_to_b = s.a_to_b;
                            cdr.b_to_a = s.b_to_a;
                            cdr.mos = s.mos;
                            cdr.rtt_ms = s.rtt_ms;
                            if s.foreign_dropped > 0 {
                                tracing::warn!(call = %cdr.id, packets = s.foreign_dropped, security = true, "dropped RTP from unexpected sources");
                            }
                        }
                    }
                    let _ = ctl.send(Control::CdrReady(Box::new(cdr))).await;
                });
            }
            Output::Event(ev) => {
                tracing::debug!(?ev, "call event");
                io.metrics.call_event(&ev);
                if let Some(b) = io.api.as_deref_mut() {
                    let ev = b.convert.call_event(ev, unix_ms(SystemTime::now()));
                    b.bus.publish(ev);
                }
            }
            Output::Acd(ev) => {
                io.metrics.acd_event(&ev);
                io.dialer
                    .handle_acd_event(Instant::now(), SystemTime::now(), &ev);
                if let Some(b) = io.api.as_deref_mut() {
                    let mut pb_ev = b.convert.acd_event(&ev, |id| endpoint.acd_call_uuid(id));
                    if let crate::acd::EventKind::Offered { call, .. } = &ev.kind {
                        crate::api::screen_pop(&mut pb_ev, endpoint.screen_pop(call.0), io.store);
                    }
                    b.bus.publish(pb_ev);
                }
                io.queue_log.event(&ev);
                // The source of `switchboard report`; like the CDR journal, nothing waits on
                // its commit (the writer batches them).
                drop(io.store.put_acd_event(&ev));
            }
            Output::AgentState(rec) => crate::acd_driver::persist_agent(io.store, rec),
            Output::Callback(entry) => crate::acd_driver::persist_callback(io.store, entry),
            Output::CallbackDone(call) => drop(io.store.delete_callback(call as i64)),
            Output::Dialer(ev) => {
                tracing::info!(call = %ev.uuid, campaign = %ev.campaign, kind = ?ev.kind, "campaign call");
                io.dialer
                    .handle_dialer_event(Instant::now(), SystemTime::now(), &ev);
                if let Some(b) = io.api.as_deref_mut() {
                    b.bus
                        .publish(api::dialer_event(&ev, unix_ms(SystemTime::now())));
                }
            }
            Output::Blocklist(change) => persist_block(io.store, change),
            Output::Recording(note) => {
                if let Some(b) = io.api.as_deref_mut() {
                    // The file as the writer names it (a `-N` suffix if the name was taken).
                    let path = match (&note.fields, io.media.recorder()) {
                        (Some(f), Some(r)) => Some(
                            r.config()
                                .dir
                                .join(crate::recording::name::render(&r.config().file_name, f))
                                .display()
                                .to_string(),
                        ),
                        _ => None,
                    };
                    let ev = b
                        .convert
                        .recording_event(&note, path, unix_ms(SystemTime::now()));
                    b.bus.publish(ev);
                }
            }
            Output::Disposition(d) => {
                io.dialer.handle_disposition(SystemTime::now(), &d);
                // The CDR row of an ended call gets it now; an active call's final CDR
                // carries it as well (a later full write keeps a stored disposition).
                drop(
                    io.store
                        .set_disposition(&d.call, &d.code, d.notes.as_deref()),
                );
                if let Some(b) = io.api.as_deref_mut() {
                    let ev = b.convert.disposition_event(&d, unix_ms(SystemTime::now()));
                    b.bus.publish(ev);
                }
            }
            Output::Security(ev) => match ev {
                SecurityEvent::Banned { ip, reason, until } => {
                    io.bans.insert(Instant::now(), ip, until);
                    io.metrics.ban();
                    tracing::warn!(security = true, source = %ip, %reason, "source banned")
                }
                SecurityEvent::AuthFailed { ip, user, reason } => {
                    io.metrics.auth_failure();
                    tracing::warn!(security = true, source = %ip, user = %user.as_deref().unwrap_or("-"), %reason, "authentication failed")
                }
                SecurityEvent::UserBanned { ip, user } => {
                    io.metrics.ban();
                    tracing::warn!(security = true, source = %ip, %user, "user banned from this source")
                }
                SecurityEvent::Blocked { ip, number, reason } => {
                    tracing::warn!(security = true, source = %ip, %number, %reason, "blocked number refused")
                }
            },
        }
    }
}

/// A block added or lifted, to the store (the API's reply waits for its commit).
fn persist_block(store: &Store, change: crate::sip::endpoint::calls::BlockChange) {
    use crate::sip::endpoint::calls::BlockChange;
    match change {
        BlockChange::Put(e) => drop(store.put_blocked(crate::store::BlockedRow {
            number: e.number,
            reason: e.reason,
            created_unix_ms: e.created_unix_ms,
            expires_unix_ms: e.expires_unix_ms,
        })),
        BlockChange::Remove(n) => drop(store.delete_blocked(&n)),
    }
}

/// How the call's recording ended, into its CDR. The writer closes the file after the
/// relay's last batch; it gets a few seconds (a slow disk) before the CDR goes without it.
async fn recording_into_cdr(cdr: &mut Cdr, end: crate::recording::RecordingEnd) {
    use crate::recording::{Outcome, RecordingEnd, Status};
    let outcome = match end {
        RecordingEnd::Ready(o) => o,
        RecordingEnd::Pending(rx) => match tokio::time::timeout(Duration::from_secs(5), rx).await {
            Ok(Ok(o)) => o,
            _ => Outcome {
                path: None,
                ms: None,
                status: Status::Failed("the writer did not report the recording's end".into()),
            },
        },
    };
    if let Status::Failed(why) = &outcome.status {
        tracing::error!(call = %cdr.id, path = ?outcome.path, error = %why, "recording failed");
    }
    cdr.recording = outcome.path;
    cdr.recording_ms = outcome.ms;
    cdr.recording_status = Some(outcome.status.to_string());
}

/// Bind the metrics endpoint when `[metrics] listen` is set and serve it in its own task.
/// The registry exists either way (counting costs an atomic add).
async fn start_metrics(cfg: &Config) -> Result<crate::metrics::Metrics, DaemonError> {
    let metrics = crate::metrics::Metrics::new();
    if let Some(m) = &cfg.metrics {
        let listener = crate::metrics::bind(m.listen)
            .await
            .map_err(DaemonError::Listen)?;
        let addr = listener.local_addr().map_err(DaemonError::Listen)?;
        tokio::spawn(crate::metrics::serve(listener, metrics.clone()));
        tracing::info!(%addr, "metrics listening (GET /metrics)");
    }
    Ok(metrics)
}

/// Bind the gRPC API when `[api] listen` is set and serve it in its own task; returns the
/// bus writer the main loop feeds.
async fn start_api(
    cfg: &Config,
    endpoint: &Endpoint,
    commands: mpsc::Sender<api::ApiRequest>,
) -> Result<Option<ApiBus>, DaemonError> {
    let Some(api_cfg) = &cfg.api else {
        return Ok(None);
    };
    let listener = api::bind(api_cfg.listen)
        .await
        .map_err(DaemonError::Listen)?;
    let addr = listener.local_addr().map_err(DaemonError::Listen)?;
    let (bus, reader) = api::Bus::new();
    let server = api::Server {
        bus: reader,
        tokens: api::Tokens::new(&api_cfg.tokens),
        commands,
        tls: api_cfg.tls.clone(),
        limits: api_cfg.limits.clone(),
        security: api_cfg.security.clone(),
        trusted: cfg.security.trusted.clone(),
    };
    // The message says why rustls refused a certificate or key.
    let ready = server
        .build()
        .await
        .map_err(|e| DaemonError::Api(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = ready.serve(listener).await {
            tracing::error!(error = %e, "gRPC API stopped");
        }
    });
    tracing::info!(%addr, tokens = api_cfg.tokens.len(), tls = api_cfg.tls.is_some(), "gRPC API listening");
    let (agents, queues) = endpoint.acd_names();
    Ok(Some(ApiBus {
        bus,
        convert: api::Converter::new(agents, queues),
    }))
}

/// Hand the changes to the store; their acknowledgements go to the ack collector.
fn persist(
    store: &Store,
    id: u64,
    changes: Vec<BindingChange>,
    acks_tx: &mpsc::UnboundedSender<PendingAcks>,
) {
    let now = Instant::now();
    let wall = SystemTime::now();
    let acks: Vec<_> = changes
        .into_iter()
        .map(|c| match c {
            BindingChange::Upsert(b) => store.upsert_binding(binding_to_store(&b, now, wall)),
            BindingChange::Remove { aor, contact } => store.delete_binding(&aor, &contact),
        })
        .collect();
    let _ = acks_tx.send(PendingAcks { id, acks });
}

/// One write's acknowledgements.
struct PendingAcks {
    id: u64,
    acks: Vec<crate::store::Ack>,
}

/// One task awaits every acknowledgement in submission order (the writer commits in that
/// order, so this adds no latency) and reports each write back to the main loop: no task
/// spawned per write.
async fn collect_acks(mut rx: mpsc::UnboundedReceiver<PendingAcks>, ctl: mpsc::Sender<Control>) {
    while let Some(PendingAcks { id, acks }) = rx.recv().await {
        let mut ok = true;
        for ack in acks {
            ok &= matches!(ack.await, Ok(Ok(())));
        }
        if ctl.send(Control::StoreDone { id, ok }).await.is_err() {
            return;
        }
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn binding_to_store(b: &Binding, now: Instant, wall: SystemTime) -> StoredBinding {
    StoredBinding {
        aor: b.aor.clone(),
        contact: b.contact.clone(),
        instance: b.instance.clone(),
        call_id: b.call_id.clone(),
        cseq: b.cseq,
        expires_unix_ms: unix_ms(wall) + b.remaining(now).as_millis() as i64,
        transport: match b.source.transport {
            TransportKind::Udp => "udp".into(),
            TransportKind::Tcp => "tcp".into(),
        },
        source_addr: b.source.addr.to_string(),
        user_agent: b.user_agent.clone(),
    }
}

/// A stored binding back in monotonic time; expired ones are dropped.
fn binding_from_store(s: StoredBinding, now: Instant, wall: SystemTime) -> Option<Binding> {
    let left_ms = s.expires_unix_ms - unix_ms(wall);
    if left_ms <= 0 {
        return None;
    }
    let transport = if s.transport == "tcp" {
        TransportKind::Tcp
    } else {
        TransportKind::Udp
    };
    let addr = s.source_addr.parse().ok()?;
    Some(Binding {
        aor: s.aor,
        contact: s.contact,
        instance: s.instance,
        call_id: s.call_id,
        cseq: s.cseq,
        expires_at: now + Duration::from_millis(left_ms as u64),
        // The old TCP connection is gone; UDP bindings are reachable through socket 0.
        source: Peer {
            transport,
            addr,
            conn: if transport == TransportKind::Udp {
                Some(0)
            } else {
                None
            },
        },
        user_agent: s.user_agent,
    })
}

/// `[sip.tcp]` with the global cap checked against (or derived from) the descriptor limit.
fn tcp_limits(cfg: &Config, open_files: Option<u64>) -> Result<TcpLimits, BudgetError> {
    let t = &cfg.sip.tcp;
    let ports = u64::from(cfg.media.port_max.saturating_sub(cfg.media.port_min)) + 1;
    let budget = Budget {
        // Unreadable: assume the usual soft limit.
        open_files: open_files.unwrap_or(1024),
        calls: (cfg.calls.max_calls as u64).min(ports / 4),
        recordings: cfg.recording.max_concurrent as u64,
    };
    let cap = budget.connection_cap(t.max_connections)?;
    if !cap.calls_fit {
        tracing::warn!(
            open_files = budget.open_files,
            calls = budget.calls,
            max_connections = cap.connections,
            "the descriptor limit cannot hold calls.max_calls anchored calls: raise it (ulimit -n / LimitNOFILE=) or lower calls.max_calls"
        );
    }
    tracing::info!(
        max_connections = cap.connections,
        per_ip = t.max_connections_per_ip,
        "tcp connection limits"
    );
    Ok(TcpLimits {
        timeouts: StreamTimeouts {
            idle: Duration::from_secs(t.idle_timeout_secs),
            message: Duration::from_secs(t.message_timeout_secs),
            min_rate: t.message_min_rate,
            message_max: Duration::from_secs(t.message_timeout_max_secs),
        },
        max_connections_per_ip: t.max_connections_per_ip,
        max_connections: cap.connections,
    })
}

impl Config {
    /// The endpoint's view of the config. A missing auth secret is drawn at random.
    pub fn endpoint_config(&self) -> EndpointConfig {
        use crate::sip::auth::UserCredentials;
        use crate::sip::registrar::RegistrarLimits;
        use crate::sip::transaction::TimerConfig;
        EndpointConfig {
            domain: self.sip.domain.clone(),
            realm: self.sip.realm.clone(),
            user_agent: self.sip.user_agent.clone(),
            force_rport: self.sip.force_rport,
            timers: TimerConfig {
                t1: self.sip.t1,
                t2: self.sip.t2,
                t4: self.sip.t4,
            },
            registrar: RegistrarLimits {
                min_expires: self.registrar.min_expires,
                default_expires: self.registrar.default_expires,
                max_expires: self.registrar.max_expires,
                max_contacts_per_aor: self.registrar.max_contacts_per_aor,
            },
            rate_limit: self.security.clone(),
            nonce_ttl: self.auth.nonce_ttl,
            algorithms: self.auth.algorithms.clone(),
            auth_secret: self.auth.secret.unwrap_or_else(rand::random),
            users: self
                .users
                .iter()
                .filter(|u| u.enabled)
                .map(|u| {
                    let creds = UserCredentials {
                        password: u.password.clone(),
                        ha1_md5: u.ha1_md5.clone(),
                        ha1_sha256: u.ha1_sha256.clone(),
                    };
                    (u.extension.clone(), creds)
                })
                .collect(),
            permissions: self
                .users
                .iter()
                .map(|u| (u.extension.clone(), u.permissions.clone()))
                .collect(),
            display_names: self
                .users
                .iter()
                .filter_map(|u| Some((u.extension.clone(), u.display_name.clone()?)))
                .collect(),
            dialplan: self.dialplan.clone(),
            trunks: self.trunks.clone(),
            max_calls: self.calls.max_calls,
            ring_timeout: self.calls.ring_timeout,
            hold_music: self.calls.hold_music.clone(),
            session_expires: self.calls.session_expires,
            min_se: self.calls.min_se,
            codecs: self
                .media
                .codecs
                .iter()
                .filter_map(|c| crate::sdp::CodecName::parse(c))
                .collect(),
            telephone_event: self.media.telephone_event,
            media_address: self.media.address,
            ptime_ms: self.media.ptime_ms,
            port_min: self.media.port_min,
            port_max: self.media.port_max,
            ivr: self.ivr.clone(),
            acd: self.acd.engine.clone(),
            features: self.acd.features.clone(),
            recording: self.recording_policies(),
            dispositions: self.dispositions.clone(),
        }
    }

    /// The policies the endpoint resolves per call.
    pub fn recording_policies(&self) -> crate::sip::endpoint::calls::RecordingPolicies {
        crate::sip::endpoint::calls::RecordingPolicies {
            default: self.recording.policy,
            queues: self
                .acd
                .engine
                .queues
                .iter()
                .filter_map(|q| Some((q.name.clone(), q.recording?)))
                .collect(),
            users: self
                .users
                .iter()
                .filter_map(|u| Some((u.extension.clone(), u.recording?)))
                .collect(),
            trunks: self
                .trunks
                .iter()
                .filter_map(|t| Some((t.name.clone(), t.recording?)))
                .collect(),
        }
    }
}
