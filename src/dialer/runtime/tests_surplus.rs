//! Surplus hang-ups through the runtime: the dials pacing gives up on come back as the
//! calls to CANCEL, each once, and their no-answers reach the leads as usual.

use std::collections::HashMap;
use std::time::Duration;

use super::tests::setup_with;
use super::*;
use crate::acd::StateKind;
use crate::dialer::pacing::{history, Mode};

#[test]
fn surplus_dials_come_back_as_calls_to_cancel() {
    // Six agents (`a0`..`a5`, ACD ids 0..5) work the campaign.
    let agents: Vec<(String, Vec<String>)> = (0..6)
        .map(|i| (format!("a{i}"), vec!["outbound".to_string()]))
        .collect();
    let mut t = setup_with(Mode::Predictive, 60, &agents);
    let c = t.rt.campaigns[0].id;
    let mut now = t.now;
    history::feed(&mut t.rt.pacing, &mut now, c, 200, history::late_answers);
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
