//! The API's call control on a virtual clock: click-to-call (agent first, then the trunk,
//! then the bridge; the agent refusing), runtime number blocks (a trunk caller asserted
//! as a blocked number, a block lapsing), and the disposition window.

use super::queue::{agent_replies, register, AGENT};
use super::*;
use crate::acd::Engine;
use crate::config::{DispositionCode, TrunkSource};
use crate::sip::endpoint::acd::AgentRecord;
use crate::sip::endpoint::calls::{BlockError, ClickToCall, DispositionError, OriginateError};
use crate::sip::endpoint::SecurityEvent;

/// Agent 1002 ready at AGENT (allowed national calls), the trunk accepted as a caller, and
/// two disposition codes.
fn setup() -> H {
    let mut c = super::queue::queue_cfg();
    c.permissions
        .insert("1002".into(), vec!["national".to_string()]);
    c.trunks[0].inbound_from = vec![TrunkSource::Addr(addr(TRUNK))];
    c.dispositions = vec![
        DispositionCode {
            code: "sale".into(),
            is_final: true,
            callback: false,
        },
        DispositionCode {
            code: "callback".into(),
            is_final: false,
            callback: true,
        },
    ];
    let mut h = H::new(c);
    let now = h.now;
    h.ep.set_acd(Engine::new(&super::queue::acd(), now, 0).expect("valid ACD config"));
    register(&mut h, "1002", "pw2", AGENT);
    let now = h.now;
    h.ep.restore_agent(
        now,
        &AgentRecord {
            agent: "1002".into(),
            state: "ready".into(),
            reason: None,
            phone: Some("1002".into()),
        },
    );
    h.collect();
    h.clear();
    h
}

fn click(caller_id: Option<&str>) -> ClickToCall {
    ClickToCall {
        agent_or_extension: "1002".into(),
        number: DIALLED.into(),
        caller_id: caller_id.map(str::to_string),
        variables: vec![("lead".into(), "L-1".into())],
    }
}

#[test]
fn click_to_call_rings_the_agent_then_dials_the_trunk_and_bridges() {
    let mut h = setup();
    let now = h.now;
    let uuid =
        h.ep.click_to_call(now, click(Some("+15550100")))
            .expect("the agent is ready and registered");
    h.collect();
    let mut to_agent = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_agent), ["INVITE"]);
    let invite = to_agent.remove(0);
    // The agent's phone shows whom it is about to call; the trunk hears nothing yet.
    assert!(invite
        .header("From")
        .unwrap()
        .contains(&format!("sip:{DIALLED}@")));
    assert!(h.take_sent_to(TRUNK).is_empty());
    // Busy meanwhile.
    let now = h.now;
    assert!(matches!(
        h.ep.click_to_call(now, click(None)),
        Err(OriginateError::Busy(_))
    ));
    agent_replies(&mut h, &invite, 180, None);
    agent_replies(
        &mut h,
        &invite,
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    let mut to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["INVITE"], "{to_trunk:#?}");
    let tinvite = to_trunk.remove(0);
    assert!(
        tinvite
            .header("From")
            .unwrap()
            .contains("<sip:+15550100@d>"),
        "the request's caller ID: {:?}",
        tinvite.header("From")
    );
    h.trunk_replies(
        &tinvite,
        200,
        "",
        Some(&sdp("198.51.100.1", 30000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(TRUNK)), ["ACK"]);
    let outs = h.take_outs();
    assert!(outs
        .iter()
        .any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { on: true, .. }))));
    let events: Vec<&CallEvent> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert!(
        matches!(events.first(), Some(CallEvent::Created { call, caller, .. }) if *call == uuid && caller == "1002")
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, CallEvent::Ringing { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, CallEvent::Answered { .. })));

    let now = h.now;
    h.ep.hangup(now, &uuid).expect("the call is up");
    h.collect();
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.direction, "click-to-call");
    assert_eq!(
        (cdr.caller.as_str(), cdr.callee.as_str()),
        ("1002", DIALLED)
    );
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert_eq!(cdr.trunk.as_deref(), Some("carrier"));
}

#[test]
fn an_agent_who_rejects_ends_the_click_to_call_and_nobody_else_is_dialled() {
    let mut h = setup();
    let now = h.now;
    h.ep.click_to_call(now, click(None)).unwrap();
    h.collect();
    let invite = h.take_sent_to(AGENT).remove(0);
    agent_replies(&mut h, &invite, 603, None);
    assert!(h.take_sent_to(TRUNK).is_empty());
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.end_cause.as_deref(), Some("agent-rejected"));
    // Free again.
    let now = h.now;
    assert!(h.ep.click_to_call(now, click(None)).is_ok());
}

#[test]
fn unknown_agents_bad_numbers_and_unroutable_numbers_are_refused_up_front() {
    let mut h = setup();
    let now = h.now;
    let mut c = click(None);
    c.agent_or_extension = "9999".into();
    assert!(matches!(
        h.ep.click_to_call(now, c),
        Err(OriginateError::UnknownAgent(_))
    ));
    let mut c = click(None);
    c.number = "12ab".into();
    assert!(matches!(
        h.ep.click_to_call(now, c),
        Err(OriginateError::BadNumber(_))
    ));
    let mut c = click(None);
    c.number = "99999".into();
    assert!(matches!(
        h.ep.click_to_call(now, c),
        Err(OriginateError::NoRoute { .. })
    ));
    h.collect();
    assert!(h.take_sent_to(AGENT).is_empty(), "nothing rang");
}

