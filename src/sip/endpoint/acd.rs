//! The ACD inside the endpoint: the sans-IO engine (one owner, the same task as the calls it
//! routes, so offers and the SIP legs that carry them never disagree), which phone each
//! agent is at, presence from registrations and calls, and the agents' feature codes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::acd::live_kpi::LiveKpis;
use crate::acd::{AcdEvent, AgentId, AgentState, Engine, OfferId};
use crate::sip::endpoint::{Endpoint, Output};

use super::calls::CallRef;

/// What the driver persists so agents come back as they were after a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub agent: String,
    /// logged-out | ready | not-ready (offered/on-call/wrap-up are stored as ready: the
    /// call did not survive the restart).
    pub state: String,
    pub reason: Option<String>,
    /// The extension the agent logged in at.
    pub phone: Option<String>,
}

#[derive(Default)]
pub(super) struct AcdState {
    pub engine: Option<Engine>,
    /// Where each logged-in agent takes calls.
    pub phone: HashMap<AgentId, String>,
    /// Offer → the customer call it is for.
    pub offers: HashMap<OfferId, CallRef>,
    /// Last presence told to the engine.
    pub reachable: HashMap<AgentId, bool>,
    pub busy: HashMap<AgentId, bool>,
    /// Non-ACD calls each extension is on.
    pub ext_calls: HashMap<String, u32>,
    pub next_sweep: Option<Instant>,
    /// Agent login ids by AgentId (the engine's directory, kept once).
    pub names: Vec<String>,
    /// The reverse of `phone`: agents logged in at each extension.
    pub at_phone: HashMap<String, Vec<AgentId>>,
    /// Queue names by QueueId (likewise).
    pub queue_names: Vec<String>,
    /// Queued callbacks by their ACD call number.
    pub callbacks: HashMap<u64, super::calls::CallbackEntry>,
    /// Today's KPIs, fed every event the engine emits (None without an engine).
    pub kpis: Option<LiveKpis>,
    /// What `set_acd` starts them from (see `set_kpi_day`).
    pub kpi_seed: (i64, Vec<AcdEvent>),
}

impl AcdState {
    fn set_phone(&mut self, a: AgentId, ext: String) {
        self.clear_phone(a);
        self.at_phone.entry(ext.clone()).or_default().push(a);
        self.phone.insert(a, ext);
    }

    fn clear_phone(&mut self, a: AgentId) {
        if let Some(old) = self.phone.remove(&a) {
            if let Some(v) = self.at_phone.get_mut(&old) {
                v.retain(|x| *x != a);
                if v.is_empty() {
                    self.at_phone.remove(&old);
                }
            }
        }
    }
}

/// Presence is re-checked this often (registrations expire on their own).
const SWEEP: Duration = Duration::from_secs(1);

/// A request to change an agent's state from outside the phone (the API, tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentCommand {
    /// Log in, taking calls at this extension, and be ready.
    Login {
        phone: String,
    },
    Logout,
    Ready,
    NotReady {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentCommandError {
    #[error("no ACD is configured")]
    NoAcd,
    #[error("no agent `{0}` in [[agents]]")]
    UnknownAgent(String),
    #[error("no user `{0}` to take calls at")]
    UnknownPhone(String),
    #[error("{0}")]
    Refused(String),
}

/// A feature code dialled by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Feature {
    Login(String),
    Logout(String),
    Ready(String),
    NotReady(String, String),
    /// A supervisor listens in on the agent's call.
    Monitor(String),
}

impl Endpoint {
    /// Hand the endpoint its ACD engine (built by the driver with the wall clock).
    pub fn set_acd(&mut self, engine: Engine) {
        let dir = engine.directory();
        self.acd.names = dir.agents;
        self.acd.queue_names = dir.queues;
        let (offset, today) = std::mem::take(&mut self.acd.kpi_seed);
        let mut kpis = LiveKpis::new(&engine.kpi_params(), self.acd.names.len(), offset);
        for ev in &today {
            kpis.add(ev);
        }
        self.acd.kpis = Some(kpis);
        self.acd.engine = Some(engine);
        self.acd.next_sweep = None;
    }

