//! The runtime on a virtual clock with the in-memory lead source: dials asked for by pacing
//! are handed out with their leads, outcomes reach pacing and the leads, agents' ACD states
//! are mirrored, pause and blending hold dials back.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::memory::MemoryLeads;
use super::*;
use crate::acd::{AcdEvent, AgentId as AcdAgent, EventKind, StateKind};
use crate::config::MachineAction;
use crate::dialer::pacing::{Mode, PacingConfig};
use crate::dialer::source::LeadRules;

/// The lead source shared with the test, so it can look at what was reported.
pub(super) struct Shared(pub(super) Arc<Mutex<MemoryLeads>>);

impl LeadSource for Shared {
    fn next_lead(&mut self, now: SystemTime, c: &str) -> Option<crate::dialer::source::LeadDial> {
        self.0.lock().unwrap().next_lead(now, c)
    }
    fn next_lead_for_agent(
        &mut self,
        now: SystemTime,
        c: &str,
        agent: &str,
    ) -> Option<crate::dialer::source::LeadDial> {
        self.0.lock().unwrap().next_lead_for_agent(now, c, agent)
    }
    fn next_personal_callback(
        &mut self,
        now: SystemTime,
        c: &str,
        agent: &str,
    ) -> Option<crate::dialer::source::LeadDial> {
        self.0.lock().unwrap().next_personal_callback(now, c, agent)
    }
    fn skip(&mut self, now: SystemTime, a: i64) -> Result<(), String> {
        self.0.lock().unwrap().skip(now, a)
    }
    fn handle_attempt(&mut self, now: SystemTime, a: i64, r: &AttemptResult) {
        self.0.lock().unwrap().handle_attempt(now, a, r)
    }
    fn handle_disposition(
        &mut self,
        now: SystemTime,
        a: i64,
        d: &str,
        agent: Option<&str>,
        at: Option<SystemTime>,
        p: bool,
    ) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .handle_disposition(now, a, d, agent, at, p)
    }
}

pub(super) fn campaign(mode: Mode) -> CampaignConfig {
    CampaignConfig {
        name: "spring".into(),
        enabled: true,
        pacing: PacingConfig {
            mode,
            ..Default::default()
        },
        trunk: "carrier".into(),
        caller_id: "+15551230000".into(),
        queue: "outbound".into(),
        ring_timeout: Duration::from_secs(26),
        reach: Duration::from_secs(2),
        abandon_message: None,
        machine_action: MachineAction::Hangup,
        machine_message: None,
        amd: Default::default(),
        leads: Default::default(),
        numbers: Vec::new(),
    }
}

pub(super) struct T {
    pub rt: Runtime,
    pub leads: Arc<Mutex<MemoryLeads>>,
    pub now: Instant,
    pub wall: SystemTime,
    pub next_call: CallRef,
}

pub(super) fn setup(mode: Mode, numbers: usize) -> T {
    let agents = vec![
        (
            "a1".to_string(),
            vec!["outbound".to_string(), "inbound".to_string()],
        ),
        ("a2".to_string(), vec!["outbound".to_string()]),
        ("other".to_string(), vec!["inbound".to_string()]),
    ];
    setup_with(mode, numbers, &agents)
}

/// `setup` with other agents (name, queues; ACD ids in order).
pub(super) fn setup_with(mode: Mode, numbers: usize, agents: &[(String, Vec<String>)]) -> T {
    let c = campaign(mode);
    let mut m = MemoryLeads::new();
    let numbers: Vec<String> = (0..numbers).map(|i| format!("+1555010{i}")).collect();
    m.add_campaign("spring", LeadRules::default(), &numbers);
    let leads = Arc::new(Mutex::new(m));
    let rt = Runtime::new(&[c], agents, Box::new(Shared(leads.clone()))).unwrap();
    T {
        rt,
        leads,
        now: Instant::now(),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        next_call: 1,
    }
}

impl T {
    pub fn agent(&mut self, a: u32, from: StateKind, to: StateKind) {
        let ev = AcdEvent {
            at_ms: 0,
            kind: EventKind::AgentState {
                agent: AcdAgent(a),
                from,
                to,
                duration_ms: 0,
                reason: None,
            },
        };
        self.rt.handle_acd_event(self.now, self.wall, &ev);
    }

