//! The `Control` service: checks the token and the arguments, then hands the command to the
//! main loop and waits for its reply.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tonic::{Request, Response, Status};

use super::command::{ApiReply, ApiRequest, Command};
use super::{pb, Tokens};
use crate::config::ApiScope;
use crate::dialer::runtime::RunState;
use crate::media::monitor::MonitorMode;
use crate::sip::endpoint::acd::AgentCommand;
use crate::sip::endpoint::calls::{ClickToCall, RecordingControl, Side};

/// Run the command and answer with `$resp` from the reply `$pat`; any other reply is an
/// internal error.
macro_rules! ask {
    ($svc:expr, $cmd:expr, $pat:pat => $resp:expr) => {
        match $svc.run($cmd).await? {
            $pat => Ok(Response::new($resp)),
            other => Err(unexpected(other)),
        }
    };
}

pub struct ControlService {
    pub commands: mpsc::Sender<ApiRequest>,
    pub tokens: Arc<Tokens>,
}

fn required(field: &str, value: &str) -> Result<String, Status> {
    let v = value.trim();
    if v.is_empty() {
        Err(Status::invalid_argument(format!("`{field}` is required")))
    } else {
        Ok(v.to_string())
    }
}

/// (agent, lead_id) of a Dial/SkipPreviewLead request.
fn preview_args(r: &pb::PreviewLeadRequest) -> Result<(String, i64), Status> {
    let agent = required("agent", &r.agent)?;
    if r.lead_id <= 0 {
        return Err(Status::invalid_argument(
            "`lead_id` is required: PreviewLead.lead_id from GetPreviewLead",
        ));
    }
    Ok((agent, r.lead_id))
}

impl ControlService {
    async fn run(&self, command: Command) -> Result<ApiReply, Status> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(ApiRequest { command, reply })
            .await
            .map_err(|_| Status::unavailable("switchboard is shutting down"))?;
        rx.await
            .map_err(|_| Status::unavailable("switchboard is shutting down"))?
    }

    /// Run a command whose response carries nothing.
    async fn done<T: Default>(&self, command: Command) -> Result<Response<T>, Status> {
        self.run(command).await?;
        Ok(Response::new(T::default()))
    }

    async fn agent(&self, agent: &str, cmd: AgentCommand) -> Result<pb::AgentResponse, Status> {
        let agent = required("agent", agent)?;
        match self.run(Command::Agent { agent, cmd }).await? {
            ApiReply::Agent(a) => Ok(pb::AgentResponse { agent: Some(a) }),
            other => Err(unexpected(other)),
        }
    }
}

impl ControlService {
    async fn recording(
        &self,
        req: Request<pb::RecordingRequest>,
        op: RecordingControl,
    ) -> Result<Response<pb::RecordingResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let call_id = required("call_id", &req.get_ref().call_id)?;
        self.done(Command::Recording { call_id, op }).await
    }
}

fn unexpected(r: ApiReply) -> Status {
    Status::internal(format!("unexpected reply from the engine: {r:?}"))
}

/// A proto `Side` as the endpoint's (None: unspecified, i.e. the customer).
fn side_arg(field: &str, v: i32) -> Result<Option<Side>, Status> {
    match pb::Side::try_from(v) {
        Ok(pb::Side::Unspecified) => Ok(None),
        Ok(pb::Side::Caller) => Ok(Some(Side::A)),
        Ok(pb::Side::Callee) => Ok(Some(Side::B)),
        Err(_) => Err(Status::invalid_argument(format!(
            "`{field}` must be SIDE_CALLER, SIDE_CALLEE or unset (the customer)"
        ))),
    }
}

