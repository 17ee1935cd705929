//! Calls the ACD did not route (agent-first campaign dials): talk, then the campaign queue's
//! wrap-up, then Ready, with no queue call offered meanwhile.

use super::*;
use crate::acd::event::{AcdError, StateKind};
use crate::acd::AgentState;

/// Agent "a" serves an inbound queue (no wrap-up) and a campaign queue (20 s wrap-up).
fn blended() -> H {
    let camp = QueueConfig {
        wrap_up_secs: 20,
        ..QueueConfig::named("camp")
    };
    let mut h = H::new(
        vec![QueueConfig::named("in"), camp],
        vec![agent("a", &[], &[("in", 0), ("camp", 0)])],
    );
    h.login(&["a"]);
    h
}

fn transitions(h: &H) -> Vec<(StateKind, StateKind)> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::AgentState { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect()
}

#[test]
fn no_queue_call_during_the_external_call_nor_its_wrap_up_then_one_after() {
    let mut h = blended();
    let (a, camp) = (h.a("a"), h.q("camp"));
    h.out.clear();
    h.e.handle_external_call_started(h.now, a, CallId(100), camp)
        .unwrap();
    h.collect();
    assert_eq!(h.state("a"), AgentState::OnCall { call: CallId(100) });
    h.arrive(1, "in", 0);
    h.advance(60.0);
    assert!(h.offers().is_empty(), "talking");
    h.e.handle_external_call_ended(h.now, a).unwrap();
    h.collect();
    assert!(matches!(h.state("a"), AgentState::WrapUp { .. }));
    h.advance(19.0);
    assert!(h.offers().is_empty(), "wrapping up");
    h.advance(1.0);
    assert_eq!(h.one_offer().call, CallId(1));
    assert_eq!(
        transitions(&h),
        [
            (StateKind::Ready, StateKind::OnCall),
            (StateKind::OnCall, StateKind::WrapUp),
            (StateKind::WrapUp, StateKind::Ready),
            (StateKind::Ready, StateKind::Offered),
        ]
    );
    // The talk is the agent's, not the queue's: no queue call ended, no handle time.
    assert!(!h
        .events()
        .iter()
        .any(|e| matches!(e, EventKind::Ended { .. } | EventKind::WrapUpDone { .. })));
    let talk = h.events().into_iter().find_map(|e| match e {
        EventKind::AgentState {
            from: StateKind::OnCall,
            duration_ms,
            ..
        } => Some(duration_ms),
        _ => None,
    });
    assert_eq!(talk, Some(60_000));
}

#[test]
fn a_pause_or_logout_during_the_external_call_wins_over_ready() {
    let mut h = blended();
    let (a, camp) = (h.a("a"), h.q("camp"));
    h.e.handle_external_call_started(h.now, a, CallId(100), camp)
        .unwrap();
    h.e.handle_agent_not_ready(h.now, a, "break").unwrap();
    h.e.handle_external_call_ended(h.now, a).unwrap();
    h.advance(20.0);
    assert_eq!(
        h.state("a"),
        AgentState::NotReady {
            reason: "break".into()
        }
    );

    h.e.handle_agent_ready(h.now, a).unwrap();
    h.e.handle_external_call_started(h.now, a, CallId(101), camp)
        .unwrap();
    h.e.handle_agent_logout(h.now, a).unwrap();
    h.e.handle_external_call_ended(h.now, a).unwrap();
    h.advance(20.0);
    assert_eq!(h.state("a"), AgentState::LoggedOut);
}

#[test]
fn a_paused_agent_talks_and_is_paused_again_after_wrap_up() {
    let mut h = blended();
    let (a, camp) = (h.a("a"), h.q("camp"));
    h.e.handle_agent_not_ready(h.now, a, "preview").unwrap();
    h.e.handle_external_call_started(h.now, a, CallId(100), camp)
        .unwrap();
    assert!(matches!(h.state("a"), AgentState::OnCall { .. }));
    h.e.handle_external_call_ended(h.now, a).unwrap();
    assert!(matches!(h.state("a"), AgentState::WrapUp { .. }));
    h.advance(20.0);
    assert!(matches!(h.state("a"), AgentState::NotReady { .. }));
}

#[test]
fn refused_when_logged_out_on_a_call_or_with_no_call() {
    let mut h = blended();
    let (a, camp) = (h.a("a"), h.q("camp"));
    assert_eq!(
        h.e.handle_external_call_ended(h.now, a),
        Err(AcdError::NotConnected)
    );
    h.e.handle_external_call_started(h.now, a, CallId(100), camp)
        .unwrap();
    assert_eq!(
        h.e.handle_external_call_started(h.now, a, CallId(101), camp),
        Err(AcdError::AgentBusy)
    );
    h.e.handle_external_call_ended(h.now, a).unwrap();
    h.e.handle_agent_logout(h.now, a).unwrap();
    assert_eq!(
        h.e.handle_external_call_started(h.now, a, CallId(102), camp),
        Err(AcdError::NotLoggedIn)
    );
}
