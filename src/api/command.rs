//! Control commands, carried from the gRPC service to the daemon's main loop (the endpoint's
//! one owner) over a channel, each with a oneshot for its reply.

use std::time::Instant;

use tokio::sync::oneshot;
use tonic::Status;

use super::{pb, views};
use crate::media::monitor::MonitorMode;
use crate::sip::endpoint::acd::{AgentCommand, AgentCommandError};
use crate::sip::endpoint::calls::{
    BlockEntry, BlockError, ClickToCall, DispositionError, RecordingControl, RecordingControlError,
};
use crate::sip::endpoint::calls::{CallControlError, Side};
use crate::sip::endpoint::Endpoint;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    ListCalls,
    ListAgents,
    ListQueues,
    Hangup {
        call_id: String,
    },
    Agent {
        agent: String,
        cmd: AgentCommand,
    },
    Monitor {
        supervisor: String,
        agent: String,
    },
    SetMonitorMode {
        call_id: String,
        mode: MonitorMode,
    },
    /// Run by the dialer runtime, not the endpoint (see `campaigns::execute`).
    ListCampaigns,
    Campaign {
        campaign: String,
        state: crate::dialer::runtime::RunState,
    },
    /// Run by the dialer runtime; the daemon hands the endpoint the new settings and
    /// stores the overrides before replying.
    UpdateCampaign {
        campaign: String,
        update: crate::dialer::overrides::Overrides,
        clear: bool,
    },
    /// Run by the dialer runtime (see `campaigns::execute`).
    GetPreviewLead {
        agent: String,
    },
    SkipPreviewLead {
        agent: String,
        lead_id: i64,
    },
    /// Run by the dialer runtime and the endpoint (see `preview::dial`).
    DialPreviewLead {
        agent: String,
        lead_id: i64,
    },
    /// `side` None: the customer.
    Hold {
        call_id: String,
        side: Option<Side>,
    },
    Resume {
        call_id: String,
    },
    Transfer {
        call_id: String,
        target: String,
        keep: Option<Side>,
    },
    StartConsult {
        call_id: String,
        target: String,
    },
    CompleteTransfer {
        call_id: String,
    },
    CancelConsult {
        call_id: String,
    },
    Originate(ClickToCall),
    SetDisposition {
        call_id: String,
        code: String,
        notes: Option<String>,
        callback_at_unix_ms: Option<i64>,
    },
    ListDispositions,
    Recording {
        call_id: String,
        op: RecordingControl,
    },
    BlockNumber {
        number: String,
        reason: String,
        expires_unix_ms: Option<i64>,
    },
    UnblockNumber {
        number: String,
    },
    ListBlocked,
}