#[tonic::async_trait]
impl pb::control_server::Control for ControlService {
    async fn list_calls(
        &self,
        req: Request<pb::ListCallsRequest>,
    ) -> Result<Response<pb::ListCallsResponse>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        ask!(self, Command::ListCalls, ApiReply::Calls(calls) => pb::ListCallsResponse { calls })
    }

    async fn list_agents(
        &self,
        req: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        ask!(
            self,
            Command::ListAgents,
            ApiReply::Agents(agents) => pb::ListAgentsResponse { agents }
        )
    }

    async fn list_queues(
        &self,
        req: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        ask!(
            self,
            Command::ListQueues,
            ApiReply::Queues(queues) => pb::ListQueuesResponse { queues }
        )
    }

    async fn hangup(
        &self,
        req: Request<pb::HangupRequest>,
    ) -> Result<Response<pb::HangupResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let call_id = required("call_id", &req.get_ref().call_id)?;
        self.done(Command::Hangup { call_id }).await
    }

    async fn agent_login(
        &self,
        req: Request<pb::AgentLoginRequest>,
    ) -> Result<Response<pb::AgentResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.get_ref();
        let phone = required("phone", &r.phone)?;
        Ok(Response::new(
            self.agent(&r.agent, AgentCommand::Login { phone }).await?,
        ))
    }

    async fn agent_logout(
        &self,
        req: Request<pb::AgentRequest>,
    ) -> Result<Response<pb::AgentResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        Ok(Response::new(
            self.agent(&req.get_ref().agent, AgentCommand::Logout)
                .await?,
        ))
    }

    async fn agent_ready(
        &self,
        req: Request<pb::AgentRequest>,
    ) -> Result<Response<pb::AgentResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        Ok(Response::new(
            self.agent(&req.get_ref().agent, AgentCommand::Ready)
                .await?,
        ))
    }

    async fn agent_not_ready(
        &self,
        req: Request<pb::AgentNotReadyRequest>,
    ) -> Result<Response<pb::AgentResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.get_ref();
        let reason = if r.reason.trim().is_empty() {
            "api".to_string()
        } else {
            r.reason.trim().to_string()
        };
        Ok(Response::new(
            self.agent(&r.agent, AgentCommand::NotReady { reason })
                .await?,
        ))
    }

    async fn monitor(
        &self,
        req: Request<pb::MonitorRequest>,
    ) -> Result<Response<pb::MonitorResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.get_ref();
        let supervisor = required("supervisor", &r.supervisor)?;
        let agent = required("agent", &r.agent)?;
        ask!(
            self,
            Command::Monitor { supervisor, agent },
            ApiReply::Monitor(supervisor_call_id) => pb::MonitorResponse { supervisor_call_id }
        )
    }

    async fn set_monitor_mode(
        &self,
        req: Request<pb::SetMonitorModeRequest>,
    ) -> Result<Response<pb::SetMonitorModeResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.get_ref();
        let call_id = required("supervisor_call_id", &r.supervisor_call_id)?;
        let mode = match pb::MonitorMode::try_from(r.mode) {
            Ok(pb::MonitorMode::Listen) => MonitorMode::Listen,
            Ok(pb::MonitorMode::Whisper) => MonitorMode::Whisper,
            Ok(pb::MonitorMode::Barge) => MonitorMode::Barge,
            _ => {
                return Err(Status::invalid_argument(
                    "`mode` must be MONITOR_MODE_LISTEN, _WHISPER or _BARGE",
                ))
            }
        };
        self.done(Command::SetMonitorMode { call_id, mode }).await
    }

    async fn list_campaigns(
        &self,
        req: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        ask!(
            self,
            Command::ListCampaigns,
            ApiReply::Campaigns(campaigns) => pb::ListCampaignsResponse { campaigns }
        )
    }

    async fn start_campaign(
        &self,
        req: Request<pb::CampaignRequest>,
    ) -> Result<Response<pb::CampaignResponse>, Status> {
        self.campaign(req, RunState::Running).await
    }

    async fn update_campaign(
        &self,
        req: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::CampaignResponse>, Status> {
        // Campaign settings, like start / pause / stop.
        self.tokens.check(&req, ApiScope::Admin)?;
        let r = req.get_ref();
        let campaign = required("campaign", &r.campaign)?;
        let update = super::campaigns::overrides_of(r);
        let clear = r.clear;
        let cmd = Command::UpdateCampaign {
            campaign,
            update,
            clear,
        };
        ask!(self, cmd, ApiReply::Campaign(c) => pb::CampaignResponse { campaign: Some(c) })
    }

    async fn pause_campaign(
        &self,
        req: Request<pb::CampaignRequest>,
    ) -> Result<Response<pb::CampaignResponse>, Status> {
        self.campaign(req, RunState::Paused).await
    }

    async fn stop_campaign(
        &self,
        req: Request<pb::CampaignRequest>,
    ) -> Result<Response<pb::CampaignResponse>, Status> {
        self.campaign(req, RunState::Stopped).await
    }

    async fn get_preview_lead(
        &self,
        req: Request<pb::GetPreviewLeadRequest>,
    ) -> Result<Response<pb::GetPreviewLeadResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let agent = required("agent", &req.get_ref().agent)?;
        ask!(
            self,
            Command::GetPreviewLead { agent },
            ApiReply::PreviewLead(lead) => pb::GetPreviewLeadResponse { lead: Some(lead) }
        )
    }

    async fn dial_preview_lead(
        &self,
        req: Request<pb::PreviewLeadRequest>,
    ) -> Result<Response<pb::DialPreviewLeadResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let (agent, lead_id) = preview_args(req.get_ref())?;
        ask!(
            self,
            Command::DialPreviewLead { agent, lead_id },
            ApiReply::PreviewDialed { call_id, attempt_id } => pb::DialPreviewLeadResponse {
                call_id,
                attempt_id,
            }
        )
    }

    async fn skip_preview_lead(
        &self,
        req: Request<pb::PreviewLeadRequest>,
    ) -> Result<Response<pb::SkipPreviewLeadResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let (agent, lead_id) = preview_args(req.get_ref())?;
        self.done(Command::SkipPreviewLead { agent, lead_id }).await
    }

    async fn hold(
        &self,
        req: Request<pb::HoldRequest>,
    ) -> Result<Response<pb::HoldResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.get_ref();
        let call_id = required("call_id", &r.call_id)?;
        let side = side_arg("side", r.side)?;
        ask!(
            self,
            Command::Hold { call_id, side },
            ApiReply::Held(s) => pb::HoldResponse { held: super::convert::side(s) }
        )
    }

    async fn resume(
        &self,
        req: Request<pb::ResumeRequest>,
    ) -> Result<Response<pb::ResumeResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let call_id = required("call_id", &req.get_ref().call_id)?;
        self.done(Command::Resume { call_id }).await
    }

    async fn transfer(
        &self,
        req: Request<pb::TransferRequest>,
    ) -> Result<Response<pb::TransferResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.get_ref();
        let call_id = required("call_id", &r.call_id)?;
        let target = required("target", &r.target)?;
        let keep = side_arg("keep_side", r.keep_side)?;
        let cmd = Command::Transfer {
            call_id,
            target,
            keep,
        };
        ask!(
            self,
            cmd,
            ApiReply::Transferred(d) => pb::TransferResponse { destination: d.to_string() }
        )
    }

    async fn start_consult(
        &self,
        req: Request<pb::StartConsultRequest>,
    ) -> Result<Response<pb::StartConsultResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.get_ref();
        let call_id = required("call_id", &r.call_id)?;
        let target = required("target", &r.target)?;
        ask!(
            self,
            Command::StartConsult { call_id, target },
            ApiReply::Consult(consult_call_id) => pb::StartConsultResponse { consult_call_id }
        )
    }

    async fn complete_transfer(
        &self,
        req: Request<pb::CompleteTransferRequest>,
    ) -> Result<Response<pb::CompleteTransferResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let call_id = required("call_id", &req.get_ref().call_id)?;
        self.done(Command::CompleteTransfer { call_id }).await
    }

    async fn cancel_consult(
        &self,
        req: Request<pb::CancelConsultRequest>,
    ) -> Result<Response<pb::CancelConsultResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let call_id = required("call_id", &req.get_ref().call_id)?;
        self.done(Command::CancelConsult { call_id }).await
    }

    async fn originate(
        &self,
        req: Request<pb::OriginateRequest>,
    ) -> Result<Response<pb::OriginateResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.into_inner();
        let agent_or_extension = required("agent_or_extension", &r.agent_or_extension)?;
        let number = required("number", &r.number)?;
        let cmd = Command::Originate(ClickToCall {
            agent_or_extension,
            number,
            caller_id: r.caller_id.filter(|c| !c.trim().is_empty()),
            variables: r.variables.into_iter().collect(),
        });
        ask!(self, cmd, ApiReply::Originated(call_id) => pb::OriginateResponse { call_id })
    }

    async fn set_disposition(
        &self,
        req: Request<pb::SetDispositionRequest>,
    ) -> Result<Response<pb::SetDispositionResponse>, Status> {
        self.tokens.check(&req, ApiScope::Control)?;
        let r = req.into_inner();
        let call_id = required("call_id", &r.call_id)?;
        let code = required("code", &r.code)?;
        self.done(Command::SetDisposition {
            call_id,
            code,
            notes: r.notes,
            callback_at_unix_ms: r.callback_at_unix_ms,
        })
        .await
    }

    async fn list_dispositions(
        &self,
        req: Request<pb::ListDispositionsRequest>,
    ) -> Result<Response<pb::ListDispositionsResponse>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        ask!(
            self,
            Command::ListDispositions,
            ApiReply::Dispositions(codes) => pb::ListDispositionsResponse { codes }
        )
    }

    async fn start_recording(
        &self,
        req: Request<pb::RecordingRequest>,
    ) -> Result<Response<pb::RecordingResponse>, Status> {
        self.recording(req, RecordingControl::Start).await
    }

    async fn stop_recording(
        &self,
        req: Request<pb::RecordingRequest>,
    ) -> Result<Response<pb::RecordingResponse>, Status> {
        self.recording(req, RecordingControl::Stop).await
    }

    async fn pause_recording(
        &self,
        req: Request<pb::RecordingRequest>,
    ) -> Result<Response<pb::RecordingResponse>, Status> {
        self.recording(req, RecordingControl::Pause).await
    }

    async fn resume_recording(
        &self,
        req: Request<pb::RecordingRequest>,
    ) -> Result<Response<pb::RecordingResponse>, Status> {
        self.recording(req, RecordingControl::Resume).await
    }

    async fn block_number(
        &self,
        req: Request<pb::BlockNumberRequest>,
    ) -> Result<Response<pb::BlockNumberResponse>, Status> {
        self.tokens.check(&req, ApiScope::Admin)?;
        let r = req.into_inner();
        let number = required("number", &r.number)?;
        let cmd = Command::BlockNumber {
            number,
            reason: r.reason,
            expires_unix_ms: r.expires_unix_ms,
        };
        ask!(self, cmd, ApiReply::Blocked(b) => pb::BlockNumberResponse { blocked: Some(b) })
    }

    async fn unblock_number(
        &self,
        req: Request<pb::UnblockNumberRequest>,
    ) -> Result<Response<pb::UnblockNumberResponse>, Status> {
        self.tokens.check(&req, ApiScope::Admin)?;
        let number = required("number", &req.get_ref().number)?;
        self.done(Command::UnblockNumber { number }).await
    }

    async fn list_blocked(
        &self,
        req: Request<pb::ListBlockedRequest>,
    ) -> Result<Response<pb::ListBlockedResponse>, Status> {
        self.tokens.check(&req, ApiScope::Read)?;
        ask!(
            self,
            Command::ListBlocked,
            ApiReply::BlockedList(blocked) => pb::ListBlockedResponse { blocked }
        )
    }
}

impl ControlService {
    /// Start / pause / stop: campaign settings, so the `admin` scope.
    async fn campaign(
        &self,
        req: Request<pb::CampaignRequest>,
        state: RunState,
    ) -> Result<Response<pb::CampaignResponse>, Status> {
        self.tokens.check(&req, ApiScope::Admin)?;
        let campaign = required("campaign", &req.get_ref().campaign)?;
        ask!(
            self,
            Command::Campaign { campaign, state },
            ApiReply::Campaign(c) => pb::CampaignResponse { campaign: Some(c) }
        )
    }
}
