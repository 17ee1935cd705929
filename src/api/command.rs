//! Control commands, carried from the gRPC service to the daemon's main loop (the endpoint's
//! one owner) over a channel, each with a oneshot for its reply.

use std::time::Instant;

use tokio::sync::oneshot;
use tonic::Status;

use super::{pb, views};
use crate::media::monitor::MonitorMode;
use crate::sip::endpoint::acd::{AgentCommand, AgentCommandError};
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
        Command::ListCampaigns | Command::Campaign { .. } => Err(Status::internal(
            "campaign commands are run by the dialer runtime",
        )),
    }
}
