//! `[[campaigns]]`: outbound dialer campaigns. Each names a trunk that exists, an ACD queue
//! whose members work it, a caller ID, and the regulated limits (ring at least 15 s, reach an
//! agent within 2 s, abandon at most 3 %), each problem at its line and column.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::Collector;
use super::validate_ivr::load_prompt;
use super::TrunkConfig;
use crate::dialer::amd_config::AmdConfig;
use crate::dialer::pacing::{Mode, PacingConfig};
use crate::dialer::source::LeadRules;
use crate::media::prompt::Prompt;

use super::campaign_rules::{self as rules, RuleError};
use super::campaign_rules::{is_e164ish, MAX_REACH_SECS};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCampaign {
    pub name: Spanned<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// preview | progressive | fixed_ratio | predictive
    pub mode: Spanned<String>,
    /// Dials per ready agent (fixed_ratio only).
    pub ratio: Option<Spanned<f64>>,
    pub trunk: Spanned<String>,
    pub caller_id: Spanned<String>,
    pub queue: Spanned<String>,
    pub ring_timeout_secs: Option<Spanned<u64>>,
    /// Predictive: a dial found surplus may be hung up once it has rung this long (0: never).
    pub surplus_hangup_secs: Option<Spanned<u64>>,
    /// Predictive: how precious a lead is (0..=100, default 0); surplus hang-ups need a
    /// `1 + lead_cost` times larger risk of abandon.
    pub lead_cost: Option<Spanned<f64>>,
    pub reach_secs: Option<Spanned<f64>>,
    pub max_abandon_rate: Option<Spanned<f64>>,
    pub abandon_message: Option<Spanned<String>>,
    pub machine_action: Option<Spanned<String>>,
    pub machine_message: Option<Spanned<String>>,
    /// Spanned so a bad setting is reported at the table.
    #[serde(default)]
    pub amd: Option<Spanned<AmdConfig>>,
    #[serde(default)]
    pub leads: LeadRules,
    /// Cap on concurrent dials (trunk capacity).
    pub max_lines: Option<Spanned<u32>>,
    /// A fixed in-memory lead list (tests, demos): nothing survives a restart. Without it
    /// the campaign dials from the lead book (`switchboard leads import`, `leads.csv`).
    #[serde(default)]
    pub numbers: Vec<Spanned<String>>,
}

fn yes() -> bool {
    true
}

/// What an answering machine gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineAction {
    Hangup,
    /// Play `machine_message`, then hang up.
    Message,
    /// Treat it like a person: queue it for an agent.
    Agent,
}

/// One campaign as typed config.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignConfig {
    pub name: String,
    pub enabled: bool,
    /// Mode, abandon cap, reach and ring times, max lines: what the pacer needs.
    pub pacing: PacingConfig,
    pub trunk: String,
    pub caller_id: String,
    pub queue: String,
    pub ring_timeout: Duration,
    pub reach: Duration,
    pub abandon_message: Option<String>,
    pub machine_action: MachineAction,
    pub machine_message: Option<String>,
    pub amd: AmdConfig,
    pub leads: LeadRules,
    pub numbers: Vec<String>,
}

/// What the campaign checks need to know about the rest of the file.
pub struct Known<'a> {
    pub trunks: &'a [TrunkConfig],
    pub queues: &'a HashSet<String>,
    pub base: &'a Path,
}

/// Report a broken rule at `span` (the value's place in the file).
fn report(c: &mut Collector, span: std::ops::Range<usize>, r: Result<(), RuleError>) {
    if let Err(e) = r {
        c.at(span, e.to_string());
    }
}

