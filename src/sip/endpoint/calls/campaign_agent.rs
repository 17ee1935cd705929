//! Agent-first campaign dials (a preview dial, a personal callback): the agent's phone
//! rings first, with the auto-answer hint (we are its UAC: click-to-call's path,
//! `App::ClickToCall`), and is kept busy meanwhile so the ACD offers it nothing else; once
//! the agent answers, the lead is dialed through the campaign's trunk with its caller ID,
//! and the two are bridged when the lead answers.
//!
//! The runtime hears the same `Output::Dialer` steps as for any campaign call: `Dialed` when
//! the lead's INVITE goes out, then `Busy` / `NoAnswer` / `Failed`, or `Answered` and at once
//! `Connected` (the agent is already there). Two more: `NotDialed` when the agent did not
//! take the call (the lead was never dialed: the attempt does not count), and `Ended` when
//! a connected call is over (for the API: the agent's state comes from the ACD).
//!
//! The ACD routes none of this, but it is the agent's work: at `Connected` the engine hears
//! of an external call (the agent is OnCall), at its end the agent wraps up for the
//! campaign queue's `wrap_up_secs` and then is Ready, as after a queue call.

use std::time::Instant;

use super::campaign::{Dialing, Phase};
use super::local::App;
use super::originate::Origination;
use super::{CallRef, CallTimer, Purpose};
use super::{CampaignDial, DialError, DialerEventKind};
use crate::acd::{self, StateKind};
use crate::sip::endpoint::Endpoint;

