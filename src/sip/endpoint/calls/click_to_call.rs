//! Click-to-call (the API's Originate): the agent's phone rings first (we are its UAC, as
//! for a queued callback: `originate`), and once the agent answers the customer is dialled
//! — an extension, or an outside number through the dial plan's routes as the agent's own
//! extension may dial — and the two are bridged (`agent_first_response` → `dial_customer`
//! → `connect_to`, the callback's path).
//!
//! Caller ID shown to the customer: the request's `caller_id`, else the trunk's
//! `caller_id`, else the agent's extension.

use std::time::Instant;

use super::local::App;
use super::originate::Origination;
use super::{CallEvent, CallRef, CdrWrite, Side};
use crate::call::dialplan::{Dialplan, Origin, Target};
use crate::sip::endpoint::{Endpoint, Output};

/// The CDR direction of a click-to-call.
pub const CLICK_TO_CALL_DIRECTION: &str = "click-to-call";

/// What the API asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickToCall {
    /// An ACD agent's login id, or an extension.
    pub agent_or_extension: String,
    pub number: String,
    pub caller_id: Option<String>,
    pub variables: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginateError {
    #[error("no agent or extension `{0}` (ListAgents shows the agents; extensions are [[users]])")]
    UnknownAgent(String),
    #[error(
        "agent `{0}` is logged out and no extension has their id: log them in at a phone first"
    )]
    NoPhone(String),
    #[error("`{0}`'s phone is not registered")]
    NotRegistered(String),
    #[error("`{0}` is busy (on a call, or a call rings there)")]
    Busy(String),
    #[error("`{0}` is not a number to dial: digits with an optional leading +, at most 32")]
    BadNumber(String),
    #[error("`caller_id` `{0}` must be digits with an optional leading +, at most 32")]
    BadCallerId(String),
    #[error("`{number}` cannot be dialled from {phone}: {why}")]
    NoRoute {
        number: String,
        phone: String,
        why: String,
    },
    #[error("`{0}` is blocked (UnblockNumber lifts it)")]
    Blocked(String),
    #[error("cannot place the call: {0}")]
    Failed(&'static str),
}

impl OriginateError {
    /// Whether the error is about a name that does not exist (vs a state or an argument).
    pub fn is_not_found(&self) -> bool {
        matches!(self, OriginateError::UnknownAgent(_))
    }

    pub fn is_invalid_argument(&self) -> bool {
        matches!(
            self,
            OriginateError::BadNumber(_) | OriginateError::BadCallerId(_)
        )
    }
}

