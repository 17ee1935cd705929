//! Preview dialing and personal callbacks on the virtual clock: leads shown one per agent,
//! skipped and dialed agent-first; personal callbacks dialed to their agent only, when
//! that agent is free, and never handed to pacing's dials.

use std::time::Duration;

use super::preview::PreviewError;
use super::tests::{setup, T};
use super::*;
use crate::acd::StateKind;
use crate::dialer::pacing::Mode;
use crate::dialer::source::LeadRules;

impl T {
    /// Place every order; returns (call, order) of each.
    fn place_orders(&mut self) -> Vec<(CallRef, CampaignDial)> {
        let mut v = Vec::new();
        while let Some(o) = self.rt.poll_dial(self.now, self.wall) {
            let call = self.next_call;
            self.next_call += 1;
            self.rt.handle_placed(self.now, self.wall, &o, Ok(call));
            v.push((call, o));
        }
        v
    }

    /// a1 schedules a personal callback `secs` from now on the lead of `call`.
    fn personal_callback(&mut self, call: CallRef, secs: u64) {
        let at = self.wall + Duration::from_secs(secs);
        let ms = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        self.rt.handle_disposition(
            self.wall,
            &DispositionSet {
                call: format!("u{call}"),
                agent: Some("a1".into()),
                caller: String::new(),
                callee: String::new(),
                code: "callback".into(),
                notes: None,
                callback_at_unix_ms: Some(ms),
                is_final: false,
                callback: true,
            },
        );
    }

    fn later(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
        self.wall += Duration::from_secs(secs);
    }
}

#[test]
fn preview_needs_a_logged_in_agent_of_a_running_preview_campaign() {
    let mut t = setup(Mode::Preview, 2);
    let e = t.rt.preview_next(t.wall, "nobody").unwrap_err();
    assert_eq!(e, PreviewError::UnknownAgent("nobody".into()));
    assert!(e.is_not_found());
    // "other" serves only the inbound queue: no campaign agent.
    assert!(matches!(
        t.rt.preview_next(t.wall, "other"),
        Err(PreviewError::UnknownAgent(_))
    ));
    assert_eq!(
        t.rt.preview_next(t.wall, "a1"),
        Err(PreviewError::NotLoggedIn("a1".into()))
    );
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    t.rt.set_state(t.now, "spring", RunState::Paused).unwrap();
    assert!(matches!(
        t.rt.preview_next(t.wall, "a1"),
        Err(PreviewError::NotRunning {
            state: "paused",
            ..
        })
    ));

    let mut p = setup(Mode::Progressive, 2);
    p.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let e = p.rt.preview_next(p.wall, "a1").unwrap_err();
    assert!(
        matches!(
            &e,
            PreviewError::NotPreview {
                mode: "progressive",
                ..
            }
        ),
        "{e}"
    );

    let mut empty = setup(Mode::Preview, 0);
    empty.agent(0, StateKind::LoggedOut, StateKind::Ready);
    assert_eq!(
        empty.rt.preview_next(empty.wall, "a1"),
        Err(PreviewError::NoLead("spring".into()))
    );
}

