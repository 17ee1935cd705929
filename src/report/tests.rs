use super::*;
use crate::acd::config::QueueConfig;
use crate::acd::{AgentConfig, CallId, EventKind, OfferEnd, OfferId, Party};

const T0: u64 = 1_700_000_000_000;
const SALES: QueueId = QueueId(0);
const BOB: AgentId = AgentId(0);
const CAROL: AgentId = AgentId(1);

fn cfg() -> AcdConfig {
    let agent = |id: &str, name: &str| AgentConfig {
        id: id.into(),
        name: name.into(),
        skills: Default::default(),
        queues: vec![],
    };
    AcdConfig {
        queues: vec![
            QueueConfig {
                service_level_secs: 20,
                short_abandon_secs: 5,
                service_level_formula: ServiceLevelFormula::ExcludeShortAbandons,
                ..QueueConfig::named("sales")
            },
            QueueConfig::named("support"),
        ],
        agents: vec![agent("1002", "Bob"), agent("1003", "Carol")],
        ..AcdConfig::default()
    }
}

fn st(at_s: u64, agent: AgentId, from: StateKind, to: StateKind, dur_s: u64) -> AcdEvent {
    AcdEvent {
        at_ms: T0 + at_s * 1000,
        kind: EventKind::AgentState {
            agent,
            from,
            to,
            duration_ms: dur_s * 1000,
            reason: None,
        },
    }
}

fn ev(at_s: u64, kind: EventKind) -> AcdEvent {
    AcdEvent {
        at_ms: T0 + at_s * 1000,
        kind,
    }
}

fn queued(at_s: u64, call: u64) -> AcdEvent {
    ev(
        at_s,
        EventKind::Queued {
            call: CallId(call),
            queue: SALES,
            priority: 0,
            position: 1,
        },
    )
}

fn connected(at_s: u64, call: u64, wait_s: u64) -> AcdEvent {
    ev(
        at_s,
        EventKind::Connected {
            call: CallId(call),
            queue: SALES,
            agent: BOB,
            offer: OfferId(call),
            wait_ms: wait_s * 1000,
            ring_ms: 0,
            callback: false,
        },
    )
}

fn ended(at_s: u64, call: u64, talk_s: u64, hold_s: u64) -> AcdEvent {
    ev(
        at_s,
        EventKind::Ended {
            call: CallId(call),
            queue: SALES,
            agent: BOB,
            by: Party::Caller,
            wait_ms: 0,
            talk_ms: talk_s * 1000,
            hold_ms: hold_s * 1000,
            orig_position: 1,
        },
    )
}

fn wrapped(at_s: u64, call: u64, wrap_s: u64) -> AcdEvent {
    ev(
        at_s,
        EventKind::WrapUpDone {
            call: CallId(call),
            queue: SALES,
            agent: BOB,
            wrap_ms: wrap_s * 1000,
        },
    )
}

/// Five minutes of sales: call 1 answered after 5 s (talk 60, wrap 10), call 2 a short
/// abandon (3 s), call 3 answered after 60 s (talk 100 + hold 20, wrap 10), call 4 still
/// waiting at the end. Bob takes both calls and goes not ready at 250 s; Carol is ready
/// for 100 s and logs out.
fn day() -> Vec<AcdEvent> {
    use StateKind::*;
    vec![
        st(0, BOB, LoggedOut, Ready, 0),
        st(0, CAROL, LoggedOut, Ready, 0),
        queued(1, 1),
        st(1, BOB, Ready, Offered, 1),
        st(6, BOB, Offered, OnCall, 5),
        connected(6, 1, 5),
        queued(10, 2),
        ev(
            13,
            EventKind::Abandoned {
                call: CallId(2),
                queue: SALES,
                wait_ms: 3_000,
                position: 1,
                orig_position: 1,
                callback: false,
            },
        ),
        queued(20, 3),
        ended(66, 1, 60, 0),
        st(66, BOB, OnCall, WrapUp, 60),
        wrapped(76, 1, 10),
        st(76, BOB, WrapUp, Ready, 10),
        st(76, BOB, Ready, Offered, 0),
        st(80, BOB, Offered, OnCall, 4),
        connected(80, 3, 60),
        queued(90, 4),
        st(100, CAROL, Ready, LoggedOut, 100),
        ended(200, 3, 100, 20),
        st(200, BOB, OnCall, WrapUp, 120),
        wrapped(210, 3, 10),
        st(210, BOB, WrapUp, Ready, 10),
        st(250, BOB, Ready, NotReady, 40),
    ]
}

fn five_minutes() -> Interval {
    Interval {
        from_ms: T0,
        to_ms: T0 + 300_000,
    }
}