impl Command {
    /// Commands whose effect must be in the store before the client hears it worked.
    pub fn is_durable(&self) -> bool {
        matches!(
            self,
            Command::BlockNumber { .. }
                | Command::UnblockNumber { .. }
                | Command::SetDisposition { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiReply {
    Calls(Vec<pb::CallInfo>),
    Agents(Vec<pb::AgentInfo>),
    Queues(Vec<pb::QueueInfo>),
    Agent(pb::AgentInfo),
    /// The supervisor's call id.
    Monitor(String),
    Campaigns(Vec<pb::CampaignInfo>),
    Campaign(pb::CampaignInfo),
    /// UpdateCampaign done on the runtime: the daemon stores `overrides` (empty: none) and
    /// gives the endpoint the new settings, then replies `Campaign`.
    CampaignUpdated {
        campaign: pb::CampaignInfo,
        overrides: crate::dialer::overrides::Overrides,
    },
    PreviewLead(pb::PreviewLead),
    PreviewDialed {
        call_id: String,
        attempt_id: i64,
    },
    /// The side put on hold.
    Held(Side),
    /// What a transfer target turned out to be (extension | queue | number).
    Transferred(&'static str),
    /// The consult call's id.
    Consult(String),
    /// A click-to-call's call id.
    Originated(String),
    Dispositions(Vec<pb::DispositionCode>),
    Blocked(pb::BlockedNumber),
    BlockedList(Vec<pb::BlockedNumber>),
    Done,
}

pub struct ApiRequest {
    pub command: Command,
    pub reply: oneshot::Sender<Result<ApiReply, Status>>,
}

fn agent_error(e: AgentCommandError) -> Status {
    match e {
        AgentCommandError::NoAcd => {
            Status::failed_precondition("no ACD is configured ([[agents]] and [[queues]])")
        }
        AgentCommandError::UnknownAgent(a) => Status::not_found(format!(
            "no agent `{a}` in [[agents]] (ListAgents shows them)"
        )),
        AgentCommandError::UnknownPhone(p) => {
            Status::not_found(format!("no user `{p}` in [[users]] to take calls at"))
        }
        AgentCommandError::Refused(why) => Status::failed_precondition(why),
    }
}

fn call_control_error(e: CallControlError) -> Status {
    let why = e.to_string();
    match e {
        CallControlError::NoCall(_) => Status::not_found(why),
        CallControlError::NoTarget(_) => Status::invalid_argument(why),
        CallControlError::NoConsult(_)
        | CallControlError::ConsultNotReady { .. }
        | CallControlError::NotConnected(_)
        | CallControlError::AlreadyHeld(_)
        | CallControlError::NotHeld(_)
        | CallControlError::Unsupported { .. }
        | CallControlError::Unreachable { .. } => Status::failed_precondition(why),
    }
}

fn originate_error(e: crate::sip::endpoint::calls::OriginateError) -> Status {
    if e.is_not_found() {
        Status::not_found(e.to_string())
    } else if e.is_invalid_argument() {
        Status::invalid_argument(e.to_string())
    } else {
        Status::failed_precondition(e.to_string())
    }
}

fn recording_error(e: RecordingControlError) -> Status {
    match e {
        RecordingControlError::NoSuchCall => {
            Status::not_found("no such active call (ListCalls shows the active ones)")
        }
        other => Status::failed_precondition(other.to_string()),
    }
}

fn disposition_error(e: DispositionError) -> Status {
    match e {
        DispositionError::NoSuchCall(_) => Status::not_found(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

fn block_error(e: BlockError) -> Status {
    match e {
        BlockError::NotBlocked(_) => Status::not_found(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

fn blocked_pb(e: BlockEntry) -> pb::BlockedNumber {
    pb::BlockedNumber {
        number: e.number,
        reason: e.reason,
        created_unix_ms: e.created_unix_ms,
        expires_unix_ms: e.expires_unix_ms.unwrap_or(0),
    }
}

/// Carry out a command on the endpoint (in the main loop).
pub fn execute(endpoint: &mut Endpoint, now: Instant, cmd: Command) -> Result<ApiReply, Status> {
    match cmd {
        Command::ListCalls => Ok(ApiReply::Calls(views::calls(endpoint, now))),
        Command::ListAgents => Ok(ApiReply::Agents(views::agents(endpoint, now))),
        Command::ListQueues => Ok(ApiReply::Queues(views::queues(endpoint, now))),
        Command::Hangup { call_id } => endpoint
            .hangup(now, &call_id)
            .map(|()| ApiReply::Done)
            .map_err(Status::not_found),
        Command::Agent { agent, cmd } => {
            endpoint
                .agent_command(now, &agent, cmd)
                .map_err(agent_error)?;
            let view = endpoint
                .agent_view(now, &agent)
                .ok_or_else(|| Status::not_found(format!("no agent `{agent}`")))?;
            Ok(ApiReply::Agent(views::agent_info(view)))
        }
        Command::Monitor { supervisor, agent } => endpoint
            .monitor(now, &supervisor, &agent)
            .map(ApiReply::Monitor)
            // PERMISSION_DENIED stays about the token's scopes: a supervisor without the
            // `monitor` permission is a state of the config, like an unregistered phone.
            .map_err(Status::failed_precondition),
        Command::SetMonitorMode { call_id, mode } => endpoint
            .set_monitor_mode(&call_id, mode)
            .map(|()| ApiReply::Done)
            .map_err(|why| {
                if why.starts_with("no call") {
                    Status::not_found(why)
                } else {
                    Status::failed_precondition(why)
                }
            }),
        Command::ListCampaigns
        | Command::Campaign { .. }
        | Command::UpdateCampaign { .. }
        | Command::GetPreviewLead { .. }
        | Command::SkipPreviewLead { .. }
        | Command::DialPreviewLead { .. } => Err(Status::internal(
            "campaign commands are run by the dialer runtime",
        )),
        Command::Hold { call_id, side } => endpoint
            .hold(now, &call_id, side)
            .map(ApiReply::Held)
            .map_err(call_control_error),
        Command::Resume { call_id } => endpoint
            .resume(now, &call_id)
            .map(|_| ApiReply::Done)
            .map_err(call_control_error),
        Command::Transfer {
            call_id,
            target,
            keep,
        } => endpoint
            .transfer(now, &call_id, &target, keep)
            .map(ApiReply::Transferred)
            .map_err(call_control_error),
        Command::StartConsult { call_id, target } => endpoint
            .start_consult(now, &call_id, &target)
            .map(ApiReply::Consult)
            .map_err(call_control_error),
        Command::CompleteTransfer { call_id } => endpoint
            .complete_transfer(now, &call_id)
            .map(|()| ApiReply::Done)
            .map_err(call_control_error),
        Command::CancelConsult { call_id } => endpoint
            .cancel_consult(now, &call_id)
            .map(|()| ApiReply::Done)
            .map_err(call_control_error),
        Command::Originate(req) => endpoint
            .click_to_call(now, req)
            .map(ApiReply::Originated)
            .map_err(originate_error),
        Command::SetDisposition {
            call_id,
            code,
            notes,
            callback_at_unix_ms,
        } => endpoint
            .set_disposition(now, &call_id, &code, notes.as_deref(), callback_at_unix_ms)
            .map(|_| ApiReply::Done)
            .map_err(disposition_error),
        Command::ListDispositions => Ok(ApiReply::Dispositions(
            endpoint
                .dispositions()
                .iter()
                .map(|d| pb::DispositionCode {
                    code: d.code.clone(),
                    r#final: d.is_final,
                    callback: d.callback,
                })
                .collect(),
        )),
        Command::Recording { call_id, op } => endpoint
            .recording_control(now, &call_id, op)
            .map(|()| ApiReply::Done)
            .map_err(recording_error),
        Command::BlockNumber {
            number,
            reason,
            expires_unix_ms,
        } => endpoint
            .block_number(now, &number, &reason, expires_unix_ms)
            .map(|e| ApiReply::Blocked(blocked_pb(e)))
            .map_err(block_error),
        Command::UnblockNumber { number } => endpoint
            .unblock_number(now, &number)
            .map(|()| ApiReply::Done)
            .map_err(block_error),
        Command::ListBlocked => Ok(ApiReply::BlockedList(
            endpoint
                .blocked_numbers(now)
                .into_iter()
                .map(blocked_pb)
                .collect(),
        )),
    }
}