    /// Place every dial the runtime hands out; returns (call, number) of each.
    pub fn place_all(&mut self) -> Vec<(CallRef, String)> {
        let mut v = Vec::new();
        while let Some(o) = self.rt.poll_dial(self.now, self.wall) {
            let call = self.next_call;
            self.next_call += 1;
            self.rt.handle_placed(self.now, self.wall, &o, Ok(call));
            v.push((call, o.number));
        }
        v
    }

    pub fn event(&mut self, call: CallRef, kind: DialerEventKind) {
        let ev = DialerEvent {
            call,
            uuid: format!("u{call}"),
            campaign: "spring".into(),
            lead_id: 0,
            attempt_id: 0,
            kind,
        };
        self.rt.handle_dialer_event(self.now, self.wall, &ev);
    }

    pub fn stats(&self) -> Stats {
        self.rt.campaign("spring").unwrap().stats
    }

    pub fn results(&self) -> Vec<(String, AttemptResult)> {
        self.leads
            .lock()
            .unwrap()
            .results
            .iter()
            .map(|(_, n, r)| (n.clone(), r.clone()))
            .collect()
    }
}

#[test]
fn progressive_dials_one_lead_per_ready_agent_and_refills_on_outcomes() {
    let mut t = setup(Mode::Progressive, 5);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    assert_eq!(t.place_all().len(), 1, "one ready agent, one dial");
    t.agent(1, StateKind::LoggedOut, StateKind::Ready);
    let second = t.place_all();
    assert_eq!(second.len(), 1);
    // Agent 2 ("other") works no campaign: no dial for them.
    t.agent(2, StateKind::LoggedOut, StateKind::Ready);
    assert!(t.place_all().is_empty());
    assert_eq!(t.rt.campaign("spring").unwrap().agents, 2);
    // Busy frees the slot: the next lead is dialled at once.
    t.event(1, DialerEventKind::Busy);
    let third = t.place_all();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].1, "+15550102");
    // A person answers and reaches a2.
    t.event(2, DialerEventKind::Answered);
    assert!(t.place_all().is_empty(), "the answer waits for an agent");
    t.event(2, DialerEventKind::Connected { agent: "a2".into() });
    t.agent(1, StateKind::Offered, StateKind::OnCall);
    assert!(t.place_all().is_empty(), "a2 talks, a1's dial is out");
    assert_eq!(
        t.results(),
        [
            ("+15550100".to_string(), AttemptResult::Busy),
            (
                "+15550101".to_string(),
                AttemptResult::Connected { agent: "a2".into() }
            )
        ]
    );
    // a2 wraps up then is ready again: another dial.
    t.now += Duration::from_secs(60);
    t.agent(1, StateKind::OnCall, StateKind::WrapUp);
    assert!(t.place_all().is_empty());
    t.agent(1, StateKind::WrapUp, StateKind::Ready);
    assert_eq!(t.place_all().len(), 1);
    let s = t.stats();
    assert_eq!((s.dials, s.busy, s.answered, s.connected), (4, 1, 1, 1));
    assert_eq!(s.in_progress, 2);
}

#[test]
fn an_abandon_is_counted_and_the_lead_retried_later() {
    let mut t = setup(Mode::Progressive, 1);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let placed = t.place_all();
    t.event(placed[0].0, DialerEventKind::Answered);
    t.event(placed[0].0, DialerEventKind::Abandoned);
    let s = t.stats();
    assert_eq!((s.answered, s.abandoned, s.connected), (1, 1, 0));
    assert_eq!(s.abandon_rate(), 1.0);
    assert_eq!(
        t.results(),
        [("+15550100".into(), AttemptResult::Abandoned)]
    );
    // The only lead is not dialable again before the abandon retry delay.
    assert!(t.place_all().is_empty());
    assert_eq!(t.leads.lock().unwrap().remaining("spring"), 1);
    t.wall += Duration::from_secs(LeadRules::default().retry_abandoned_secs);
    t.now += Duration::from_secs(2);
    t.rt.handle_timeout(t.now);
    // Progressive decides on events; an agent event asks again.
    t.agent(0, StateKind::Ready, StateKind::NotReady);
    t.agent(0, StateKind::NotReady, StateKind::Ready);
    assert_eq!(t.place_all().len(), 1, "retried after the delay");
}

