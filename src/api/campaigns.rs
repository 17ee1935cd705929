//! Outbound campaigns over the API: `ListCampaigns`, Start/Pause/Stop and `UpdateCampaign`
//! run on the dialer runtime in the main loop (the daemon stores what changed before the
//! reply); campaign call steps become `CampaignEvent`s on the bus.

use std::time::{Instant, SystemTime};

use tonic::Status;

use super::command::{ApiReply, Command};
use super::pb;
use crate::dialer::overrides::Overrides;
use crate::dialer::runtime::{CampaignView, ControlError, Runtime, UpdateError};
use crate::sip::endpoint::calls::{DialerEvent, DialerEventKind};

pub fn campaign_info(v: &CampaignView) -> pb::CampaignInfo {
    let s = &v.stats;
    pb::CampaignInfo {
        name: v.name.clone(),
        mode: v.mode.to_string(),
        state: v.state.as_str().to_string(),
        queue: v.queue.clone(),
        dials: s.dials,
        answered: s.answered,
        connected: s.connected,
        abandoned: s.abandoned,
        abandon_rate: s.abandon_rate(),
        machines: s.machines,
        busy: s.busy,
        no_answer: s.no_answer,
        failed: s.failed,
        in_progress: s.in_progress,
        agents: v.agents,
        caller_id: v.caller_id.clone(),
        ring_timeout_secs: u32::try_from(v.ring_timeout_secs).unwrap_or(u32::MAX),
        max_abandon_rate: v.max_abandon_rate,
        max_lines: v.max_lines,
        ratio: v.ratio.unwrap_or(0.0),
        overridden: v.overridden.iter().map(|f| f.to_string()).collect(),
    }
}

/// Carry out a campaign command on the runtime (in the main loop).
pub fn execute(
    runtime: &mut Runtime,
    now: Instant,
    wall: SystemTime,
    cmd: Command,
) -> Result<ApiReply, Status> {
    match cmd {
        Command::GetPreviewLead { agent } => runtime
            .preview_next(wall, &agent)
            .map(|l| ApiReply::PreviewLead(super::preview::lead_pb(l)))
            .map_err(super::preview::preview_error),
        Command::SkipPreviewLead { agent, lead_id } => runtime
            .preview_skip(wall, &agent, lead_id)
            .map(|()| ApiReply::Done)
            .map_err(super::preview::preview_error),
        Command::ListCampaigns => Ok(ApiReply::Campaigns(
            runtime.campaigns().iter().map(campaign_info).collect(),
        )),
        Command::Campaign { campaign, state } => {
            runtime
                .set_state(now, &campaign, state)
                .map_err(|e| match e {
                    ControlError::UnknownCampaign(_) => Status::not_found(e.to_string()),
                })?;
            let v = runtime
                .campaign(&campaign)
                .ok_or_else(|| Status::not_found(format!("no campaign `{campaign}`")))?;
            Ok(ApiReply::Campaign(campaign_info(&v)))
        }
        Command::UpdateCampaign {
            campaign,
            update,
            clear,
        } => {
            let stored = runtime
                .update_campaign(now, wall, &campaign, &update, clear)
                .map_err(update_error)?;
            let v = runtime
                .campaign(&campaign)
                .ok_or_else(|| Status::not_found(format!("no campaign `{campaign}`")))?;
            Ok(ApiReply::CampaignUpdated {
                campaign: campaign_info(&v),
                overrides: stored,
            })
        }
        other => Err(Status::internal(format!(
            "not a campaign command: {other:?}"
        ))),
    }
}

fn update_error(e: UpdateError) -> Status {
    match e {
        UpdateError::UnknownCampaign(_) => Status::not_found(e.to_string()),
        UpdateError::Invalid(_) | UpdateError::Pacing(_) => Status::invalid_argument(e.to_string()),
    }
}

/// The request's fields as overrides (unset fields stay `None`).
pub fn overrides_of(r: &pb::UpdateCampaignRequest) -> Overrides {
    Overrides {
        mode: r.mode.clone(),
        ratio: r.ratio,
        caller_id: r.caller_id.clone(),
        ring_timeout_secs: r.ring_timeout_secs.map(u64::from),
        max_abandon_rate: r.max_abandon_rate,
        max_lines: r.max_lines,
    }
}

/// Whether the command is the runtime's to run.
pub fn is_campaign_command(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::ListCampaigns
            | Command::Campaign { .. }
            | Command::UpdateCampaign { .. }
            | Command::GetPreviewLead { .. }
            | Command::SkipPreviewLead { .. }
    )
}

/// A campaign call's step as a bus event (payload field 23).
pub fn dialer_event(ev: &DialerEvent, unix_ms: i64) -> pb::Event {
    use pb::CampaignEventKind as K;
    let (kind, cause, left_message, agent) = match &ev.kind {
        DialerEventKind::Dialed => (K::Dialed, String::new(), false, String::new()),
        DialerEventKind::Answered => (K::Answered, String::new(), false, String::new()),
        DialerEventKind::Machine { left_message } => {
            (K::Machine, String::new(), *left_message, String::new())
        }
        DialerEventKind::Connected { agent } => (K::Connected, String::new(), false, agent.clone()),
        DialerEventKind::Abandoned => (K::Abandoned, String::new(), false, String::new()),
        DialerEventKind::Busy => (K::Busy, String::new(), false, String::new()),
        DialerEventKind::NoAnswer => (K::NoAnswer, String::new(), false, String::new()),
        DialerEventKind::Failed { cause } => (K::Failed, cause.clone(), false, String::new()),
        DialerEventKind::NotDialed { reason } => {
            (K::NotDialed, reason.clone(), false, String::new())
        }
        DialerEventKind::Ended { agent } => (K::Ended, String::new(), false, agent.clone()),
    };
    pb::Event {
        seq: 0,
        unix_ms,
        call_id: ev.uuid.clone(),
        queue: String::new(),
        agent,
        payload: Some(pb::event::Payload::Campaign(pb::CampaignEvent {
            campaign: ev.campaign.clone(),
            kind: kind as i32,
            lead_id: ev.lead_id,
            attempt_id: ev.attempt_id,
            cause,
            left_message,
        })),
    }
}
