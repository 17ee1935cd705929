//! An in-memory lead source: a list of numbers dialled in order, each until it connects or
//! runs out of attempts (`max_attempts`), retried after the campaign's retry delays. It
//! stands in for the lead book (SQLite, CSV import, DNC, calling windows) behind the same
//! `LeadSource` trait; it keeps nothing across restarts. Callbacks an agent schedules are
//! kept (a personal one only for its agent), as the lead book keeps them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::dialer::leads::select::Pick;
use crate::dialer::source::{AttemptResult, LeadDial, LeadRules, LeadSource};

#[derive(Debug, Clone)]
struct Lead {
    id: i64,
    campaign: String,
    number: String,
    attempts: u32,
    /// Dialable from then on (None: in progress or finished).
    next_at: Option<SystemTime>,
    /// A personal callback: only this agent may take it.
    agent: Option<String>,
}

#[derive(Debug, Default)]
pub struct MemoryLeads {
    leads: Vec<Lead>,
    rules: HashMap<String, LeadRules>,
    /// attempt id → lead index.
    attempts: HashMap<i64, usize>,
    next_attempt: i64,
    /// Every result reported, in order (for tests and the log).
    pub results: Vec<(i64, String, AttemptResult)>,
    /// `[dispositions]` codes flagged `final`: they end a lead in every campaign.
    final_codes: Vec<String>,
}

impl MemoryLeads {
    pub fn new() -> Self {
        MemoryLeads::default()
    }

    /// `[dispositions]`' final codes (as `LeadBook::set_dispositions`).
    pub fn set_final_codes(&mut self, codes: impl IntoIterator<Item = String>) {
        self.final_codes = codes.into_iter().collect();
    }

    /// The campaign's leads, dialable at once.
    pub fn add_campaign(&mut self, campaign: &str, rules: LeadRules, numbers: &[String]) {
        self.rules.insert(campaign.to_string(), rules);
        for n in numbers {
            let id = self.leads.len() as i64 + 1;
            self.leads.push(Lead {
                id,
                campaign: campaign.to_string(),
                number: n.clone(),
                attempts: 0,
                next_at: Some(SystemTime::UNIX_EPOCH),
                agent: None,
            });
        }
    }

    /// Leads of `campaign` still to dial now or later.
    pub fn remaining(&self, campaign: &str) -> usize {
        self.leads
            .iter()
            .filter(|l| l.campaign == campaign && l.next_at.is_some())
            .count()
    }

    /// The first due lead `who` may take, personal callbacks first; its attempt starts.
    fn take(&mut self, now: SystemTime, campaign: &str, who: Pick<'_>) -> Option<LeadDial> {
        let due = |l: &Lead| {
            l.campaign == campaign
                && l.next_at.is_some_and(|t| t <= now)
                && who.may_take(l.agent.as_deref())
        };
        let i = self
            .leads
            .iter()
            .position(|l| due(l) && l.agent.is_some())
            .or_else(|| self.leads.iter().position(due))?;
        let to_agent = who.agent().map(str::to_string);
        let l = &mut self.leads[i];
        l.attempts += 1;
        l.next_at = None;
        self.next_attempt += 1;
        self.attempts.insert(self.next_attempt, i);
        Some(LeadDial {
            campaign: campaign.to_string(),
            lead_id: l.id,
            attempt_id: self.next_attempt,
            attempt_no: l.attempts,
            number: l.number.clone(),
            name: None,
            fields: Default::default(),
            agent: to_agent,
        })
    }
}

impl LeadSource for MemoryLeads {
    fn next_lead(&mut self, now: SystemTime, campaign: &str) -> Option<LeadDial> {
        self.take(now, campaign, Pick::Anyone)
    }

