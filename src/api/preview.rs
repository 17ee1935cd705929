//! Preview dialing over the API: `GetPreviewLead` and `SkipPreviewLead` run on the dialer
//! runtime in the main loop; `DialPreviewLead` needs the endpoint too, since the client
//! hears whether the agent's phone could be rung (the order is placed at once).

use std::time::{Instant, SystemTime};

use tonic::Status;

use super::command::ApiReply;
use super::pb;
use crate::dialer::runtime::preview::{PreviewError, PreviewLead};
use crate::dialer::runtime::Runtime;
use crate::sip::endpoint::calls::DialError;
use crate::sip::endpoint::Endpoint;

pub(super) fn preview_error(e: PreviewError) -> Status {
    if e.is_not_found() {
        Status::not_found(e.to_string())
    } else if e.is_invalid_argument() {
        Status::invalid_argument(e.to_string())
    } else {
        Status::failed_precondition(e.to_string())
    }
}

pub(super) fn lead_pb(l: PreviewLead) -> pb::PreviewLead {
    pb::PreviewLead {
        campaign: l.campaign,
        lead_id: l.lead_id,
        attempt_id: l.attempt_id,
        attempt_no: l.attempt_no,
        number: l.number,
        name: l.name.unwrap_or_default(),
        fields: l.fields.into_iter().collect(),
    }
}

fn dial_error(e: DialError) -> Status {
    let why = format!("the lead went back to the line: {e}");
    match e {
        DialError::TooManyCalls => Status::resource_exhausted(why),
        _ => Status::failed_precondition(why),
    }
}

/// Dial the lead shown to `agent` and place the order now: the reply says whether the
/// agent's phone rings (then with the call's id).
pub fn dial(
    endpoint: &mut Endpoint,
    runtime: &mut Runtime,
    now: Instant,
    wall: SystemTime,
    agent: &str,
    lead_id: i64,
) -> Result<ApiReply, Status> {
    let attempt_id = runtime
        .preview_dial(now, agent, lead_id)
        .map_err(preview_error)?;
    let mut mine = None;
    while let Some(order) = runtime.poll_dial(now, wall) {
        let placed = endpoint.dial_campaign(now, order.clone());
        if order.attempt_id == attempt_id {
            mine = Some(placed.clone());
        }
        runtime.handle_placed(now, wall, &order, placed);
    }
    match mine {
        Some(Ok(call)) => Ok(ApiReply::PreviewDialed {
            call_id: endpoint.acd_call_uuid(call).unwrap_or_default(),
            attempt_id,
        }),
        Some(Err(e)) => Err(dial_error(e)),
        None => Err(Status::internal("the preview dial was not placed")),
    }
}
