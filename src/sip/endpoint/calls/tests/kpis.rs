//! The live KPIs the API's snapshots show, on a virtual clock: a queued caller answered
//! after a wait, talking, hanging up, the agent wrapping up.

use super::queue::{agent_replies, queue_caller, setup, AGENT};
use super::*;
use crate::acd::StateKind;

#[test]
fn a_queued_call_shows_in_the_queue_and_agent_kpis_as_it_goes() {
    let mut h = setup();
    let now = h.now;
    let q = &h.ep.queues_view(now)[0];
    assert_eq!((q.staff.logged_in, q.staff.ready, q.staff.busy), (1, 1, 0));
    assert_eq!(q.kpi.as_ref().map(|k| k.offered), Some(0));

    let _call = queue_caller(&mut h);
    let invite = h.take_sent_to(AGENT).remove(0);
    agent_replies(&mut h, &invite, 180, None);
    h.advance(Duration::from_secs(4));
    agent_replies(
        &mut h,
        &invite,
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    h.advance(Duration::from_secs(30));
    let now = h.now;
    let q = h.ep.queues_view(now).remove(0);
    let k = q.kpi.expect("KPIs run with the ACD");
    assert_eq!((k.offered, k.answered, k.abandoned), (1, 1, 0));
    // Answered after 4 s of ringing: within the default service level.
    assert_eq!(k.asa_ms, Some(4_000));
    assert_eq!(k.service_level, Some(1.0));
    assert_eq!((q.staff.ready, q.staff.busy), (0, 1));
    let a = h.ep.agents_view(now).remove(0);
    assert_eq!(a.state, StateKind::OnCall);
    assert_eq!(a.in_state, Some(Duration::from_secs(30)));

    // The caller hangs up; 5 s of wrap-up later the agent is ready again.
    h.caller_request("BYE", "", None);
    h.advance(Duration::from_secs(5));
    let now = h.now;
    let a = h.ep.agents_view(now).remove(0);
    let ak = a.kpi.expect("KPIs run with the ACD");
    assert_eq!(a.state, StateKind::Ready);
    assert_eq!((ak.calls_handled, ak.talk_ms), (1, 30_000));
    // Busy 4 s offered + 30 s talking + 5 s wrap-up, ready for none of the day before.
    assert_eq!(ak.aht_ms, Some(35_000));
    assert!(ak.occupancy.is_some_and(|o| o > 0.99), "{ak:?}");
    let k = h.ep.queues_view(now).remove(0).kpi.expect("KPIs");
    assert_eq!(k.aht_ms, Some(35_000));
}