#[test]
fn a_preview_agent_sees_one_lead_skips_it_and_dials_the_next_agent_first() {
    let mut t = setup(Mode::Preview, 3);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    t.agent(1, StateKind::LoggedOut, StateKind::Ready);
    assert!(
        t.place_orders().is_empty(),
        "pacing places no preview dials"
    );
    let first = t.rt.preview_next(t.wall, "a1").unwrap();
    assert_eq!((first.number.as_str(), first.attempt_no), ("+15550100", 1));
    assert_eq!(
        t.rt.preview_next(t.wall, "a1").unwrap(),
        first,
        "the same lead"
    );
    let theirs = t.rt.preview_next(t.wall, "a2").unwrap();
    assert_eq!(theirs.number, "+15550101", "a2 is shown another lead");

    let e = t.rt.preview_skip(t.wall, "a1", theirs.lead_id).unwrap_err();
    assert!(e.is_invalid_argument(), "{e}");
    t.rt.preview_skip(t.wall, "a1", first.lead_id).unwrap();
    let next = t.rt.preview_next(t.wall, "a1").unwrap();
    assert_eq!(
        next.number, "+15550102",
        "the skipped lead went to the back"
    );
    assert!(matches!(
        t.rt.preview_dial(t.now, "a1", first.lead_id),
        Err(PreviewError::NotShown { shown: Some(_), .. })
    ));

    let attempt = t.rt.preview_dial(t.now, "a1", next.lead_id).unwrap();
    assert_eq!(attempt, next.attempt_id);
    let placed = t.place_orders();
    assert_eq!(placed.len(), 1);
    let (call, order) = &placed[0];
    assert_eq!(order.agent.as_deref(), Some("a1"));
    assert_eq!(order.number, "+15550102");
    assert_eq!(t.stats().dials, 0, "not a dial until the lead is dialed");
    assert!(
        matches!(
            t.rt.preview_next(t.wall, "a1"),
            Err(PreviewError::NoLead(_))
        ),
        "dialed: no longer shown; a2 holds the other lead, the skipped one waits"
    );
    t.event(*call, DialerEventKind::Dialed);
    assert_eq!((t.stats().dials, t.stats().in_progress), (1, 1));
    t.event(*call, DialerEventKind::Answered);
    t.event(*call, DialerEventKind::Connected { agent: "a1".into() });
    t.event(*call, DialerEventKind::Ended { agent: "a1".into() });
    let s = t.stats();
    assert_eq!((s.answered, s.connected, s.in_progress), (1, 1, 0));
    assert_eq!(
        t.results(),
        [(
            "+15550102".to_string(),
            AttemptResult::Connected { agent: "a1".into() }
        )]
    );
}

#[test]
fn an_agent_who_does_not_take_a_preview_dial_gives_the_lead_back_uncounted() {
    let mut t = setup(Mode::Preview, 1);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let lead = t.rt.preview_next(t.wall, "a1").unwrap();
    t.rt.preview_dial(t.now, "a1", lead.lead_id).unwrap();
    let (call, _) = t.place_orders().remove(0);
    t.event(
        call,
        DialerEventKind::NotDialed {
            reason: "agent-unanswered".into(),
        },
    );
    assert!(matches!(
        &t.results()[..],
        [(_, AttemptResult::NotDialed { reason })] if reason == "agent-unanswered"
    ));
    assert_eq!(t.stats(), Stats::default(), "nothing was dialed");
    let again = t.rt.preview_next(t.wall, "a1").unwrap();
    assert_eq!((again.lead_id, again.attempt_no), (lead.lead_id, 1));
}

#[test]
fn a_preview_agent_logging_out_puts_the_shown_lead_back() {
    let mut t = setup(Mode::Preview, 1);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let lead = t.rt.preview_next(t.wall, "a1").unwrap();
    t.agent(0, StateKind::Ready, StateKind::LoggedOut);
    t.later(LeadRules::default().retry_skipped_secs);
    t.agent(1, StateKind::LoggedOut, StateKind::Ready);
    assert_eq!(
        t.rt.preview_next(t.wall, "a2").unwrap().lead_id,
        lead.lead_id
    );
}