#[test]
fn paused_campaigns_place_nothing_until_started() {
    let mut t = setup(Mode::Progressive, 3);
    t.rt.set_state(t.now, "spring", RunState::Paused).unwrap();
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    assert!(t.place_all().is_empty());
    assert_eq!(
        t.rt.set_state(t.now, "nope", RunState::Running),
        Err(ControlError::UnknownCampaign("nope".into()))
    );
    t.rt.set_state(t.now, "spring", RunState::Running).unwrap();
    assert_eq!(t.place_all().len(), 1);
    assert_eq!(t.rt.campaign("spring").unwrap().state, RunState::Running);
}

#[test]
fn an_inbound_queue_at_risk_takes_the_shared_agents() {
    let mut t = setup(Mode::Progressive, 3);
    // The inbound queue's oldest caller has waited its whole service level.
    t.rt.handle_inbound_load(t.now, &[("inbound".into(), 1, 20.0, 20.0)]);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    assert!(t.place_all().is_empty(), "a1 is needed inbound");
    t.rt.handle_inbound_load(t.now, &[("inbound".into(), 0, 0.0, 20.0)]);
    assert_eq!(t.place_all().len(), 1);
}

#[test]
fn a_dial_the_endpoint_refuses_gives_the_lead_back_unused() {
    let mut t = setup(Mode::Progressive, 1);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let o = t.rt.poll_dial(t.now, t.wall).expect("a dial");
    t.rt.handle_placed(t.now, t.wall, &o, Err(DialError::TooManyCalls));
    assert!(matches!(
        &t.results()[..],
        [(_, AttemptResult::NotDialed { reason })] if reason.contains("call limit")
    ));
    assert_eq!(t.stats().dials, 0);
    // Refused dials are not retried in a loop within the same instant: the next event is.
    t.agent(0, StateKind::Ready, StateKind::NotReady);
    t.agent(0, StateKind::NotReady, StateKind::Ready);
    assert_eq!(t.place_all().len(), 1, "the lead is dialable again");
}

/// The lead book behind the runtime: a campaign without inline numbers dials from it, and
/// an agent's final disposition of the connected call closes the lead in the book.
#[test]
fn book_campaigns_dial_from_the_lead_book_and_dispositions_reach_it() {
    use crate::dialer::leads::LeadBook;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let mut t = setup(Mode::Progressive, 0);
    let rules = LeadRules {
        window: std::collections::BTreeMap::from([("default".into(), "00:00-24:00".into())]),
        ..LeadRules::default()
    };
    let mut book = LeadBook::open(&store).unwrap();
    book.set_rules("spring", rules).unwrap();
    book.import_csv(t.wall, "spring", "phone\n+12015550199\n".as_bytes())
        .unwrap();
    t.rt.add_source(Box::new(book), &["spring"]);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let placed = t.place_all();
    assert_eq!(placed.len(), 1);
    assert_eq!(
        placed[0].1, "+12015550199",
        "the book's lead, not the memory list"
    );
    t.event(placed[0].0, DialerEventKind::Answered);
    t.event(
        placed[0].0,
        DialerEventKind::Connected { agent: "a1".into() },
    );
    let set = |call: &str| DispositionSet {
        call: call.into(),
        agent: Some("a1".into()),
        caller: "+15551230000".into(),
        callee: "+12015550199".into(),
        code: "sale".into(),
        notes: None,
        callback_at_unix_ms: None,
        is_final: true,
        callback: false,
    };
    // Another call's disposition (inbound, say) is not the lead's.
    t.rt.handle_disposition(t.wall, &set("u-other"));
    let look = LeadBook::open(&store).unwrap();
    assert_eq!(
        look.list("spring", None, 10).unwrap()[0].final_disposition,
        None
    );
    t.rt.handle_disposition(t.wall, &set(&format!("u{}", placed[0].0)));
    let row = &look.list("spring", None, 10).unwrap()[0];
    assert_eq!(row.final_disposition.as_deref(), Some("sale"));
    assert_eq!(row.state, "done");
    // Done: nothing left to dial even much later.
    t.wall += Duration::from_secs(3600 * 48);
    t.agent(0, StateKind::OnCall, StateKind::Ready);
    assert!(t.place_all().is_empty());
}
