//! Callers in an ACD queue on a virtual clock: the IVR sends the caller to a queue, the
//! engine offers them to the agent whose phone is registered, the phone rings while the
//! caller hears music; answer bridges, no answer (RONA) and abandons do what they must.

use std::collections::HashMap;

use super::*;
use crate::acd::{AcdConfig, AgentConfig, Engine, MembershipConfig, QueueConfig};
use crate::config::IvrConfig;
use crate::ivr::{Action, Menu, Menus};
use crate::sip::endpoint::acd::AgentRecord;
use crate::sip::endpoint::calls::{MediaEvent, Side};

pub(super) const AGENT: &str = "192.0.2.50:5070";

pub(super) fn acd() -> AcdConfig {
    acd_with(|_| {})
}

/// The test ACD (queue `sales`, agent 1002) with the queue changed by `f`.
pub(super) fn acd_with(f: impl Fn(&mut QueueConfig)) -> AcdConfig {
    let mut q = QueueConfig::named("sales");
    q.ring_timeout_secs = 15;
    q.wrap_up_secs = 5;
    q.caller.music = Some("moh.wav".into());
    f(&mut q);
    AcdConfig {
        agents: vec![AgentConfig {
            id: "1002".into(),
            name: "Bob".into(),
            skills: Default::default(),
            queues: vec![MembershipConfig {
                queue: "sales".into(),
                penalty: 0,
            }],
        }],
        queues: vec![q],
        ..Default::default()
    }
}

pub(super) fn queue_cfg() -> EndpointConfig {
    queue_cfg_with(acd())
}

/// Users 1001 and 1002, the IVR at 600 (key 1: queue `sales`), and `acd`.
pub(super) fn queue_cfg_with(acd: AcdConfig) -> EndpointConfig {
    let mut c = cfg();
    c.users.insert(
        "1002".into(),
        crate::sip::auth::UserCredentials {
            password: Some("pw2".into()),
            ..Default::default()
        },
    );
    let mut options = HashMap::new();
    options.insert('1', Action::Queue("sales".into()));
    let front = Menu {
        name: "front".into(),
        prompt: "hello.wav".into(),
        invalid_prompt: None,
        timeout: Duration::from_secs(5),
        max_invalid: 1,
        on_failure: Action::Hangup,
        options,
        collect: None,
    };
    c.ivr = IvrConfig {
        menus: Menus {
            menus: [("front".to_string(), front)].into_iter().collect(),
        },
        extensions: [("600".to_string(), "front".to_string())]
            .into_iter()
            .collect(),
    };
    c.acd = acd;
    c
}

/// The endpoint with `acd`'s engine and agent 1002's phone registered at AGENT; nobody is
/// logged in.
pub(super) fn setup_idle(acd: AcdConfig) -> H {
    setup_idle_with(acd, |_| {})
}

/// `setup_idle` with the endpoint config changed by `f` first.
pub(super) fn setup_idle_with(acd: AcdConfig, f: impl Fn(&mut EndpointConfig)) -> H {
    let mut c = queue_cfg_with(acd.clone());
    f(&mut c);
    let mut h = H::new(c);
    let now = h.now;
    h.ep.set_acd(Engine::new(&acd, now, 0).expect("valid ACD config"));
    register(&mut h, "1002", "pw2", AGENT);
    h.collect();
    h.clear();
    h
}