    /// Where today's live KPIs start from: the local time zone (for midnight) and the
    /// day's events stored before a restart, oldest first. Call before `set_acd`, which
    /// starts them (so the agents it restores are counted too).
    pub fn set_kpi_day(&mut self, utc_offset_secs: i64, today: Vec<AcdEvent>) {
        self.acd.kpi_seed = (utc_offset_secs, today);
    }

    /// Restart the day's counts if midnight has passed (the driver calls it before reading
    /// the views; events roll it themselves).
    pub fn roll_kpis(&mut self, now: Instant) {
        let now_ms = self.calls.unix_ms(now).max(0) as u64;
        if let Some(k) = self.acd.kpis.as_mut() {
            k.roll(now_ms);
        }
    }

    /// An agent's state as it was stored (startup after a crash or a stop).
    pub fn restore_agent(&mut self, now: Instant, rec: &AgentRecord) {
        let Some(e) = self.acd.engine.as_mut() else {
            return;
        };
        let Some(a) = e.agent_id(&rec.agent) else {
            tracing::warn!(agent = %rec.agent, "stored agent no longer configured");
            return;
        };
        if rec.state == "logged-out" {
            return;
        }
        let _ = e.handle_agent_login(now, a);
        if let Some(p) = &rec.phone {
            self.acd.set_phone(a, p.clone());
        }
        let e = self.acd.engine.as_mut().expect("checked above");
        let _ = match rec.state.as_str() {
            "not-ready" => {
                e.handle_agent_not_ready(now, a, rec.reason.as_deref().unwrap_or("restored"))
            }
            _ => e.handle_agent_ready(now, a),
        };
        tracing::info!(agent = %rec.agent, state = %rec.state, "agent state restored");
        self.acd_presence_sweep(now);
        self.acd_pump(now);
        // Offers made just now ring phones: their INVITEs leave through the transactions.
        self.drain_transactions(now);
    }

    /// Change an agent's state (the Rust API the gRPC service and tools use); the same
    /// effects as the feature codes: stored, presence re-checked, offers made at once.
    pub fn agent_command(
        &mut self,
        now: Instant,
        agent: &str,
        cmd: AgentCommand,
    ) -> Result<(), AgentCommandError> {
        if let AgentCommand::Login { phone } = &cmd {
            if !self.cfg.users.contains_key(phone) {
                return Err(AgentCommandError::UnknownPhone(phone.clone()));
            }
        }
        let e = self.acd.engine.as_mut().ok_or(AgentCommandError::NoAcd)?;
        let a = e
            .agent_id(agent)
            .ok_or_else(|| AgentCommandError::UnknownAgent(agent.to_string()))?;
        let refused = |err: crate::acd::AcdError| AgentCommandError::Refused(err.to_string());
        match &cmd {
            AgentCommand::Login { phone } => {
                e.handle_agent_login(now, a).map_err(refused)?;
                let _ = e.handle_agent_ready(now, a);
                self.acd.set_phone(a, phone.clone());
            }
            AgentCommand::Logout => {
                e.handle_agent_logout(now, a).map_err(refused)?;
                self.acd.clear_phone(a);
            }
            AgentCommand::Ready => e.handle_agent_ready(now, a).map_err(refused)?,
            AgentCommand::NotReady { reason } => {
                e.handle_agent_not_ready(now, a, reason).map_err(refused)?
            }
        }
        tracing::info!(agent, ?cmd, "agent command");
        self.acd.reachable.remove(&a);
        self.acd.busy.remove(&a);
        self.acd_presence_sweep(now);
        self.persist_agent(a);
        self.acd_pump(now);
        self.drain_transactions(now);
        Ok(())
    }

    /// An agent's current state, by login id.
    pub fn agent_state(&self, agent: &str) -> Option<AgentState> {
        let e = self.acd.engine.as_ref()?;
        e.agent_state(e.agent_id(agent)?).cloned()
    }

