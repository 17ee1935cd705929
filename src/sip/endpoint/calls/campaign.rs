//! Campaign calls, sans-IO: we dial a lead through the campaign's trunk (we are the UAC of
//! the call's A side, like `originate`: there is no caller phone), and a person who answers
//! joins the campaign's ACD queue ahead of everyone, for at most the reach time. The ACD
//! offers them to an agent whose phone is rung with auto-answer headers; nobody within the
//! reach time and they hear the campaign's message and we hang up (an abandon). Every step
//! goes out as `Output::Dialer` for the runtime (pacing, lead book) and the event bus.
//! A dial with a target agent rings that agent first instead (`campaign_agent.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::local::App;
use super::originate::Origination;
use super::{CallRef, CallTimer, MediaCommand, Purpose, Side, State};
use crate::acd::CallId;
use crate::call::sipstr;
use crate::config::{CampaignConfig, MachineAction};
use crate::dialer::amd::{AmdResult, BeepResult, Verdict};
use crate::sdp;
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::message::{header_value, header_values};
use crate::sip::{rsip, Peer};

/// A dial the runtime asks for: one lead of one campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDial {
    pub campaign: String,
    pub lead_id: i64,
    pub attempt_id: i64,
    /// The number to dial (as the trunk wants it).
    pub number: String,
    /// The lead's custom fields: they become the call's variables (the agent's screen pop).
    pub vars: Vec<(String, String)>,
    /// Ring this agent (login id) first, then dial the lead: a preview dial, a personal
    /// callback. None: the lead first, and an answer joins the campaign's queue.
    pub agent: Option<String>,
}