impl Endpoint {
    /// Ring `order.agent`'s phone for the lead; the lead is dialed once they answer.
    pub(super) fn dial_campaign_agent_first(
        &mut self,
        now: Instant,
        order: CampaignDial,
    ) -> Result<CallRef, DialError> {
        let agent = order.agent.clone().unwrap_or_default();
        let unavailable = |why| DialError::AgentUnavailable {
            agent: agent.clone(),
            why,
        };
        let cfg = self
            .calls
            .campaigns
            .configs
            .get(&order.campaign)
            .ok_or_else(|| DialError::UnknownCampaign(order.campaign.clone()))?;
        let trunk = self
            .cfg
            .trunks
            .iter()
            .find(|t| t.name == cfg.trunk)
            .ok_or_else(|| DialError::UnknownTrunk {
                campaign: cfg.name.clone(),
                trunk: cfg.trunk.clone(),
            })?;
        let (trunk, ring, caller_id, queue) = (
            trunk.name.clone(),
            cfg.ring_timeout,
            cfg.caller_id.clone(),
            cfg.queue.clone(),
        );
        if self.calls.len() >= self.cfg.max_calls {
            return Err(DialError::TooManyCalls);
        }
        let engine = self.acd.engine.as_ref().ok_or(unavailable("no ACD"))?;
        let a = engine.agent_id(&agent).ok_or(unavailable("not an agent"))?;
        let state = engine.agent_state(a).map(|s| s.kind());
        if matches!(state, None | Some(StateKind::LoggedOut)) {
            return Err(unavailable("logged out"));
        }
        if matches!(state, Some(StateKind::Offered | StateKind::OnCall)) {
            return Err(unavailable("on a call, or a call rings there"));
        }
        let phone = self.agent_phone(a).ok_or(unavailable("no phone"))?;
        if self.ext_is_on_call(&phone) {
            return Err(unavailable("their phone is on a call"));
        }
        let contact = self
            .contacts_of(&phone)
            .into_iter()
            .next()
            .ok_or(unavailable("their phone is not registered"))?;
        let peer = contact.1;
        let seed = Origination {
            phone: phone.clone(),
            contact,
            // The agent's phone shows whom it is about to call.
            from_number: order.number.clone(),
            app: App::ClickToCall {
                number: order.number.clone(),
                trunk: Some(trunk.clone()),
                rang: false,
            },
            direction: "campaign",
            trunk: Some(trunk),
            queue: Some(queue),
            agent: Some(agent.clone()),
            acd_id: None,
            priority: 0,
            codecs: None,
            // The campaign call's CDR: the campaign calling the lead, the agent on it.
            cdr_parties: Some((caller_id.clone(), order.number.clone())),
            auto_answer: true,
        };
        let (call, invite) = self
            .originate_with(now, seed, None, Purpose::AgentFirst)
            .map_err(DialError::NotPlaced)?;
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return Err(DialError::NotPlaced("call vanished"));
        };
        c.present = Some(caller_id);
        c.vars = order.vars.clone();
        c.busy_exts.push(phone.clone());
        let uuid = c.uuid.clone();
        tracing::info!(call = %uuid, campaign = %order.campaign, agent = %agent, attempt = order.attempt_id, "agent-first campaign dial: ringing the agent");
        self.calls.campaigns.calls.insert(
            call,
            Dialing {
                order,
                uuid,
                phase: Phase::AgentRinging,
                invite,
                peer,
                auth_tried: false,
                early_media: false,
            },
        );
        // The agent's phone is busy meanwhile: no ACD offers to it.
        self.ext_call(now, &phone, 1);
        self.set_call_timer(call, CallTimer::CampaignRing, now + ring);
        self.drain_transactions(now);
        Ok(call)
    }

    /// The agent did not answer within the campaign's ring timeout.
    pub(super) fn campaign_agent_ring_timeout(&mut self, now: Instant, call: CallRef) {
        tracing::info!(call, "agent-first campaign dial: the agent did not answer");
        self.campaign_cancel(now, call);
        self.end_call(now, call, "agent-unanswered", "system");
    }

    /// The agent answered and the lead's INVITE went out (`dial_customer` ran): the lead
    /// rings for the campaign's ring timeout.
    pub(super) fn campaign_agent_answered(&mut self, now: Instant, call: CallRef) {
        let Some(d) = self.calls.campaigns.calls.get_mut(&call) else {
            return;
        };
        if d.phase != Phase::AgentRinging || !self.calls.calls.contains_key(&call) {
            return;
        }
        d.phase = Phase::Calling;
        let ring = self
            .calls
            .campaigns
            .configs
            .get(&d.order.campaign)
            .map(|c| c.ring_timeout);
        self.clear_call_timer(call, CallTimer::CampaignRing);
        if let Some(ring) = ring {
            self.set_call_timer(call, CallTimer::Ring, now + ring);
        }
        self.dialer_event(call, DialerEventKind::Dialed);
    }

    /// The lead answered an agent-first dial: they are with the agent at once.
    pub(super) fn campaign_customer_answered(&mut self, now: Instant, call: CallRef) {
        let Some(d) = self.calls.campaigns.calls.get(&call) else {
            return;
        };
        if !matches!(d.phase, Phase::Calling | Phase::Early) {
            return;
        }
        let Some(agent) = d.order.agent.clone() else {
            return;
        };
        let queue = self
            .calls
            .campaigns
            .configs
            .get(&d.order.campaign)
            .map(|c| c.queue.clone());
        self.dialer_event(call, DialerEventKind::Answered);
        self.resolve(
            call,
            DialerEventKind::Connected {
                agent: agent.clone(),
            },
        );
        // After `Connected`: pacing counts the talk from the dial, then sees OnCall as it.
        if let Some(e) = self.acd.engine.as_mut() {
            let a = e.agent_id(&agent);
            let q = queue.and_then(|q| e.queue_id(&q));
            if let (Some(a), Some(q)) = (a, q) {
                if let Err(err) = e.handle_external_call_started(now, a, acd::CallId(call), q) {
                    tracing::warn!(call, agent = %agent, error = %err, "the ACD did not take the agent-first call");
                }
            }
        }
        self.acd_pump(now);
    }

    /// An agent-first call is ending with `cause`: the step not reported yet.
    pub(super) fn campaign_agent_call_over(&mut self, now: Instant, call: CallRef, cause: &str) {
        let Some(d) = self.calls.campaigns.calls.get(&call) else {
            return;
        };
        let agent = d.order.agent.clone().unwrap_or_default();
        let kind = match d.phase {
            Phase::AgentRinging => DialerEventKind::NotDialed {
                reason: cause.to_string(),
            },
            // The lead's leg did not connect. (Analyzing, AwaitingBeep and Waiting are
            // customer-first phases, never reached here: no AMD, no queue.)
            Phase::Calling
            | Phase::Early
            | Phase::Analyzing
            | Phase::AwaitingBeep
            | Phase::Waiting => {
                let code = self.calls.calls.get(&call).and_then(|c| c.cdr.b_sip_code);
                match (code, cause) {
                    (Some(486 | 600 | 603), _) => DialerEventKind::Busy,
                    (Some(408 | 480 | 487), _) | (_, "no-answer") => DialerEventKind::NoAnswer,
                    (Some(code), _) if code >= 300 => DialerEventKind::Failed {
                        cause: format!("sip-{code}"),
                    },
                    // The agent hung up while the lead rang, or the call failed otherwise.
                    _ => DialerEventKind::Failed {
                        cause: cause.to_string(),
                    },
                }
            }
            Phase::Done => {
                // Resolved as connected: the agent wraps up (the ACD says when they are free).
                self.dialer_event(
                    call,
                    DialerEventKind::Ended {
                        agent: agent.clone(),
                    },
                );
                if let Some(e) = self.acd.engine.as_mut() {
                    if let Some(a) = e.agent_id(&agent) {
                        // NotConnected: the start was refused (logged out), nothing to end.
                        let _ = e.handle_external_call_ended(now, a);
                    }
                }
                return self.acd_pump(now);
            }
        };
        self.resolve(call, kind);
    }
}