    /// Which feature a dialled string is, for user `ext`.
    pub(super) fn feature_code(&self, ext: &str, dialled: &str) -> Option<Feature> {
        self.acd.engine.as_ref()?;
        let f = &self.cfg.features;
        let agent = |rest: &str| {
            if rest.is_empty() {
                ext.to_string()
            } else {
                rest.to_string()
            }
        };
        // Longest codes first would matter only if one were a prefix of another (config
        // refuses duplicates; *7 vs *71 style prefixes are the operator's choice).
        if let Some(rest) = dialled.strip_prefix(f.monitor.as_str()) {
            if !rest.is_empty() {
                return Some(Feature::Monitor(rest.to_string()));
            }
        }
        if let Some(rest) = dialled.strip_prefix(f.not_ready.as_str()) {
            let reason = if rest.is_empty() { "break" } else { rest };
            return Some(Feature::NotReady(ext.to_string(), reason.to_string()));
        }
        if let Some(rest) = dialled.strip_prefix(f.login.as_str()) {
            return Some(Feature::Login(agent(rest)));
        }
        if let Some(rest) = dialled.strip_prefix(f.logout.as_str()) {
            return Some(Feature::Logout(agent(rest)));
        }
        if dialled == f.ready {
            return Some(Feature::Ready(ext.to_string()));
        }
        None
    }

