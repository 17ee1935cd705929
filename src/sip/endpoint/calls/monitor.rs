//! Supervisors listening in: a user with the `monitor` permission dials the monitor code
//! and an agent's id (`*551002`); we answer them and the agent's current call is mixed for
//! them. Keys on the supervisor's phone switch the mode during the session: 1 listen (hear
//! both, heard by nobody), 2 whisper (heard by the agent only), 3 barge (three-way).

use std::time::Instant;

use super::local::App;
use super::{CallRef, MediaCommand, Side, State};
use crate::media::monitor::MonitorMode;
use crate::media::player::Law;
use crate::sdp::CodecName;
use crate::sip::endpoint::{Endpoint, Output};

/// The permission a user needs in `[[users]] permissions` to monitor calls.
pub const MONITOR_PERMISSION: &str = "monitor";

impl Endpoint {
    /// The answered call agent `agent` is on now (an ACD call, or their own).
    pub(super) fn call_of_agent(&self, agent: &str) -> Option<CallRef> {
        let phone = self
            .acd
            .engine
            .as_ref()
            .and_then(|e| e.agent_id(agent))
            .and_then(|a| self.agent_phone(a))
            .unwrap_or_else(|| agent.to_string());
        self.calls
            .calls
            .iter()
            .filter(|(_, c)| {
                c.state != State::Ringing
                    && !matches!(c.app, App::Monitor { .. } | App::MonitorPending { .. })
            })
            .filter(|(_, c)| c.b.dialog.is_some() || c.acd_id.is_some())
            .find(|(_, c)| {
                c.cdr.agent.as_deref() == Some(agent)
                    || c.cdr.callee == phone
                    || c.cdr.caller == phone
            })
            .map(|(k, _)| *k)
    }

    /// May `ext` monitor calls?
    pub(super) fn may_monitor(&self, ext: &str) -> bool {
        self.cfg
            .permissions
            .get(ext)
            .is_some_and(|p| p.iter().any(|x| x == MONITOR_PERMISSION))
    }

    /// The supervisor's call is answered: start mixing `target` for it, in listen mode.
    pub(super) fn start_monitor(&mut self, call: CallRef, target: CallRef) {
        let law_of = |c: &super::Call| match c.codec.map(|k| k.name) {
            Some(CodecName::Pcma) => Law::Pcma,
            _ => Law::Pcmu,
        };
        let (Some(t), Some(s)) = (self.calls.calls.get(&target), self.calls.calls.get(&call))
        else {
            return;
        };
        if t.monitored_by.is_some() {
            tracing::info!(call, target, "call already monitored");
            return;
        }
        let (law, supervisor_law) = (law_of(t), law_of(s));
        let (tu, su) = (t.uuid.clone(), s.uuid.clone());
        if let Some(t) = self.calls.calls.get_mut(&target) {
            t.monitored_by = Some(call);
        }
        if let Some(s) = self.calls.calls.get_mut(&call) {
            s.app = App::Monitor { target };
        }
        tracing::info!(supervisor = %su, call = %tu, "monitoring started (listen)");
        self.out.push_back(Output::Media(MediaCommand::Monitor {
            target,
            supervisor: call,
            mode: MonitorMode::Listen,
            law,
            supervisor_law,
        }));
    }

    /// A key from a supervisor: switch the mode.
    pub(super) fn monitor_digit(&mut self, call: CallRef, digit: char) -> bool {
        let Some(c) = self.calls.calls.get(&call) else {
            return false;
        };
        let App::Monitor { target } = c.app else {
            return false;
        };
        let mode = match digit {
            '1' => MonitorMode::Listen,
            '2' => MonitorMode::Whisper,
            '3' => MonitorMode::Barge,
            _ => return true,
        };
        tracing::info!(supervisor = %c.uuid, ?mode, "monitor mode");
        self.out
            .push_back(Output::Media(MediaCommand::MonitorMode { target, mode }));
        true
    }

    /// Start monitoring from the API: ring the supervisor's phone; once it answers it
    /// hears `agent`'s call (listen mode). Returns the supervisor call's id.
    pub fn monitor(
        &mut self,
        now: Instant,
        supervisor: &str,
        agent: &str,
    ) -> Result<String, String> {
        if !self.may_monitor(supervisor) {
            return Err(format!("user {supervisor} lacks the `monitor` permission"));
        }
        let target = self
            .call_of_agent(agent)
            .ok_or_else(|| format!("agent {agent} is on no call"))?;
        let contact = self
            .contacts_of(supervisor)
            .into_iter()
            .next()
            .ok_or_else(|| format!("{supervisor}'s phone is not registered"))?;
        let seed = super::originate::Origination {
            phone: supervisor.to_string(),
            contact,
            from_number: agent.to_string(),
            app: App::MonitorPending { target },
            direction: "monitor",
            trunk: None,
            queue: None,
            agent: Some(agent.to_string()),
            acd_id: None,
            priority: 0,
            codecs: None,
            cdr_parties: None,
            auto_answer: false,
        };
        let call = self.originate(now, seed).map_err(str::to_string)?;
        self.drain_transactions(now);
        Ok(self
            .calls
            .calls
            .get(&call)
            .map(|c| c.uuid.clone())
            .unwrap_or_default())
    }

    /// Switch a monitoring session's mode (the Rust API): by the supervisor call's id.
    pub fn set_monitor_mode(
        &mut self,
        supervisor_call: &str,
        mode: MonitorMode,
    ) -> Result<(), String> {
        let found = self
            .calls
            .calls
            .iter()
            .find(|(_, c)| c.uuid == supervisor_call)
            .map(|(k, c)| (*k, matches!(c.app, App::Monitor { .. })));
        match found {
            Some((call, true)) => {
                let digit = match mode {
                    MonitorMode::Listen => '1',
                    MonitorMode::Whisper => '2',
                    MonitorMode::Barge => '3',
                };
                self.monitor_digit(call, digit);
                Ok(())
            }
            Some((_, false)) => Err(format!("call {supervisor_call} is not monitoring")),
            None => Err(format!("no call {supervisor_call}")),
        }
    }

    /// `call` ends: stop what it monitored; returns the supervisor call monitoring it (to
    /// be hung up once `call` is gone).
    pub(super) fn monitor_over(&mut self, call: CallRef) -> Option<CallRef> {
        let c = self.calls.calls.get(&call)?;
        if let App::Monitor { target } = c.app {
            self.out
                .push_back(Output::Media(MediaCommand::MonitorStop { target }));
            if let Some(t) = self.calls.calls.get_mut(&target) {
                t.monitored_by = None;
            }
            return None;
        }
        c.monitored_by
    }

    /// After a monitored call ended: the supervisor's session ends too.
    pub(super) fn end_supervisor(&mut self, now: Instant, sup: CallRef) {
        if let Some(s) = self.calls.calls.get_mut(&sup) {
            s.app = App::Bridge;
        }
        self.bye(now, sup, Side::A);
        self.end_call(now, sup, "monitored-call-ended", "system");
    }
}