#[test]
fn queue_numbers_are_exact() {
    let r = build(&day(), &cfg(), five_minutes());
    let q = &r.queues[0];
    assert_eq!(q.name, "sales");
    assert_eq!((q.waiting_now, q.longest_wait_now_ms), (1, 210_000));
    assert_eq!(
        (q.offered, q.answered, q.answered_within_sl),
        (4, 2, 1),
        "call 1 within 20 s, call 3 not"
    );
    assert_eq!((q.abandoned, q.short_abandoned), (1, 1));
    // exclude-short-abandons: 1 / (2 + 1 - 1)
    assert_eq!(q.service_level_formula, "exclude-short-abandons");
    assert_eq!(q.service_level, Some(0.5));
    assert_eq!(q.asa_ms, Some((5_000 + 60_000) / 2));
    assert_eq!(q.aht_ms, Some((60_000 + 10_000 + 120_000 + 10_000) / 2));
    let counts: Vec<u64> = q.talk_time.iter().map(|b| b.count).collect();
    assert_eq!(counts, [0, 1, 1, 0, 0, 0, 0], "60 s ≤ 60, 100 s ≤ 120");
    assert_eq!(q.talk_time[6].up_to_secs, None);
    // A configured queue without events is reported, empty.
    let s = &r.queues[1];
    assert_eq!(
        (s.name.as_str(), s.offered, s.service_level),
        ("support", 0, None)
    );
}

#[test]
fn agent_numbers_are_exact() {
    let r = build(&day(), &cfg(), five_minutes());
    let bob = &r.agents[0];
    assert_eq!((bob.id.as_str(), bob.name.as_str()), ("1002", "Bob"));
    let s = |k| bob.state_ms[k];
    assert_eq!(
        (
            s("ready"),
            s("offered"),
            s("on-call"),
            s("wrap-up"),
            s("not-ready")
        ),
        (41_000, 5_000 + 4_000, 180_000, 20_000, 50_000)
    );
    assert_eq!((s("logged-out"), bob.logged_in_ms), (0, 300_000));
    assert_eq!(bob.calls_handled, 2);
    assert_eq!(
        (bob.talk_ms, bob.hold_ms, bob.wrap_ms),
        (160_000, 20_000, 20_000)
    );
    assert_eq!(bob.aht_ms, Some(100_000));
    // not-ready is outside both sides of occupancy
    assert_eq!(bob.occupancy, Some(209_000.0 / 250_000.0));
    let carol = &r.agents[1];
    assert_eq!(carol.state_ms["ready"], 100_000);
    assert_eq!(carol.state_ms["logged-out"], 200_000);
    assert_eq!(carol.logged_in_ms, 100_000);
    assert_eq!((carol.occupancy, carol.aht_ms), (Some(0.0), None));
}

#[test]
fn a_later_interval_sees_waits_and_states_that_began_before_it() {
    let iv = Interval {
        from_ms: T0 + 100_000,
        to_ms: T0 + 300_000,
    };
    assert!(load_since(iv) <= T0, "the lookback reaches the day's start");
    let r = build(&day(), &cfg(), iv);
    let q = &r.queues[0];
    // call 4 was queued at 90 s, call 3 answered at 80 s: neither inside
    assert_eq!((q.offered, q.answered, q.waiting_now), (0, 0, 1));
    assert_eq!(q.longest_wait_now_ms, 210_000);
    assert_eq!(q.aht_ms, Some(130_000), "call 3 wrapped up inside");
    let bob = &r.agents[0];
    // on-call 80–200 clipped to 100–200
    assert_eq!(bob.state_ms["on-call"], 100_000);
    assert_eq!(bob.logged_in_ms, 200_000);
}

#[test]
fn the_table_names_queues_and_agents_with_their_figures() {
    let t = table(&build(&day(), &cfg(), five_minutes()));
    let sales = t.lines().find(|l| l.starts_with("sales ")).unwrap();
    let cols: Vec<&str> = sales.split_whitespace().collect();
    assert_eq!(
        cols,
        ["sales", "1", "3:30", "4", "2", "1", "1", "50.0%", "0:32", "1:40"]
    );
    let bob = t.lines().find(|l| l.starts_with("1002 ")).unwrap();
    assert!(bob.contains("Bob") && bob.ends_with("83.6%"), "{bob}");
    assert!(t.contains("≤60s:1 ≤120s:1"), "{t}");
}

#[test]
fn offer_events_alone_count_as_nothing_answered() {
    let evs = vec![
        queued(0, 9),
        ev(
            5,
            EventKind::OfferEnded {
                call: CallId(9),
                queue: SALES,
                agent: BOB,
                offer: OfferId(1),
                end: OfferEnd::NoAnswer,
                ring_ms: 5_000,
            },
        ),
    ];
    let q = &build(&evs, &cfg(), five_minutes()).queues[0];
    assert_eq!(
        (q.offered, q.answered, q.waiting_now, q.asa_ms),
        (1, 0, 1, None)
    );
}