    /// Carry out a feature code from the phone of `ext`. Returns the prompt to confirm with,
    /// or None when it was refused (unknown agent, not logged in).
    pub(super) fn apply_feature(
        &mut self,
        now: Instant,
        ext: &str,
        f: &Feature,
    ) -> Option<&'static str> {
        let e = self.acd.engine.as_mut()?;
        let (id, prompt) = match f {
            Feature::Login(agent) => {
                let a = e.agent_id(agent)?;
                e.handle_agent_login(now, a).ok()?;
                // Logged in means ready to take calls (Asterisk's AgentLogin does the same).
                let _ = e.handle_agent_ready(now, a);
                self.acd.set_phone(a, ext.to_string());
                (a, "prompts/agent-logged-in.wav")
            }
            Feature::Logout(agent) => {
                let a = e.agent_id(agent)?;
                e.handle_agent_logout(now, a).ok()?;
                self.acd.clear_phone(a);
                (a, "prompts/agent-logged-out.wav")
            }
            Feature::Ready(agent) => {
                let a = self.agent_at(agent)?;
                let e = self.acd.engine.as_mut()?;
                e.handle_agent_ready(now, a).ok()?;
                (a, "prompts/agent-ready.wav")
            }
            // Handled by the call itself (it needs the call to monitor).
            Feature::Monitor(_) => return None,
            Feature::NotReady(agent, reason) => {
                let a = self.agent_at(agent)?;
                let e = self.acd.engine.as_mut()?;
                e.handle_agent_not_ready(now, a, reason).ok()?;
                (a, "prompts/agent-not-ready.wav")
            }
        };
        tracing::info!(agent = ?id, phone = %ext, feature = ?f, "agent feature code");
        self.acd.reachable.remove(&id);
        self.acd.busy.remove(&id);
        self.acd_presence_sweep(now);
        self.persist_agent(id);
        self.acd_pump(now);
        Some(prompt)
    }

    /// The agent logged in at phone `ext` (or whose id is `ext`).
    pub(super) fn agent_at(&self, ext: &str) -> Option<AgentId> {
        self.acd
            .at_phone
            .get(ext)
            .and_then(|v| v.first().copied())
            .or_else(|| self.acd.engine.as_ref()?.agent_id(ext))
    }

    /// The extension agent `a` takes calls at.
    pub(super) fn agent_phone(&self, a: AgentId) -> Option<String> {
        if let Some(p) = self.acd.phone.get(&a) {
            return Some(p.clone());
        }
        // Not logged in through a feature code (restored, or the API): their id is their
        // extension when it is one.
        let id = self.acd.names.get(a.0 as usize)?;
        self.cfg.users.contains_key(id).then(|| id.clone())
    }

    /// Tell the engine which agents can take calls now: registered, not on another call.
    pub(super) fn acd_presence_sweep(&mut self, now: Instant) {
        let Some(e) = self.acd.engine.as_ref() else {
            return;
        };
        let agents: Vec<AgentId> = (0..self.acd.names.len() as u32)
            .map(AgentId)
            .filter(|a| !matches!(e.agent_state(*a), None | Some(AgentState::LoggedOut)))
            .collect();
        self.presence_of(now, &agents);
        self.acd.next_sweep = Some(now + SWEEP);
    }

    /// Presence of some agents only (those at one phone, when its calls change).
    fn presence_of(&mut self, now: Instant, agents: &[AgentId]) {
        for &a in agents {
            let phone = self.agent_phone(a);
            let reachable = phone
                .as_deref()
                .is_some_and(|p| self.contacts_of_ext(p) > 0);
            let busy = phone
                .as_deref()
                .is_some_and(|p| self.acd.ext_calls.get(p).copied().unwrap_or(0) > 0);
            let Some(e) = self.acd.engine.as_mut() else {
                return;
            };
            if self.acd.reachable.get(&a) != Some(&reachable) {
                self.acd.reachable.insert(a, reachable);
                let _ = e.handle_agent_reachable(now, a, reachable);
            }
            if self.acd.busy.get(&a) != Some(&busy) {
                self.acd.busy.insert(a, busy);
                let _ = e.handle_agent_busy_elsewhere(now, a, busy);
            }
        }
    }

    /// Registered devices of an extension.
    pub(super) fn contacts_of_ext(&self, ext: &str) -> usize {
        let aor = crate::sip::registrar::Registrar::aor_of(ext, &self.cfg.domain);
        self.registrar.lookup(&aor).len()
    }

    /// A non-ACD call of `ext` began (+1) or ended (-1): agents there are busy meanwhile.
    pub(super) fn ext_call(&mut self, now: Instant, ext: &str, delta: i32) {
        if self.acd.engine.is_none() {
            return;
        }
        let n = self.acd.ext_calls.entry(ext.to_string()).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            self.acd.ext_calls.remove(ext);
        }
        self.presence_at(now, ext);
    }

    /// The phone `ext` registered, unregistered or started/ended a call: re-check only the
    /// agents there (a full sweep on every call or REGISTER would cost O(agents) each).
    pub(super) fn presence_at(&mut self, now: Instant, ext: &str) {
        if self.acd.engine.is_none() {
            return;
        }
        let mut agents: Vec<AgentId> = self.acd.at_phone.get(ext).cloned().unwrap_or_default();
        if let Some(a) = self.acd.engine.as_ref().and_then(|e| e.agent_id(ext)) {
            if !self.acd.phone.contains_key(&a) {
                agents.push(a);
            }
        }
        if agents.is_empty() {
            return;
        }
        self.presence_of(now, &agents);
        self.acd_pump(now);
    }

    pub(super) fn acd_poll_timeout(&self) -> Option<Instant> {
        let e = self.acd.engine.as_ref()?;
        [e.poll_timeout(), self.acd.next_sweep]
            .into_iter()
            .flatten()
            .min()
    }

    pub(super) fn acd_handle_timeout(&mut self, now: Instant) {
        let Some(e) = self.acd.engine.as_mut() else {
            return;
        };
        e.handle_timeout(now);
        if self.acd.next_sweep.is_none_or(|t| t <= now) {
            self.acd_presence_sweep(now);
        }
        self.acd_pump(now);
    }

    /// Ask the driver to store agent `a`'s state.
    pub(super) fn persist_agent(&mut self, a: AgentId) {
        let Some(e) = self.acd.engine.as_ref() else {
            return;
        };
        let Some(id) = self.acd.names.get(a.0 as usize).cloned() else {
            return;
        };
        let (state, reason) = match e.agent_state(a) {
            None | Some(AgentState::LoggedOut) => ("logged-out", None),
            Some(AgentState::NotReady { reason }) => ("not-ready", Some(reason.clone())),
            Some(_) => ("ready", None),
        };
        self.out.push_back(Output::AgentState(AgentRecord {
            agent: id,
            state: state.to_string(),
            reason,
            phone: self.acd.phone.get(&a).cloned(),
        }));
    }
}