/// Why a dial could not be placed at all (nothing reached the network).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    #[error("no campaign `{0}` is configured")]
    UnknownCampaign(String),
    #[error("campaign `{campaign}` names trunk `{trunk}`, which is not configured")]
    UnknownTrunk { campaign: String, trunk: String },
    #[error("the call limit is reached")]
    TooManyCalls,
    #[error("{0}")]
    NotPlaced(&'static str),
    #[error("agent `{agent}` cannot take the call: {why}")]
    AgentUnavailable { agent: String, why: &'static str },
}

/// A dialer-relevant step of one campaign call.
#[derive(Debug, Clone, PartialEq)]
pub struct DialerEvent {
    pub call: CallRef,
    /// The call's id (UUID) as CDRs and the event stream know it.
    pub uuid: String,
    pub campaign: String,
    pub lead_id: i64,
    pub attempt_id: i64,
    pub kind: DialerEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialerEventKind {
    /// The INVITE went out.
    Dialed,
    /// A person answered (or AMD could not tell): they wait for an agent now.
    Answered,
    /// An answering machine; `left_message` when the campaign's message played to it.
    Machine { left_message: bool },
    /// The person reached `agent` (by agent id) within the reach time.
    Connected { agent: String },
    /// The person found no agent within the reach time (heard the abandon message), or
    /// hung up while waiting for one.
    Abandoned,
    /// 486 / 600 / 603.
    Busy,
    /// Rang out (our CANCEL at the ring timeout), or 408 / 480 / 487.
    NoAnswer,
    /// Anything else: an invalid number, a carrier failure, early media then an error.
    Failed { cause: String },
    /// An agent-first dial's agent did not take the call (refused, no answer, hung up):
    /// the lead was never dialed.
    NotDialed { reason: String },
    /// An agent-first call that reached its agent ended (for the API; the agent now wraps
    /// up in the ACD, whose states say when they are free).
    Ended { agent: String },
}

/// Where one campaign call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Agent-first: the agent's phone rings; the lead is not dialed yet.
    AgentRinging,
    /// INVITE sent, no provisional yet.
    Calling,
    /// A provisional came (CANCEL is allowed now).
    Early,
    /// Answered, AMD listening: the lead hears silence until the verdict.
    Analyzing,
    /// A machine, `machine_action = "message"`: waiting for its beep to leave the message.
    AwaitingBeep,
    /// Answered by a person: in the queue, the reach timer runs.
    Waiting,
    /// With an agent, or resolved otherwise: nothing more to report.
    Done,
}

pub(super) struct Dialing {
    pub order: CampaignDial,
    pub uuid: String,
    pub phase: Phase,
    /// Our INVITE (CANCEL and the authenticated retry are built from it); agent-first: the
    /// one to the agent's phone.
    pub invite: rsip::Request,
    pub peer: Peer,
    pub auth_tried: bool,
    /// The carrier sent early media (a SIT or an announcement may be in it).
    pub early_media: bool,
}

/// The campaign calls in progress, and the campaigns they follow.
#[derive(Default)]
pub(super) struct Campaigns {
    pub configs: HashMap<String, CampaignConfig>,
    pub calls: HashMap<CallRef, Dialing>,
}

/// AMD's verdict arrives this long after its `total_analysis_ms` at the latest (the relay
/// checks its clock guard every 250 ms); past it the lead is queued as not sure.
const AMD_GRACE: Duration = Duration::from_millis(1000);

/// The auto-answer hint Polycom, Yealink and Grandstream phones honour.
pub(super) const AUTO_ANSWER: [(&str, &str); 2] = [
    ("Call-Info", "<sip:switchboard>;answer-after=0"),
    ("Alert-Info", "<http://localhost>;info=alert-autoanswer"),
];

impl Endpoint {
    /// The campaigns dials may be placed for (from the config; replaced on reload).
    pub fn set_campaigns(&mut self, campaigns: &[CampaignConfig]) {
        self.calls.campaigns.configs = campaigns
            .iter()
            .map(|c| (c.name.clone(), c.clone()))
            .collect();
    }

    /// One campaign's new settings (UpdateCampaign): its next dials use them; dials in
    /// progress keep the ring timer and caller ID they were placed with.
    pub fn set_campaign(&mut self, campaign: CampaignConfig) {
        self.calls
            .campaigns
            .configs
            .insert(campaign.name.clone(), campaign);
    }

    /// Dial one lead through the campaign's trunk. The outcome arrives as `Output::Dialer`.
    pub fn dial_campaign(
        &mut self,
        now: Instant,
        order: CampaignDial,
    ) -> Result<CallRef, DialError> {
        if order.agent.is_some() {
            return self.dial_campaign_agent_first(now, order);
        }
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
        if self.calls.len() >= self.cfg.max_calls {
            return Err(DialError::TooManyCalls);
        }
        let host = crate::call::dialog::host(trunk.address);
        let ruri = format!("sip:{}@{}:{}", order.number, host, trunk.address.port());
        let peer = Peer::udp(trunk.address);
        let (ring, caller_id, queue) = (cfg.ring_timeout, cfg.caller_id.clone(), cfg.queue.clone());
        let seed = Origination {
            phone: order.number.clone(),
            contact: (ruri.clone(), peer),
            from_number: caller_id,
            app: App::Bridge,
            direction: "campaign",
            trunk: Some(trunk.name.clone()),
            queue: Some(queue),
            agent: None,
            acd_id: None,
            // Answered leads go ahead of inbound callers: they may wait only seconds.
            priority: u8::MAX,
            codecs: None,
            cdr_parties: None,
            auto_answer: false,
        };
        let (call, invite) = self
            .originate_with(now, seed, Some(format!("<{ruri}>")), Purpose::Campaign)
            .map_err(DialError::NotPlaced)?;
        let uuid = match self.calls.calls.get_mut(&call) {
            Some(c) => {
                c.vars = order.vars.clone();
                c.uuid.clone()
            }
            None => return Err(DialError::NotPlaced("call vanished")),
        };
        tracing::info!(call = %uuid, campaign = %order.campaign, attempt = order.attempt_id, "campaign dial placed");
        self.calls.campaigns.calls.insert(
            call,
            Dialing {
                order,
                uuid,
                phase: Phase::Calling,
                invite,
                peer,
                auth_tried: false,
                early_media: false,
            },
        );
        self.set_call_timer(call, CallTimer::CampaignRing, now + ring);
        self.dialer_event(call, DialerEventKind::Dialed);
        self.drain_transactions(now);
        Ok(call)
    }

    /// Whether `call` is a campaign call (its agent leg gets the auto-answer hint).
    pub(super) fn is_campaign_call(&self, call: CallRef) -> bool {
        self.calls.campaigns.calls.contains_key(&call)
    }

    pub(super) fn dialer_event(&mut self, call: CallRef, kind: DialerEventKind) {
        let Some(d) = self.calls.campaigns.calls.get(&call) else {
            return;
        };
        self.out.push_back(Output::Dialer(DialerEvent {
            call,
            uuid: d.uuid.clone(),
            campaign: d.order.campaign.clone(),
            lead_id: d.order.lead_id,
            attempt_id: d.order.attempt_id,
            kind,
        }));
    }

    /// Report how the dial ended (once) and mark it resolved.
    pub(super) fn resolve(&mut self, call: CallRef, kind: DialerEventKind) {
        let Some(d) = self.calls.campaigns.calls.get_mut(&call) else {
            return;
        };
        if d.phase == Phase::Done {
            return;
        }
        d.phase = Phase::Done;
        self.dialer_event(call, kind);
    }

    fn campaign_cfg(&self, call: CallRef) -> Option<&CampaignConfig> {
        let d = self.calls.campaigns.calls.get(&call)?;
        self.calls.campaigns.configs.get(&d.order.campaign)
    }

    /// A response to our INVITE towards the lead.
    pub(super) fn campaign_response(&mut self, now: Instant, call: CallRef, resp: rsip::Response) {
        let code = resp.status_code.code();
        let Some(d) = self.calls.campaigns.calls.get_mut(&call) else {
            // The dial is over for us (rang out, cancelled): a 2xx that crossed our CANCEL
            // still needs ACK + BYE.
            if (200..300).contains(&code) {
                self.ack_and_bye_orphan(now, &resp);
            }
            return;
        };
        match code {
            100 => {}
            101..=199 => {
                if d.phase == Phase::Calling {
                    d.phase = Phase::Early;
                }
                if !resp.body.is_empty() && !d.early_media {
                    d.early_media = true;
                    tracing::debug!(call, "carrier early media");
                    self.campaign_early_media(call, &resp);
                }
            }
            200..=299 => self.campaign_answered(now, call, resp),
            401 | 407 if self.campaign_retry_auth(now, call, &resp) => {}
            _ => self.campaign_failed(now, call, code),
        }
    }

    /// The carrier's early media is where a special information tone (number unobtainable,
    /// circuits busy) plays: with call progress analysis on (`amd.enabled`), the relay
    /// takes side A's early media and listens for one (nothing is forwarded: side B has no
    /// address yet). A 183 that ends in an error without a SIT is still reported as
    /// `early-media-<code>`.
    fn campaign_early_media(&mut self, call: CallRef, resp: &rsip::Response) {
        if !self.campaign_cfg(call).is_some_and(|c| c.amd.enabled) {
            return;
        }
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let Some(neg) = sdp::parse(&resp.body)
            .ok()
            .and_then(|sd| sdp::answered_audio(&sd, &c.b.offered).ok())
        else {
            return;
        };
        self.media_remote(
            call,
            Side::A,
            neg.direction,
            neg.remote,
            neg.remote_rtcp,
            neg.telephone_event,
        );
        self.out.push_back(Output::Media(MediaCommand::Analyze {
            call,
            amd: None,
            sit: true,
        }));
    }

    /// The relay heard a special information tone from the lead (in early media, or in the
    /// first seconds after the answer): the number is not reachable, whatever the SIP said.
    pub fn campaign_sit_detected(&mut self, now: Instant, call: CallRef, tone: &str) {
        let phase = self.calls.campaigns.calls.get(&call).map(|d| d.phase);
        if !matches!(
            phase,
            Some(Phase::Calling | Phase::Early | Phase::Analyzing)
        ) {
            return;
        }
        tracing::info!(call, tone, "special information tone: the dial failed");
        if phase == Some(Phase::Analyzing) {
            self.clear_call_timer(call, CallTimer::CampaignAmd);
            self.bye(now, call, Side::A);
        } else {
            self.campaign_cancel(now, call);
        }
        self.resolve(
            call,
            DialerEventKind::Failed {
                cause: format!("sit-{tone}"),
            },
        );
        self.end_call(now, call, "campaign-sit", "callee");
    }

    /// The lead's side failed with `code` (or timed out: 408).
    pub(super) fn campaign_failed(&mut self, now: Instant, call: CallRef, code: u16) {
        let Some(d) = self.calls.campaigns.calls.get(&call) else {
            return;
        };
        if !matches!(d.phase, Phase::Calling | Phase::Early) {
            return;
        }
        let early = d.early_media;
        let (kind, cause) = match code {
            486 | 600 | 603 => (DialerEventKind::Busy, "busy"),
            408 | 480 | 487 => (DialerEventKind::NoAnswer, "no-answer"),
            _ => {
                let cause = if early {
                    format!("early-media-{code}")
                } else {
                    format!("sip-{code}")
                };
                (DialerEventKind::Failed { cause }, "failed")
            }
        };
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.cdr.a_sip_code = Some(code);
        }
        tracing::info!(call, code, ?kind, "campaign dial failed");
        self.resolve(call, kind);
        self.end_call(now, call, cause, "callee");
    }

    /// The ring timeout: CANCEL, and the dial is a no-answer.
    pub(super) fn campaign_ring_timeout(&mut self, now: Instant, call: CallRef) {
        if self.calls.campaigns.calls.get(&call).map(|d| d.phase) == Some(Phase::AgentRinging) {
            return self.campaign_agent_ring_timeout(now, call);
        }
        self.give_up_ringing(now, call, "campaign dial rang out");
    }

    /// Pacing found this dial surplus after the regulated minimum ring: hang it up as a
    /// no-answer, like the ring timeout. False if it is not ringing any more (answered,
    /// resolved): nothing is done then.
    pub fn hang_up_surplus_dial(&mut self, now: Instant, call: CallRef) -> bool {
        let done = self.give_up_ringing(now, call, "surplus campaign dial hung up");
        self.drain_transactions(now);
        done
    }

    /// A dial still ringing the lead: CANCEL it, and it is a no-answer. False if it is not
    /// ringing.
    fn give_up_ringing(&mut self, now: Instant, call: CallRef, why: &'static str) -> bool {
        if !matches!(
            self.calls.campaigns.calls.get(&call).map(|d| d.phase),
            Some(Phase::Calling | Phase::Early)
        ) {
            return false;
        }
        tracing::info!(call, "{why}");
        self.campaign_cancel(now, call);
        self.resolve(call, DialerEventKind::NoAnswer);
        self.end_call(now, call, "no-answer", "system");
        true
    }

    /// CANCEL our INVITE. (Before any provisional RFC 3261 §9.1 says wait for one; the call
    /// is over for us by then, so a late 2xx is ACKed and hung up as an orphan instead.)
    pub(super) fn campaign_cancel(&mut self, now: Instant, call: CallRef) {
        let Some(d) = self.calls.campaigns.calls.get(&call) else {
            return;
        };
        let peer = d.peer;
        if let Some(req) = super::cancel_for(&d.invite) {
            self.send_client(now, call, Purpose::Cancel, req, peer);
        }
    }

    /// The carrier challenged our INVITE: answer with the trunk's credentials, once.
    fn campaign_retry_auth(&mut self, now: Instant, call: CallRef, resp: &rsip::Response) -> bool {
        let code = resp.status_code.code();
        let Some(d) = self.calls.campaigns.calls.get(&call) else {
            return false;
        };
        if d.auth_tried {
            return false;
        }
        let Some(reg) = self
            .campaign_cfg(call)
            .and_then(|cfg| self.cfg.trunks.iter().find(|t| t.name == cfg.trunk))
            .and_then(|t| t.register.clone())
        else {
            tracing::warn!(
                call,
                code,
                "the carrier challenged a campaign dial and the trunk has no credentials"
            );
            return false;
        };
        let (header, answer_name) = if code == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let Some(challenge) = header_value(&resp.headers, header).map(str::to_string) else {
            return false;
        };
        let Some(c) = self.calls.calls.get(&call) else {
            return false;
        };
        let uri = c.a.dialog.remote_target.clone();
        let cnonce = self.new_tag();
        let Some(auth) = crate::sip::auth::client::answer(
            &challenge,
            "INVITE",
            &uri,
            &reg.username,
            &reg.password,
            &cnonce,
            1,
        ) else {
            return false;
        };
        let (local, ua, branch) = (self.local, self.cfg.user_agent.clone(), self.new_branch());
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return false;
        };
        let body = c.local_sdp[Side::A as usize].clone().unwrap_or_default();
        let Some(invite) =
            c.a.dialog
                .request("INVITE", &local, &branch, &ua)
                .header("Allow", &crate::sip::uas::allow_header())
                .header(answer_name, &auth)
                .build(Some("application/sdp"), &body)
        else {
            return false;
        };
        let peer = c.a.dialog.peer;
        let Some(d) = self.calls.campaigns.calls.get_mut(&call) else {
            return false;
        };
        d.auth_tried = true;
        d.invite = invite.clone();
        d.phase = Phase::Calling;
        self.send_client(now, call, Purpose::Campaign, invite, peer)
            .is_some()
    }

    /// The lead answered: ACK, media, the AMD hook, then the queue (or the machine action).
    fn campaign_answered(&mut self, now: Instant, call: CallRef, resp: rsip::Response) {
        let answered_ms = self.calls.unix_ms(now);
        let phase = self.calls.campaigns.calls.get(&call).map(|d| d.phase);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        if c.state != State::Ringing {
            // A retransmitted 2xx: our ACK was lost.
            return self.ack_in_dialog(call, Side::A, &resp);
        }
        c.a.dialog.remote_tag = header_value(&resp.headers, "To")
            .and_then(sipstr::tag)
            .map(str::to_string);
        if let Some(contact) = header_value(&resp.headers, "Contact") {
            c.a.dialog.remote_target = sipstr::uri(contact).to_string();
        }
        let mut routes: Vec<String> = header_values(&resp.headers, "Record-Route")
            .map(str::to_string)
            .collect();
        routes.reverse();
        c.a.dialog.route_set = routes;
        let parsed = sdp::parse(&resp.body).ok();
        let neg = parsed
            .as_ref()
            .and_then(|sd| sdp::answered_audio(sd, &c.b.offered).ok());
        c.state = State::Confirmed;
        c.cdr.a_sip_code = Some(200);
        c.cdr.answer_unix_ms = Some(answered_ms);
        // Session timer as the carrier answered it (RFC 4028 §7.2): we are this leg's UAC,
        // so unless the carrier took the job, we refresh.
        if let Some((secs, uas_refreshes)) =
            header_value(&resp.headers, "Session-Expires").and_then(sipstr::session_expires)
        {
            c.session[Side::A as usize] = Some((secs.max(90), !uas_refreshes));
        }
        self.clear_call_timer(call, CallTimer::CampaignRing);
        self.ack_in_dialog(call, Side::A, &resp);
        if !matches!(phase, Some(Phase::Calling | Phase::Early)) {
            self.bye(now, call, Side::A);
            return self.end_call(now, call, "campaign-late-answer", "system");
        }
        let Some(neg) = neg else {
            tracing::info!(call, "the lead's SDP answer is unusable");
            self.resolve(
                call,
                DialerEventKind::Failed {
                    cause: "incompatible-media".into(),
                },
            );
            self.bye(now, call, Side::A);
            return self.end_call(now, call, "incompatible-media", "system");
        };
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        c.codec = Some(neg.codec);
        c.b.offered = vec![neg.codec];
        c.a.last_offer = parsed.clone();
        c.a.remote_sdp_version = parsed.map(|p| p.origin.session_version).unwrap_or(0);
        c.cdr.codec = Some(neg.codec.name.encoding().to_string());
        let cdr = c.cdr.clone();
        self.out
            .push_back(Output::Cdr(super::CdrWrite::Start(Box::new(cdr))));
        self.media_remote(
            call,
            Side::A,
            neg.direction,
            neg.remote,
            neg.remote_rtcp,
            neg.telephone_event,
        );
        self.arm_session(now, call, Side::A);
        let Some(cfg) = self.campaign_cfg(call).cloned() else {
            return;
        };
        if !cfg.amd.enabled {
            return self.campaign_to_queue(now, call, &cfg);
        }
        // Hold the lead (they hear silence: side B has no address) while the relay listens;
        // the reach time starts only with the verdict.
        if let Some(d) = self.calls.campaigns.calls.get_mut(&call) {
            d.phase = Phase::Analyzing;
        }
        self.out.push_back(Output::Media(MediaCommand::Analyze {
            call,
            amd: Some(cfg.amd.clone()),
            sit: true,
        }));
        let guard = Duration::from_millis(u64::from(cfg.amd.total_analysis_ms)) + AMD_GRACE;
        self.set_call_timer(call, CallTimer::CampaignAmd, now + guard);
    }

    /// AMD decided about an answered lead: a person (or not sure) waits for an agent, a
    /// machine gets the campaign's `machine_action`.
    pub(super) fn campaign_amd_result(&mut self, now: Instant, call: CallRef, r: AmdResult) {
        if self.calls.campaigns.calls.get(&call).map(|d| d.phase) != Some(Phase::Analyzing) {
            return;
        }
        self.clear_call_timer(call, CallTimer::CampaignAmd);
        let Some(cfg) = self.campaign_cfg(call).cloned() else {
            return self.campaign_gone(now, call);
        };
        tracing::info!(
            call,
            verdict = r.verdict.as_str(),
            cause = r.cause.as_str(),
            after_ms = r.decided_after_ms,
            "AMD verdict"
        );
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.vars.push(("AMDSTATUS".into(), r.verdict.as_str().into()));
            c.vars.push(("AMDCAUSE".into(), r.cause.as_str().into()));
        }
        match (r.verdict, cfg.machine_action) {
            (Verdict::Human | Verdict::NotSure, _) | (Verdict::Machine, MachineAction::Agent) => {
                self.campaign_to_queue(now, call, &cfg)
            }
            (Verdict::Machine, MachineAction::Hangup) => {
                self.resolve(
                    call,
                    DialerEventKind::Machine {
                        left_message: false,
                    },
                );
                self.bye(now, call, Side::A);
                self.end_call(now, call, "campaign-machine", "system");
            }
            (Verdict::Machine, MachineAction::Message) => {
                // Voicemail records only after its beep: wait for it (or the silence after
                // the greeting) before playing.
                if let Some(d) = self.calls.campaigns.calls.get_mut(&call) {
                    d.phase = Phase::AwaitingBeep;
                }
                self.out.push_back(Output::Media(MediaCommand::AwaitBeep {
                    call,
                    amd: Box::new(cfg.amd.clone()),
                }));
                let guard =
                    Duration::from_secs(u64::from(cfg.amd.message_max_wait_secs)) + AMD_GRACE;
                self.set_call_timer(call, CallTimer::CampaignAmd, now + guard);
            }
        }
    }

    /// The relay heard the machine's beep (or silence, or waited its maximum): leave the
    /// message now.
    pub(super) fn campaign_message_cue(&mut self, now: Instant, call: CallRef, r: BeepResult) {
        if self.calls.campaigns.calls.get(&call).map(|d| d.phase) != Some(Phase::AwaitingBeep) {
            return;
        }
        tracing::info!(
            call,
            cue = r.cue.as_str(),
            after_ms = r.after_ms,
            "machine message starts"
        );
        self.campaign_leave_message(now, call);
    }

    fn campaign_leave_message(&mut self, now: Instant, call: CallRef) {
        self.clear_call_timer(call, CallTimer::CampaignAmd);
        let Some(cfg) = self.campaign_cfg(call).cloned() else {
            return self.campaign_gone(now, call);
        };
        self.resolve(call, DialerEventKind::Machine { left_message: true });
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.app = App::Goodbye("campaign-machine");
        }
        let msg = cfg.machine_message.iter().cloned().collect();
        self.play(call, Side::A, msg, false);
    }

    /// The relay never reported a verdict (it should by `total_analysis_ms`): the lead is
    /// not left in silence; they are queued as not sure (a person never hears a machine
    /// message by mistake).
    pub(super) fn campaign_amd_timeout(&mut self, now: Instant, call: CallRef) {
        let phase = self.calls.campaigns.calls.get(&call).map(|d| d.phase);
        if phase == Some(Phase::AwaitingBeep) {
            // The relay never gave its cue: the message is not left unplayed.
            tracing::warn!(call, "no beep cue in time: machine message starts");
            return self.campaign_leave_message(now, call);
        }
        if phase != Some(Phase::Analyzing) {
            return;
        }
        tracing::warn!(call, "no AMD verdict in time: queued as not sure");
        match self.campaign_cfg(call).cloned() {
            Some(cfg) => self.campaign_to_queue(now, call, &cfg),
            None => self.campaign_gone(now, call),
        }
    }

    /// The campaign was removed (config reload) while its lead was being analysed: there is
    /// no queue to send them to, so we hang up rather than leave them in silence.
    fn campaign_gone(&mut self, now: Instant, call: CallRef) {
        tracing::warn!(call, "the campaign is gone: hanging up the answered lead");
        self.resolve(
            call,
            DialerEventKind::Failed {
                cause: "campaign-removed".into(),
            },
        );
        self.bye(now, call, Side::A);
        self.end_call(now, call, "campaign-removed", "system");
    }

    /// A person answered: into the campaign's queue, with the reach timer running.
    fn campaign_to_queue(&mut self, now: Instant, call: CallRef, cfg: &CampaignConfig) {
        if let Some(d) = self.calls.campaigns.calls.get_mut(&call) {
            d.phase = Phase::Waiting;
        }
        self.dialer_event(call, DialerEventKind::Answered);
        self.set_call_timer(call, CallTimer::CampaignReach, now + cfg.reach);
        self.enter_queue(now, call, &cfg.queue);
    }

    /// The ACD connected the waiting person to `agent`.
    pub(super) fn campaign_connected(&mut self, call: CallRef, agent: &str) {
        if self.calls.campaigns.calls.get(&call).map(|d| d.phase) != Some(Phase::Waiting) {
            return;
        }
        self.clear_call_timer(call, CallTimer::CampaignReach);
        self.resolve(
            call,
            DialerEventKind::Connected {
                agent: agent.to_string(),
            },
        );
    }

    /// Nobody took the person within the reach time: the abandon message, then goodbye.
    pub(super) fn campaign_reach_timeout(&mut self, now: Instant, call: CallRef) {
        if self.calls.campaigns.calls.get(&call).map(|d| d.phase) != Some(Phase::Waiting) {
            return;
        }
        let offer = match self.calls.calls.get(&call).map(|c| &c.app) {
            Some(App::Offering { offer, .. }) => Some(*offer),
            Some(App::Queued { .. }) => None,
            _ => return,
        };
        if let Some(offer) = offer {
            self.stop_offer(now, offer);
        }
        if let Some(e) = self.acd.engine.as_mut() {
            let _ = e.handle_caller_abandoned(now, CallId(call));
        }
        self.clear_call_timer(call, CallTimer::Announce);
        tracing::info!(call, "no agent within the reach time: campaign abandon");
        self.resolve(call, DialerEventKind::Abandoned);
        let msg = self
            .campaign_cfg(call)
            .and_then(|c| c.abandon_message.clone());
        if let Some(c) = self.calls.calls.get_mut(&call) {
            c.app = App::Goodbye("campaign-abandoned");
        }
        match msg {
            Some(m) => self.play(call, Side::A, vec![m], false),
            None => {
                self.bye(now, call, Side::A);
                self.end_call(now, call, "campaign-abandoned", "system");
            }
        }
        self.acd_pump(now);
    }

    /// The call is ending (any reason): report what is not reported yet, forget it.
    pub(super) fn campaign_call_over(&mut self, now: Instant, call: CallRef, cause: &str) {
        let Some(d) = self.calls.campaigns.calls.get(&call) else {
            return;
        };
        if d.order.agent.is_some() {
            self.campaign_agent_call_over(now, call, cause);
            self.calls.campaigns.calls.remove(&call);
            return;
        }
        match d.phase {
            Phase::AgentRinging => {}
            Phase::Calling | Phase::Early => {
                self.campaign_cancel(now, call);
                self.resolve(
                    call,
                    DialerEventKind::Failed {
                        cause: cause.to_string(),
                    },
                );
            }
            // The person hung up before an agent came: an abandon all the same.
            Phase::Waiting => self.resolve(call, DialerEventKind::Abandoned),
            // Hung up while AMD listened (no agent was wanted yet): not an abandon.
            Phase::Analyzing => self.resolve(
                call,
                DialerEventKind::Failed {
                    cause: "hangup-during-amd".into(),
                },
            ),
            // A machine that hung up before its beep: no message was left.
            Phase::AwaitingBeep => self.resolve(
                call,
                DialerEventKind::Machine {
                    left_message: false,
                },
            ),
            Phase::Done => {}
        }
        self.calls.campaigns.calls.remove(&call);
    }
}