#[test]
fn a_personal_callback_rings_its_agent_when_they_become_ready_and_nobody_else() {
    let mut t = setup(Mode::Progressive, 3);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let (call, first) = t.place_orders().remove(0);
    assert_eq!(first.agent, None);
    t.event(call, DialerEventKind::Answered);
    t.event(call, DialerEventKind::Connected { agent: "a1".into() });
    t.agent(0, StateKind::Offered, StateKind::OnCall);
    t.personal_callback(call, 60);
    t.later(120);
    // Due now, but a2 is not its agent: a2 gets the next lead.
    t.agent(1, StateKind::LoggedOut, StateKind::Ready);
    let for_a2 = t.place_orders();
    assert_eq!(for_a2.len(), 1);
    assert_eq!(for_a2[0].1.number, "+15550101");
    assert_eq!(for_a2[0].1.agent, None);

    t.agent(0, StateKind::OnCall, StateKind::WrapUp);
    t.agent(0, StateKind::WrapUp, StateKind::Ready);
    let placed = t.place_orders();
    assert_eq!(
        placed.len(),
        1,
        "the callback, and no paced dial on a1 meanwhile"
    );
    let (cb, order) = &placed[0];
    assert_eq!(
        (order.number.as_str(), order.agent.as_deref()),
        ("+15550100", Some("a1"))
    );
    // a1's phone rings: pacing counts them not ready; once the lead is dialed the dial
    // stands for a1 (progressive: still nothing more).
    t.event(*cb, DialerEventKind::Dialed);
    assert!(t.place_orders().is_empty());
    t.event(*cb, DialerEventKind::Busy);
    let refill = t.place_orders();
    assert_eq!(refill.len(), 1, "a1 is free again: a paced dial");
    assert_eq!(refill[0].1.number, "+15550102");
}

#[test]
fn a_callback_come_due_while_its_agent_sits_ready_is_found_by_the_sweep() {
    let mut t = setup(Mode::Progressive, 1);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let (call, _) = t.place_orders().remove(0);
    t.event(call, DialerEventKind::Answered);
    t.event(call, DialerEventKind::Connected { agent: "a1".into() });
    t.agent(0, StateKind::Offered, StateKind::OnCall);
    t.personal_callback(call, 60);
    t.agent(0, StateKind::OnCall, StateKind::Ready);
    assert!(t.place_orders().is_empty(), "not due yet, no other lead");
    t.later(30);
    assert!(t.place_orders().is_empty());
    t.later(40);
    assert!(t.rt.poll_timeout().is_some_and(|at| at <= t.now));
    let placed = t.place_orders();
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].1.agent.as_deref(), Some("a1"));
    // a1 refuses: the callback stays theirs, not redialed at once, not anyone else's.
    t.event(
        placed[0].0,
        DialerEventKind::NotDialed {
            reason: "agent-rejected".into(),
        },
    );
    t.agent(1, StateKind::LoggedOut, StateKind::Ready);
    t.later(11);
    assert!(t.place_orders().is_empty());
}

#[test]
fn an_agent_first_call_frees_its_agent_for_pacing_only_when_their_wrap_up_ends() {
    let mut t = setup(Mode::Progressive, 3);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    let (call, _) = t.place_orders().remove(0);
    t.event(call, DialerEventKind::Answered);
    t.event(call, DialerEventKind::Connected { agent: "a1".into() });
    t.agent(0, StateKind::Offered, StateKind::OnCall);
    t.personal_callback(call, 60);
    t.agent(0, StateKind::OnCall, StateKind::WrapUp);
    t.later(120);
    t.agent(0, StateKind::WrapUp, StateKind::Ready);
    let (cb, order) = t.place_orders().remove(0);
    assert_eq!(order.agent.as_deref(), Some("a1"));
    t.event(cb, DialerEventKind::Dialed);
    t.event(cb, DialerEventKind::Answered);
    t.event(cb, DialerEventKind::Connected { agent: "a1".into() });
    // The endpoint has the ACD put a1 OnCall right after `Connected`.
    t.agent(0, StateKind::Ready, StateKind::OnCall);
    t.event(cb, DialerEventKind::Ended { agent: "a1".into() });
    assert!(t.place_orders().is_empty(), "ended, but a1 is not free yet");
    t.agent(0, StateKind::OnCall, StateKind::WrapUp);
    assert!(t.place_orders().is_empty(), "a1 wraps up");
    t.agent(0, StateKind::WrapUp, StateKind::Ready);
    let next = t.place_orders();
    assert_eq!(next.len(), 1, "one paced dial once a1 is ready: {next:?}");
    assert_eq!(next[0].1.agent, None);
}