impl Endpoint {
    /// Ring the agent's phone for a click-to-call; returns the new call's id.
    pub fn click_to_call(
        &mut self,
        now: Instant,
        req: ClickToCall,
    ) -> Result<String, OriginateError> {
        use OriginateError as E;
        let who = req.agent_or_extension.trim().to_string();
        let number = req.number.trim().to_string();
        if !super::valid_number(&number) {
            return Err(E::BadNumber(number));
        }
        let caller_id = req.caller_id.map(|c| c.trim().to_string());
        if let Some(c) = caller_id.as_ref().filter(|c| !super::valid_number(c)) {
            return Err(E::BadCallerId(c.clone()));
        }
        // An agent (their phone), or an extension (and the agent logged in there, if any).
        let engine_agent = self.acd.engine.as_ref().and_then(|e| e.agent_id(&who));
        let (agent, phone) = match engine_agent {
            Some(a) => (Some(a), self.agent_phone(a).ok_or(E::NoPhone(who.clone()))?),
            None if self.cfg.users.contains_key(&who) => (self.agent_at(&who), who.clone()),
            None => return Err(E::UnknownAgent(who)),
        };
        let agent_name = agent.and_then(|a| self.acd.names.get(a.0 as usize).cloned());
        if let Some(a) = agent {
            let st = self
                .acd
                .engine
                .as_ref()
                .and_then(|e| e.agent_state(a))
                .map(|s| s.kind());
            if matches!(
                st,
                Some(crate::acd::StateKind::Offered | crate::acd::StateKind::OnCall)
            ) {
                return Err(E::Busy(who));
            }
        }
        if self.ext_is_on_call(&phone) {
            return Err(E::Busy(who));
        }
        let contact = self
            .contacts_of(&phone)
            .into_iter()
            .next()
            .ok_or_else(|| E::NotRegistered(phone.clone()))?;
        let (dial, trunk) = self.click_to_call_target(&phone, &number)?;
        if self
            .blocked_entry(now, [number.as_str(), dial.as_str()])
            .is_some()
        {
            return Err(E::Blocked(number));
        }
        // Precedence: the request's caller ID, the trunk's, the agent's extension.
        let present = caller_id.or_else(|| {
            trunk
                .as_ref()
                .and_then(|t| self.cfg.trunks.iter().find(|x| x.name == *t))
                .and_then(|t| t.caller_id.clone())
        });
        let seed = Origination {
            phone: phone.clone(),
            contact,
            // The agent's phone shows whom it is about to call.
            from_number: number.clone(),
            app: App::ClickToCall {
                number: dial.clone(),
                trunk: trunk.clone(),
                rang: false,
            },
            direction: CLICK_TO_CALL_DIRECTION,
            trunk,
            queue: None,
            agent: agent_name,
            acd_id: None,
            priority: 0,
            codecs: None,
            cdr_parties: Some((phone.clone(), number.clone())),
            auto_answer: false,
        };
        let call = self.originate(now, seed).map_err(E::Failed)?;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return Err(E::Failed("the call vanished"));
        };
        c.present = present;
        c.vars = req.variables;
        c.busy_exts.push(phone.clone());
        let uuid = c.uuid.clone();
        tracing::info!(call = %uuid, phone = %phone, number = %number, "click-to-call: ringing the agent first");
        self.out.push_back(Output::Event(CallEvent::Created {
            call: uuid.clone(),
            caller: phone.clone(),
            callee: number,
        }));
        // The agent's phone is busy meanwhile: no ACD offers to it.
        self.ext_call(now, &phone, 1);
        self.drain_transactions(now);
        Ok(uuid)
    }

    /// Where `number` goes when `phone` dials it: (number to dial, trunk) — no trunk for an
    /// extension.
    fn click_to_call_target(
        &self,
        phone: &str,
        number: &str,
    ) -> Result<(String, Option<String>), OriginateError> {
        let users = &self.cfg.users;
        let permissions = &self.cfg.permissions;
        let ivr_ext = &self.cfg.ivr.extensions;
        let dp = Dialplan {
            plan: &self.cfg.dialplan,
            is_extension: &|e| users.contains_key(e),
            permissions: &|u| permissions.get(u).cloned().unwrap_or_default(),
            ivr_extensions: &|e| ivr_ext.get(e).cloned(),
        };
        let no_route = |why: String| OriginateError::NoRoute {
            number: number.to_string(),
            phone: phone.to_string(),
            why,
        };
        match dp.route(&Origin::User(phone.to_string()), number) {
            Ok(Target::Extension(e)) => {
                if self.contacts_of(&e).is_empty() {
                    return Err(OriginateError::NotRegistered(e));
                }
                Ok((e, None))
            }
            Ok(Target::Trunk { trunk, number }) => Ok((number, Some(trunk))),
            Ok(_) => Err(no_route(
                "it is an IVR, queue or feature code; click-to-call dials extensions and outside numbers"
                    .into(),
            )),
            Err(no) => Err(no_route(no.why)),
        }
    }

    /// Whether `ext` is a party of, or kept busy by, an active call.
    pub(super) fn ext_is_on_call(&self, ext: &str) -> bool {
        self.calls.calls.values().any(|c| {
            c.busy_exts.iter().any(|e| e == ext) || c.cdr.caller == ext || c.cdr.callee == ext
        })
    }

    /// The agent's phone rings (once per call: the first provisional).
    pub(super) fn agent_first_ringing(&mut self, call: CallRef, code: u16) {
        if !(180..=183).contains(&code) {
            return;
        }
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if let App::ClickToCall { rang, .. } = &mut c.app {
            if !*rang {
                *rang = true;
                self.out.push_back(Output::Event(CallEvent::Ringing {
                    call: c.uuid.clone(),
                }));
            }
        }
    }

    /// The agent answered: they hear ringback while the customer is dialled.
    pub(super) fn click_to_call_answered(
        &mut self,
        now: Instant,
        call: CallRef,
        number: &str,
        trunk: Option<&str>,
    ) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let uuid = c.uuid.clone();
        self.out
            .push_back(Output::Cdr(CdrWrite::Start(Box::new(c.cdr.clone()))));
        self.out
            .push_back(Output::Event(CallEvent::Answered { call: uuid }));
        self.play(
            call,
            Side::A,
            vec![super::local::RINGBACK.to_string()],
            true,
        );
        self.dial_customer(now, call, number, trunk);
        // An agent-first campaign dial: the lead rings now.
        self.campaign_agent_answered(now, call);
    }
}