    fn next_lead_for_agent(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Option<LeadDial> {
        self.take(now, campaign, Pick::Agent(agent))
    }

    fn next_personal_callback(
        &mut self,
        now: SystemTime,
        campaign: &str,
        agent: &str,
    ) -> Option<LeadDial> {
        self.take(now, campaign, Pick::PersonalOf(agent))
    }

    fn skip(&mut self, now: SystemTime, attempt_id: i64) -> Result<(), String> {
        let &i = self
            .attempts
            .get(&attempt_id)
            .ok_or_else(|| format!("no attempt {attempt_id}"))?;
        let l = &mut self.leads[i];
        if l.next_at.is_some() {
            return Err(format!("attempt {attempt_id} is over"));
        }
        let rules = self.rules.get(&l.campaign).cloned().unwrap_or_default();
        l.attempts = l.attempts.saturating_sub(1);
        l.next_at = Some(now + Duration::from_secs(rules.retry_skipped_secs));
        self.attempts.remove(&attempt_id);
        Ok(())
    }

    fn handle_attempt(&mut self, now: SystemTime, attempt_id: i64, result: &AttemptResult) {
        let Some(&i) = self.attempts.get(&attempt_id) else {
            return;
        };
        let l = &mut self.leads[i];
        self.results
            .push((attempt_id, l.number.clone(), result.clone()));
        let rules = self.rules.get(&l.campaign).cloned().unwrap_or_default();
        let retry = match result {
            AttemptResult::Connected { .. } => None,
            AttemptResult::Abandoned => Some(rules.retry_abandoned_secs),
            AttemptResult::Machine { .. } => Some(rules.retry_machine_secs),
            AttemptResult::Busy => Some(rules.retry_busy_secs),
            AttemptResult::NoAnswer => Some(rules.retry_no_answer_secs),
            AttemptResult::Failed { .. } => Some(rules.retry_failed_secs),
            // Never reached the network: it does not use up an attempt.
            // A personal callback stays its agent's, and waits a while: its agent just
            // did not take it (the lead book's `retry_skipped_secs`).
            AttemptResult::NotDialed { .. } => {
                l.attempts = l.attempts.saturating_sub(1);
                let wait = if l.agent.is_some() {
                    rules.retry_skipped_secs
                } else {
                    0
                };
                l.next_at = Some(now + Duration::from_secs(wait));
                return;
            }
        };
        l.agent = None;
        l.next_at = retry
            .filter(|_| l.attempts < rules.max_attempts)
            .map(|s| now + Duration::from_secs(s));
    }

    fn handle_disposition(
        &mut self,
        _now: SystemTime,
        attempt_id: i64,
        disposition: &str,
        agent: Option<&str>,
        callback_at: Option<SystemTime>,
        personal: bool,
    ) -> Result<(), String> {
        let &i = self
            .attempts
            .get(&attempt_id)
            .ok_or_else(|| format!("no attempt {attempt_id}"))?;
        let l = &mut self.leads[i];
        let rules = self.rules.get(&l.campaign).cloned().unwrap_or_default();
        if rules
            .final_dispositions
            .iter()
            .chain(&self.final_codes)
            .any(|d| d == disposition)
        {
            l.next_at = None;
            l.agent = None;
        } else if let Some(at) = callback_at {
            l.next_at = Some(at);
            l.agent = agent.filter(|_| personal).map(str::to_string);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `[dispositions]` final code ends the lead although the campaign's own
    /// `final_dispositions` does not name it, even with a callback time; another code with
    /// a callback time brings the lead back then.
    #[test]
    fn a_final_code_from_dispositions_ends_the_lead() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let cb = t0 + Duration::from_secs(3600);
        let rules = LeadRules::default();
        assert!(!rules.final_dispositions.contains(&"closed-won".to_string()));
        let mut m = MemoryLeads::new();
        m.set_final_codes(["closed-won".to_string()]);
        m.add_campaign("c", rules, &["+15550100".into(), "+15550101".into()]);
        for code in ["closed-won", "call-me-later"] {
            let d = m.next_lead(t0, "c").expect("a lead");
            let connected = AttemptResult::Connected {
                agent: "1001".into(),
            };
            m.handle_attempt(t0, d.attempt_id, &connected);
            m.handle_disposition(t0, d.attempt_id, code, None, Some(cb), false)
                .expect("attempt known");
        }
        let again = m.next_lead(cb, "c").expect("the callback comes back");
        assert_eq!(again.number, "+15550101");
        assert!(
            m.next_lead(cb, "c").is_none(),
            "the closed lead is never dialled again"
        );
    }
}