/// An INVITE from the trunk, From `from`, with `extra` headers.
fn trunk_invite(from: &str, extra: &str) -> String {
    let body = sdp("198.51.100.1", 30000, 1, "sendrecv");
    format!(
        "INVITE sip:5550000@d SIP/2.0\r\nVia: SIP/2.0/UDP {TRUNK};branch=z9hG4bKin1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{from}@carrier>;tag=tr\r\nTo: <sip:5550000@d>\r\n\
         Call-ID: in-1\r\nCSeq: 1 INVITE\r\nContact: <sip:{from}@{TRUNK}>\r\n{extra}\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_trunk_caller_asserted_as_a_blocked_number_gets_603_and_a_blocked_cdr() {
    let mut h = setup();
    let now = h.now;
    h.ep.block_number(now, "+15550001", "fraud", None).unwrap();
    h.collect();
    h.clear();
    h.trunk_sends(&trunk_invite(
        "+15559999",
        "P-Asserted-Identity: <sip:+15550001@carrier>\r\n",
    ));
    let codes: Vec<Option<u16>> = h.take_sent_to(TRUNK).iter().map(|m| m.status()).collect();
    assert_eq!(codes, [Some(100), Some(603)]);
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Security(SecurityEvent::Blocked { number, .. }) if number == "+15550001"
    )));
    let cdr = outs
        .iter()
        .find_map(|(_, o)| match o {
            Output::Cdr(CdrWrite::Start(c)) => Some(c.clone()),
            _ => None,
        })
        .expect("a CDR for the refused call");
    assert_eq!(cdr.end_cause.as_deref(), Some("blocked"));
    assert_eq!(cdr.caller, "+15559999");
    assert_eq!(cdr.trunk.as_deref(), Some("carrier"));
    assert_eq!(cdr.direction, "inbound");
}

#[test]
fn a_block_lapses_at_its_expiry_and_bad_input_is_refused() {
    let mut h = setup();
    let now = h.now;
    let wall = h.ep.blocked_numbers(now);
    assert!(wall.is_empty());
    // The virtual wall clock starts at 0 ms.
    let e =
        h.ep.block_number(now, "+15550001", "x", Some(60_000))
            .unwrap();
    assert_eq!(e.expires_unix_ms, Some(60_000));
    assert!(matches!(
        h.ep.block_number(now, "five", "x", None),
        Err(BlockError::BadNumber(_))
    ));
    h.advance(Duration::from_secs(30));
    assert_eq!(h.ep.blocked_numbers(h.now).len(), 1);
    assert!(matches!(
        h.ep.block_number(h.now, "+1", "x", Some(1_000)),
        Err(BlockError::ExpiresInPast(_))
    ));
    h.advance(Duration::from_secs(31));
    assert!(h.ep.blocked_numbers(h.now).is_empty(), "lapsed");
    h.clear();
    h.trunk_sends(&trunk_invite("+15550001", ""));
    let codes: Vec<Option<u16>> = h.take_sent_to(TRUNK).iter().map(|m| m.status()).collect();
    assert!(
        !codes.contains(&Some(603)),
        "a lapsed block refuses nothing: {codes:?}"
    );
}

#[test]
fn a_disposition_is_taken_during_the_call_and_the_wrap_up_window_only() {
    let mut h = setup();
    h.call_up();
    let uuid = h.ep.calls_view(h.now)[0].id.clone();
    let now = h.now;
    let e =
        h.ep.set_disposition(now, &uuid, "maybe", None, None)
            .unwrap_err();
    assert!(e.to_string().contains("sale, callback"), "{e}");
    assert!(matches!(
        h.ep.set_disposition(now, &uuid, "sale", None, Some(5)),
        Err(DispositionError::CallbackTimeNotAllowed(_))
    ));
    h.ep.set_disposition(now, &uuid, "sale", Some(" two units "), None)
        .unwrap();
    h.collect();
    let set = h
        .take_outs()
        .into_iter()
        .find_map(|(_, o)| match o {
            Output::Disposition(d) => Some(d),
            _ => None,
        })
        .expect("the dialer's output");
    assert!(set.is_final && !set.callback);
    assert_eq!(set.notes.as_deref(), Some("two units"));
    h.ep.hangup(now, &uuid).unwrap();
    h.collect();
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(
        cdr.disposition.as_deref(),
        Some("sale"),
        "the final CDR carries it"
    );
    // Nine minutes into the wrap-up: still taken; eleven: too late.
    h.advance(Duration::from_secs(9 * 60));
    let now = h.now;
    assert!(h
        .ep
        .set_disposition(now, &uuid, "callback", None, Some(1))
        .is_ok());
    h.advance(Duration::from_secs(2 * 60));
    let now = h.now;
    assert!(matches!(
        h.ep.set_disposition(now, &uuid, "sale", None, None),
        Err(DispositionError::NoSuchCall(_))
    ));
}