pub fn campaigns(
    c: &mut Collector,
    raw: &[Spanned<RawCampaign>],
    known: &Known,
    prompts: &mut HashMap<String, Prompt>,
) -> Vec<CampaignConfig> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for r in raw {
        let r = r.get_ref();
        let name = r.name.get_ref().clone();
        if name.is_empty() || !names.insert(name.clone()) {
            c.at(
                r.name.span(),
                format!("campaign name `{name}` is empty or used twice"),
            );
        }
        let ratio = r.ratio.as_ref().map(|v| *v.get_ref());
        let mode = match rules::mode(r.mode.get_ref(), ratio) {
            Ok(m) => m,
            Err(e) => {
                // A bad ratio is reported at the ratio, the rest at the mode.
                let span = match (&r.ratio, e.field) {
                    (Some(v), "ratio") => v.span(),
                    _ => r.mode.span(),
                };
                c.at(span, e.to_string());
                match ratio {
                    Some(ratio) if e.field == "ratio" => Mode::FixedRatio { ratio },
                    _ => Mode::Progressive,
                }
            }
        };
        if !known.trunks.iter().any(|t| t.name == *r.trunk.get_ref()) {
            c.at(
                r.trunk.span(),
                format!("no [[trunks]] entry named `{}`", r.trunk.get_ref()),
            );
        }
        if !known.queues.contains(r.queue.get_ref()) {
            c.at(
                r.queue.span(),
                format!("no [[queues]] entry named `{}`", r.queue.get_ref()),
            );
        }
        report(
            c,
            r.caller_id.span(),
            rules::check_caller_id(r.caller_id.get_ref()),
        );
        let ring = r.ring_timeout_secs.as_ref().map_or(26, |v| *v.get_ref());
        if let Some(v) = &r.ring_timeout_secs {
            report(c, v.span(), rules::check_ring_timeout(*v.get_ref()));
        }
        let surplus = r.surplus_hangup_secs.as_ref().map_or(15, |v| *v.get_ref());
        if let Some(v) = &r.surplus_hangup_secs {
            report(c, v.span(), rules::check_surplus_hangup(*v.get_ref()));
        }
        let lead_cost = r.lead_cost.as_ref().map_or(0.0, |v| *v.get_ref());
        if let Some(v) = &r.lead_cost {
            report(c, v.span(), rules::check_lead_cost(*v.get_ref()));
        }
        let reach = r.reach_secs.as_ref().map_or(2.0, |v| *v.get_ref());
        if let Some(v) = &r.reach_secs {
            report(c, v.span(), rules::check_reach(*v.get_ref()));
        }
        let abandon = r.max_abandon_rate.as_ref().map_or(0.03, |v| *v.get_ref());
        if let Some(v) = &r.max_abandon_rate {
            report(c, v.span(), rules::check_abandon_rate(*v.get_ref()));
        }
        let max_lines = r.max_lines.as_ref().map_or(100, |v| *v.get_ref());
        if let Some(v) = &r.max_lines {
            report(c, v.span(), rules::check_max_lines(*v.get_ref()));
        }
        let abandon_message = r
            .abandon_message
            .as_ref()
            .map(|p| load_prompt(c, p, known.base, prompts));
        let machine_action = match r.machine_action.as_ref().map(|v| v.get_ref().as_str()) {
            None | Some("hangup") => MachineAction::Hangup,
            Some("message") => MachineAction::Message,
            Some("agent") => MachineAction::Agent,
            Some(other) => {
                let span = r.machine_action.as_ref().map(|v| v.span()).unwrap_or(0..0);
                c.at(
                    span,
                    format!("unknown machine_action `{other}`: hangup | message | agent"),
                );
                MachineAction::Hangup
            }
        };
        let machine_message = r
            .machine_message
            .as_ref()
            .map(|p| load_prompt(c, p, known.base, prompts));
        if machine_action == MachineAction::Message && machine_message.is_none() {
            let span = r.machine_action.as_ref().map(|v| v.span()).unwrap_or(0..0);
            c.at(span, "machine_action = \"message\" needs `machine_message`");
        }
        let amd = r
            .amd
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or_default();
        if let (Some(a), Err(e)) = (&r.amd, amd.validate()) {
            c.at(a.span(), format!("campaign `{name}`: {e}"));
        }
        for n in &r.numbers {
            if !is_e164ish(n.get_ref()) {
                c.at(
                    n.span(),
                    format!(
                        "`{}` is not a phone number (an optional + and 3-15 digits)",
                        n.get_ref()
                    ),
                );
            }
        }
        let mut leads = r.leads.clone();
        if let Some(csv) = &leads.csv {
            let path = known.base.join(csv);
            if !r.numbers.is_empty() {
                c.at(
                    r.name.span(),
                    format!("campaign `{name}`: leads.csv and numbers exclude each other (numbers is an in-memory list; leads.csv feeds the lead book)"),
                );
            } else if !path.is_file() {
                c.at(
                    r.name.span(),
                    format!(
                        "campaign `{name}`: leads.csv: no file {} (relative to the config file)",
                        path.display()
                    ),
                );
            }
            leads.csv = Some(path);
        }
        let pacing = PacingConfig {
            mode,
            max_abandon_rate: abandon,
            agent_reach_secs: reach,
            ring_timeout_secs: ring as f64,
            max_outstanding: max_lines.max(1),
            // At or past the ring timeout it would never come first: off.
            cancel_surplus_after_secs: (surplus >= rules::MIN_RING_SECS && surplus < ring)
                .then_some(surplus as f64),
            lead_cost: if rules::check_lead_cost(lead_cost).is_ok() {
                lead_cost
            } else {
                0.0
            },
            ..PacingConfig::default()
        };
        out.push(CampaignConfig {
            name,
            enabled: r.enabled,
            pacing,
            trunk: r.trunk.get_ref().clone(),
            caller_id: r.caller_id.get_ref().clone(),
            queue: r.queue.get_ref().clone(),
            ring_timeout: Duration::from_secs(ring),
            reach: Duration::from_secs_f64(reach.clamp(0.0, MAX_REACH_SECS)),
            abandon_message,
            machine_action,
            machine_message,
            amd,
            leads,
            numbers: r.numbers.iter().map(|n| n.get_ref().clone()).collect(),
        });
    }
    out
}
