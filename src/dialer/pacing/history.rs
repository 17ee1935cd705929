//! Test support: feed a campaign's pacing a history of resolved dials and talks, as the
//! windows need before predictive plans (shared by the pacing and the runtime tests).

use std::time::{Duration, Instant};

use super::{AgentId, CampaignId, DialId, DialOutcome, Pacing};

/// `dials` dials one after the other through a helper agent (logged out at the end): dial
/// `i` resolves `fate(i).0` s after it was placed, a person (`fate(i).1`) connected to the
/// helper for a 60 s talk and a 10 s wrap-up, or a no-answer. `now` advances with them.
/// Whatever pacing asked for meanwhile is reported not placed, and nothing is hung up.
pub(crate) fn feed(
    p: &mut Pacing,
    now: &mut Instant,
    c: CampaignId,
    dials: u64,
    fate: impl Fn(u64) -> (f64, bool),
) {
    let helper = AgentId(900_000);
    p.handle_agent_login(*now, helper, c).expect("login");
    for i in 0..dials {
        let d = DialId(5_000_000 + i);
        p.handle_dial_placed(*now, c, d).expect("placed");
        let (after, live) = fate(i);
        *now += Duration::from_secs_f64(after);
        let outcome = if live {
            DialOutcome::Human
        } else {
            DialOutcome::NoAnswer
        };
        p.handle_dial_outcome(*now, d, outcome).expect("outcome");
        if live {
            p.handle_connected(*now, d, helper).expect("connect");
            *now += Duration::from_secs(60);
            p.handle_talk_ended(*now, helper).expect("talk end");
            *now += Duration::from_secs(10);
            p.handle_wrap_ended(*now, helper).expect("wrap end");
            p.handle_agent_not_ready(*now, helper).expect("not ready");
        }
    }
    p.handle_agent_logout(*now, helper).expect("logout");
    while let Some(r) = p.poll_dials() {
        p.handle_dials_not_placed(*now, r.campaign, r.count)
            .expect("not placed");
    }
    while p.poll_cancels().is_some() {}
}

/// A fifth of the dials answered by a person, half of those late (18 s, so a dial still
/// ringing after 15 s may yet bring one), the rest no-answers at 26 s.
pub(crate) fn late_answers(i: u64) -> (f64, bool) {
    match (i.is_multiple_of(5), i.is_multiple_of(10)) {
        (true, true) => (18.0, true),
        (true, false) => (8.0, true),
        (false, _) => (26.0, false),
    }
}
