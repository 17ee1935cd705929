//! Preview dialing: pacing places no dials; a logged-in agent of a running preview campaign
//! asks for a lead (`preview_next`), reads it, then dials it (`preview_dial`: their phone
//! rings first, then the lead's, as an agent-first order out of `poll_dial`) or passes
//! (`preview_skip`: the lead goes back to the line, the attempt does not count).
//!
//! One lead per agent at a time: asking again shows the same lead until it is dialed or
//! skipped. The lead source records the attempt when the lead is shown (it is the agent's
//! meanwhile: no one else is offered it); an agent who logs out with a lead shown skips it.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use super::{mode_name, order_of, RunState, Runtime};
use crate::dialer::pacing::Mode;
use crate::dialer::source::LeadDial;

/// A lead shown to a preview agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLead {
    pub campaign: String,
    pub lead_id: i64,
    pub attempt_id: i64,
    /// 1 for the first attempt.
    pub attempt_no: u32,
    /// E.164 with the leading '+'.
    pub number: String,
    pub name: Option<String>,
    /// The lead's custom fields (CSV columns).
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("`{0}` is no agent of any campaign (a member of a [[campaigns]] queue)")]
    UnknownAgent(String),
    #[error("agent `{0}` is not logged in: AgentLogin first")]
    NotLoggedIn(String),
    #[error("agent `{agent}` works campaign `{campaign}`, which dials in {mode} mode: leads are previewed only in preview mode")]
    NotPreview {
        agent: String,
        campaign: String,
        mode: &'static str,
    },
    #[error("campaign `{campaign}` is {state}: StartCampaign it first")]
    NotRunning {
        campaign: String,
        state: &'static str,
    },
    #[error("campaign `{0}` has no lead due now (all dialed, waiting for their retry time, or outside the calling window)")]
    NoLead(String),
    #[error("lead {lead_id} is not the one shown to `{agent}`{}", match .shown { Some(l) => format!(" (that is lead {l}; GetPreviewLead shows it)"), None => " (none is: GetPreviewLead first)".to_string() })]
    NotShown {
        agent: String,
        lead_id: i64,
        shown: Option<i64>,
    },
    #[error("agent `{0}`'s phone already rings for a campaign call")]
    Busy(String),
    #[error("the lead could not be put back: {0}")]
    Source(String),
}

impl PreviewError {
    /// Whether the error names something that does not exist (vs a state or an argument).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            PreviewError::UnknownAgent(_) | PreviewError::NoLead(_)
        )
    }

    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, PreviewError::NotShown { .. })
    }
}

fn shown(lead: &LeadDial) -> PreviewLead {
    PreviewLead {
        campaign: lead.campaign.clone(),
        lead_id: lead.lead_id,
        attempt_id: lead.attempt_id,
        attempt_no: lead.attempt_no,
        number: lead.number.clone(),
        name: lead.name.clone(),
        fields: lead.fields.clone(),
    }
}

impl Runtime {
    /// The preview campaign `agent` works, checked: logged in, preview mode, running.
    fn preview_campaign(&self, agent: &str) -> Result<usize, PreviewError> {
        let Some(ci) = self.agents.campaign_of(agent) else {
            return Err(if self.agents.is_member(agent) {
                PreviewError::NotLoggedIn(agent.to_string())
            } else {
                PreviewError::UnknownAgent(agent.to_string())
            });
        };
        let c = &self.campaigns[ci];
        if c.cfg.pacing.mode != Mode::Preview {
            return Err(PreviewError::NotPreview {
                agent: agent.to_string(),
                campaign: c.cfg.name.clone(),
                mode: mode_name(c.cfg.pacing.mode),
            });
        }
        if c.state != RunState::Running {
            return Err(PreviewError::NotRunning {
                campaign: c.cfg.name.clone(),
                state: c.state.as_str(),
            });
        }
        Ok(ci)
    }