/// The endpoint with the engine, agent 1002's phone registered at AGENT and the agent
/// logged in there and ready.
pub(super) fn setup() -> H {
    let mut h = H::new(queue_cfg());
    let now = h.now;
    h.ep.set_acd(Engine::new(&acd(), now, 0).expect("valid ACD config"));
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

/// REGISTER `ext` from `from` with an MD5 digest answer; the store write is acknowledged.
pub(super) fn register(h: &mut H, ext: &str, pw: &str, from: &str) {
    let req = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:d SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bKr{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{ext}@d>;tag=r1\r\nTo: <sip:{ext}@d>\r\n\
             Call-ID: reg-{ext}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{ext}@{from}>\r\n\
             Expires: 3600\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    };
    let now = h.now;
    h.ep.handle_message(now, req(1, "").as_bytes(), Peer::udp(addr(from)));
    h.collect();
    let got = h.take_sent_to(from);
    let wa = got[0]
        .header("WWW-Authenticate")
        .expect("REGISTER is challenged")
        .to_string();
    let (nonce, realm) = (param(&wa, "nonce").unwrap(), param(&wa, "realm").unwrap());
    let ha1 = md5_hex(&format!("{ext}:{realm}:{pw}"));
    let ha2 = md5_hex("REGISTER:sip:d");
    let resp = md5_hex(&format!("{ha1}:{nonce}:00000001:c1:auth:{ha2}"));
    let auth = format!(
        "Authorization: Digest username=\"{ext}\", realm=\"{realm}\", nonce=\"{nonce}\", \
         uri=\"sip:d\", response=\"{resp}\", algorithm=MD5, cnonce=\"c1\", qop=auth, nc=00000001\r\n"
    );
    h.ep.handle_message(now, req(2, &auth).as_bytes(), Peer::udp(addr(from)));
    h.collect();
    let id = h
        .take_outs()
        .into_iter()
        .find_map(|(_, o)| match o {
            Output::Persist { id, .. } => Some(id),
            _ => None,
        })
        .expect("the binding is written to the store");
    h.ep.handle_store_done(now, id, true);
    h.collect();
    assert_eq!(kinds(&h.take_sent_to(from)), ["200"]);
}

pub(super) fn agent_replies(h: &mut H, req: &Msg, code: u16, body: Option<&str>) {
    let resp = respond(
        req,
        code,
        "ag",
        &format!("Contact: <sip:1002@{AGENT}>\r\n"),
        body,
    );
    let now = h.now;
    h.ep.handle_message(now, resp.as_bytes(), Peer::udp(addr(AGENT)));
    h.collect();
}

/// The caller dials the IVR (600), presses 1 and is queued; returns the call.
pub(super) fn queue_caller(h: &mut H) -> CallRef {
    h.dialled = "600".into();
    let got = h.send_authed_invite("a1@caller", "");
    assert_eq!(kinds(&got), ["100", "200"]);
    h.a_tag = got[1].to_tag();
    h.caller_acks();
    let call = h.call.expect("media opened");
    let now = h.now;
    h.ep.handle_media_event(
        now,
        call,
        MediaEvent::Dtmf {
            side: Side::A,
            digit: '1',
            duration_ms: 100,
        },
    );
    h.collect();
    call
}

pub(super) fn played(outs: &[(Instant, Output)]) -> Vec<(Vec<String>, bool)> {
    outs.iter()
        .filter_map(|(_, o)| match o {
            Output::Media(MediaCommand::Play {
                prompts, looping, ..
            }) => Some((prompts.clone(), *looping)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_queued_caller_is_offered_to_the_agent_and_bridged_on_answer() {
    let mut h = setup();
    let call = queue_caller(&mut h);
    let outs = h.take_outs();
    assert!(
        played(&outs).contains(&(vec!["moh.wav".to_string()], true)),
        "music on hold loops: {:?}",
        played(&outs)
    );
    // The agent's phone rings at once (the agent is ready and reachable).
    let mut to_agent = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_agent), ["INVITE"], "{to_agent:#?}");
    let invite = to_agent.remove(0);
    assert!(invite.header("From").unwrap().contains("sip:1001@"));
    // Our offer to the agent carries exactly the codec the caller has.
    assert!(
        invite.body().contains("m=audio 20002 RTP/AVP 0 101"),
        "{}",
        invite.body()
    );
    agent_replies(&mut h, &invite, 180, None);
    assert!(
        h.take_sent_to(CALLER).is_empty(),
        "the caller is not told of the ringing"
    );
    agent_replies(
        &mut h,
        &invite,
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    let outs = h.take_outs();
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call
    )));
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Acd(ev) if matches!(ev.kind, crate::acd::EventKind::Connected { .. })
    )));
    // The caller hangs up: the agent gets BYE, the CDR names the queue and agent.
    h.caller_request("BYE", "", None);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["BYE"]);
    let cdr = h.take_cdr_ends().remove(0);
    assert_eq!(cdr.queue.as_deref(), Some("sales"));
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert_eq!(cdr.callee, "1002");
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"));
}

