//! Surplus hang-ups through the runtime: the dials pacing gives up on come back as the
//! calls to CANCEL, each once, and their no-answers reach the leads as usual.

use std::time::Duration;

use std::sync::{Arc, Mutex};

use super::memory::MemoryLeads;
use super::tests::{campaign, Shared, T};
use super::*;
use crate::acd::StateKind;
use crate::dialer::pacing::{AgentId, Mode};
use crate::dialer::source::LeadRules;

/// Pacing's history, straight into the campaign's pacing: a fifth of the dials answered by
/// a person, half of them late (18 s), so a dial still ringing at 15 s may yet bring one;
/// talks of 60 s.
fn history(rt: &mut Runtime, now: &mut Instant) {
    let c = rt.campaigns[0].id;
    let helper = AgentId(900);
    rt.pacing.handle_agent_login(*now, helper, c).unwrap();
    for i in 0..200u64 {
        let d = DialId(1_000_000 + i);
        rt.pacing.handle_dial_placed(*now, c, d).unwrap();
        let live = i % 5 == 0;
        *now += Duration::from_secs(match (live, i % 10 == 0) {
            (true, true) => 18,
            (true, false) => 8,
            (false, _) => 26,
        });
        let outcome = if live {
            DialOutcome::Human
        } else {
            DialOutcome::NoAnswer
        };
        rt.pacing.handle_dial_outcome(*now, d, outcome).unwrap();
        if live {
            rt.pacing.handle_connected(*now, d, helper).unwrap();
            *now += Duration::from_secs(60);
            rt.pacing.handle_talk_ended(*now, helper).unwrap();
            *now += Duration::from_secs(10);
            rt.pacing.handle_wrap_ended(*now, helper).unwrap();
            rt.pacing.handle_agent_not_ready(*now, helper).unwrap();
        }
    }
    rt.pacing.handle_agent_logout(*now, helper).unwrap();
    while let Some(r) = rt.pacing.poll_dials() {
        rt.pacing
            .handle_dials_not_placed(*now, r.campaign, r.count)
            .unwrap();
    }
    while rt.pacing.poll_cancels().is_some() {}
}

/// A predictive campaign worked by six agents (`a0`..`a5`, ACD ids 0..5).
fn six_agents() -> T {
    let mut m = MemoryLeads::new();
    let numbers: Vec<String> = (0..60).map(|i| format!("+155502{i:02}")).collect();
    m.add_campaign("spring", LeadRules::default(), &numbers);
    let leads = Arc::new(Mutex::new(m));
    let agents: Vec<(String, Vec<String>)> = (0..6)
        .map(|i| (format!("a{i}"), vec!["outbound".to_string()]))
        .collect();
    let rt = Runtime::new(
        &[campaign(Mode::Predictive)],
        &agents,
        Box::new(Shared(leads.clone())),
    )
    .unwrap();
    T {
        rt,
        leads,
        now: Instant::now(),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        next_call: 1,
    }
}

#[test]
fn surplus_dials_come_back_as_calls_to_cancel() {
    let mut t = six_agents();
    let mut now = t.now;
    history(&mut t.rt, &mut now);
    t.now = now;
    for a in 0..6 {
        t.agent(a, StateKind::LoggedOut, StateKind::Ready);
    }
    let mut placed = t.place_all();
    let mut placed_at: HashMap<CallRef, Instant> =
        placed.iter().map(|&(c, _)| (c, t.now)).collect();
    for _ in 0..4 {
        t.now += Duration::from_millis(250);
        t.rt.handle_timeout(t.now);
        let more = t.place_all();
        placed_at.extend(more.iter().map(|&(c, _)| (c, t.now)));
        placed.extend(more);
    }
    let est = t.rt.pacing.estimates(t.rt.campaigns[0].id);
    assert!(
        placed.len() > 6,
        "predictive over-dials: {placed:?} {est:?}"
    );
    // Six answer at once and take every agent for a talk of about a minute.
    for (i, &(call, _)) in placed.iter().take(6).enumerate() {
        t.event(call, DialerEventKind::Answered);
        t.event(
            call,
            DialerEventKind::Connected {
                agent: format!("a{i}"),
            },
        );
        t.agent(i as u32, StateKind::Offered, StateKind::OnCall);
    }
    let ringing: Vec<CallRef> = placed[6..].iter().map(|&(c, _)| c).collect();
    let mut cancelled = Vec::new();
    for _ in 0..40 {
        t.now += Duration::from_millis(500);
        t.rt.handle_timeout(t.now);
        let _ = t.place_all();
        while let Some(call) = t.rt.poll_cancel() {
            let rung = t.now.duration_since(placed_at[&call]);
            assert!(
                rung >= Duration::from_secs(15),
                "call {call} hung up after {rung:?} of ringing"
            );
            cancelled.push(call);
        }
    }
    cancelled.sort_unstable();
    assert_eq!(
        cancelled, ringing,
        "each ringing dial once, the answered ones never"
    );
    for &call in &cancelled {
        t.event(call, DialerEventKind::NoAnswer);
    }
    let s = t.stats();
    assert_eq!(s.no_answer, ringing.len() as u64);
    assert_eq!(s.in_progress, 0);
    assert!(t.rt.poll_cancel().is_none());
}