    /// The lead for `agent` to look at: the one shown already, else the next due (their
    /// personal callbacks first).
    pub fn preview_next(
        &mut self,
        wall: SystemTime,
        agent: &str,
    ) -> Result<PreviewLead, PreviewError> {
        let ci = self.preview_campaign(agent)?;
        if let Some(lead) = self.previews.get(agent) {
            return Ok(shown(lead));
        }
        let c = &self.campaigns[ci];
        let lead = self.sources[c.source]
            .next_lead_for_agent(wall, &c.cfg.name, agent)
            .ok_or_else(|| PreviewError::NoLead(c.cfg.name.clone()))?;
        let view = shown(&lead);
        self.previews.insert(agent.to_string(), lead);
        Ok(view)
    }

    /// Dial the lead shown to `agent`: their phone rings first (the order comes out of
    /// `poll_dial`). Returns the attempt's id.
    pub fn preview_dial(
        &mut self,
        now: Instant,
        agent: &str,
        lead_id: i64,
    ) -> Result<i64, PreviewError> {
        self.preview_campaign(agent)?;
        self.check_shown(agent, lead_id)?;
        if !self.agents.reserve(&mut self.pacing, now, agent) {
            return Err(PreviewError::Busy(agent.to_string()));
        }
        // invariant: `check_shown` found the agent's lead.
        let Some(lead) = self.previews.remove(agent) else {
            return Err(PreviewError::Source("the shown lead vanished".into()));
        };
        let attempt = lead.attempt_id;
        tracing::info!(campaign = %lead.campaign, agent, lead = lead_id, "preview dial: ringing the agent first");
        self.orders
            .push_back(order_of(lead, Some(agent.to_string())));
        Ok(attempt)
    }

    /// `agent` passes on the lead shown to them: it goes back to the line.
    pub fn preview_skip(
        &mut self,
        wall: SystemTime,
        agent: &str,
        lead_id: i64,
    ) -> Result<(), PreviewError> {
        self.check_shown(agent, lead_id)?;
        let Some(ci) = self.agents.campaign_of(agent) else {
            return Err(PreviewError::NotLoggedIn(agent.to_string()));
        };
        let Some(lead) = self.previews.remove(agent) else {
            return Err(PreviewError::Source("the shown lead vanished".into()));
        };
        let source = self.campaigns[ci].source;
        self.sources[source]
            .skip(wall, lead.attempt_id)
            .map_err(PreviewError::Source)
    }

    fn check_shown(&self, agent: &str, lead_id: i64) -> Result<(), PreviewError> {
        let shown = self.previews.get(agent).map(|l| l.lead_id);
        if shown == Some(lead_id) {
            Ok(())
        } else {
            Err(PreviewError::NotShown {
                agent: agent.to_string(),
                lead_id,
                shown,
            })
        }
    }

    /// Campaign `ci` left preview mode (UpdateCampaign): the leads shown to its agents go
    /// back to the line, as they would at a logout (nobody can dial them now).
    pub(super) fn preview_mode_left(&mut self, wall: SystemTime, ci: usize) {
        let name = &self.campaigns[ci].cfg.name;
        let agents: Vec<String> = self
            .previews
            .iter()
            .filter(|(_, l)| l.campaign == *name)
            .map(|(a, _)| a.clone())
            .collect();
        let source = self.campaigns[ci].source;
        for a in agents {
            let Some(lead) = self.previews.remove(&a) else {
                continue;
            };
            if let Err(e) = self.sources[source].skip(wall, lead.attempt_id) {
                tracing::warn!(agent = %a, lead = lead.lead_id, error = %e, "a preview lead shown before the mode change was not put back");
            }
        }
    }

    /// ACD agent `a` logged out: the lead shown to them goes back.
    pub(super) fn preview_logged_out(&mut self, wall: SystemTime, a: u32) {
        let Some((name, ci)) = self.agents.member(a).map(|(n, ci)| (n.to_string(), ci)) else {
            return;
        };
        let Some(lead) = self.previews.remove(&name) else {
            return;
        };
        let source = self.campaigns[ci].source;
        if let Err(e) = self.sources[source].skip(wall, lead.attempt_id) {
            tracing::warn!(agent = %name, lead = lead.lead_id, error = %e, "the preview lead of an agent who logged out was not put back");
        }
    }
}