#[test]
fn an_agent_who_does_not_answer_goes_not_ready_and_the_caller_waits_on() {
    let mut h = setup();
    let call = queue_caller(&mut h);
    let invite = h.take_sent_to(AGENT).remove(0);
    agent_replies(&mut h, &invite, 180, None);
    h.clear();
    // Just before the ring timeout nothing happens.
    h.advance(Duration::from_millis(14_999));
    assert!(h.take_sent_to(AGENT).is_empty());
    h.advance(Duration::from_millis(1));
    let cancel = h.take_sent_to(AGENT);
    assert_eq!(kinds(&cancel), ["CANCEL"], "RONA cancels the ringing phone");
    let outs = h.take_outs();
    let states: Vec<_> = outs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::AgentState(r) => Some((r.state.clone(), r.reason.clone())),
            _ => None,
        })
        .collect();
    assert!(
        states.contains(&("not-ready".to_string(), Some("no-answer".to_string()))),
        "the agent is stored not ready (no-answer): {states:?}"
    );
    agent_replies(&mut h, &cancel[0], 200, None);
    agent_replies(&mut h, &invite, 487, None);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    // The caller is still there, still waiting: nothing was sent to them.
    assert!(h.take_sent_to(CALLER).is_empty());
    assert_eq!(h.ep.active_calls(), 1);
    // The agent makes themself ready again: the caller is offered at once.
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
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["INVITE"]);
    let _ = call;
}

#[test]
fn a_caller_hanging_up_while_the_agent_rings_is_an_abandon() {
    let mut h = setup();
    let _call = queue_caller(&mut h);
    let invite = h.take_sent_to(AGENT).remove(0);
    agent_replies(&mut h, &invite, 180, None);
    h.clear();
    h.caller_request("BYE", "", None);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["CANCEL"]);
    let outs = h.take_outs();
    assert!(
        outs.iter().any(|(_, o)| matches!(
            o,
            Output::Acd(ev) if matches!(ev.kind, crate::acd::EventKind::Abandoned { .. })
        )),
        "{outs:?}"
    );
    let cdr = outs
        .into_iter()
        .find_map(|(_, o)| match o {
            Output::Cdr(CdrWrite::End(_, c)) => Some(c),
            _ => None,
        })
        .expect("CDR");
    assert_eq!(cdr.queue.as_deref(), Some("sales"));
    assert_eq!(cdr.agent, None);
}

#[test]
fn a_late_487_from_the_phone_given_up_on_does_not_end_the_next_offer() {
    let mut h = setup();
    let call = queue_caller(&mut h);
    let first = h.take_sent_to(AGENT).remove(0);
    agent_replies(&mut h, &first, 180, None);
    h.advance(Duration::from_secs(15));
    let cancel = h.take_sent_to(AGENT);
    assert_eq!(kinds(&cancel), ["CANCEL"], "RONA");
    agent_replies(&mut h, &cancel[0], 200, None);
    // The agent is ready again before their phone confirms the cancelled INVITE: the
    // caller is offered again at once, in the same fork slot.
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
    let second = h.take_sent_to(AGENT);
    assert_eq!(kinds(&second), ["INVITE"], "offered again");
    assert_ne!(second[0].header("Call-ID"), first.header("Call-ID"));
    h.clear();
    // Now the first INVITE's 487 arrives: ACKed, and nothing else happens.
    agent_replies(&mut h, &first, 487, None);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"], "only the ACK");
    assert!(
        !h.take_outs().iter().any(|(_, o)| matches!(
            o,
            Output::Acd(ev) if matches!(ev.kind, crate::acd::EventKind::OfferEnded { .. })
        )),
        "the second offer is still on"
    );
    // The second ringing phone answers: the caller is bridged to the agent.
    agent_replies(
        &mut h,
        &second[0],
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    assert!(h.take_outs().iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::Bridge { on: true, call: c }) if *c == call
    )));
}
