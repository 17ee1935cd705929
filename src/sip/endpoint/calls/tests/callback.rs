//! Queued callbacks on a virtual clock: the caller presses the callback key and hangs up
//! with their place kept; at their turn the agent's phone rings first, then the customer's,
//! and the two are bridged.

use super::queue::{agent_replies, queue_caller, queue_cfg, register, AGENT};
use super::*;
use crate::acd::{AcdConfig, Engine};
use crate::sip::endpoint::acd::AgentRecord;
use crate::sip::endpoint::calls::{MediaEvent, Side};

/// Where the customer's (user 1001's) phone is registered for the call back.
const CUSTOMER: &str = "192.0.2.77:5080";

fn callback_acd() -> AcdConfig {
    let mut a = super::queue::acd();
    a.queues[0].caller.callback_key = Some("5".into());
    a
}

#[test]
fn a_callback_keeps_the_place_rings_the_agent_then_the_customer() {
    let mut c = queue_cfg();
    c.acd = callback_acd();
    let mut h = H::new(c);
    let now = h.now;
    h.ep.set_acd(Engine::new(&callback_acd(), now, 0).expect("valid ACD config"));
    register(&mut h, "1002", "pw2", AGENT);
    register(&mut h, "1001", "pw", CUSTOMER);
    // Nobody is logged in: the caller waits, then asks for a callback.
    let call = queue_caller(&mut h);
    h.clear();
    let now = h.now;
    h.ep.handle_media_event(
        now,
        call,
        MediaEvent::Dtmf {
            side: Side::A,
            digit: '5',
            duration_ms: 100,
        },
    );
    h.collect();
    let outs = h.take_outs();
    let entry = outs
        .iter()
        .find_map(|(_, o)| match o {
            Output::Callback(e) => Some(e.clone()),
            _ => None,
        })
        .expect("the callback is stored");
    assert_eq!(entry.number, "1001");
    assert_eq!(entry.trunk, None);
    let id = outs
        .iter()
        .find_map(|(_, o)| match o {
            Output::Media(MediaCommand::Play { prompts, id, .. })
                if prompts == &["prompts/callback-confirmed.wav".to_string()] =>
            {
                Some(*id)
            }
            _ => None,
        })
        .expect("the confirmation plays");
    let now = h.now;
    h.ep.handle_media_event(now, call, MediaEvent::PlayDone { side: Side::A, id });
    h.collect();
    assert_eq!(kinds(&h.take_sent_to(CALLER)), ["BYE"]);
    let first = h.take_cdr_ends().remove(0);
    assert_eq!(first.end_cause.as_deref(), Some("callback-requested"));

    // The agent logs in: the callback's turn. The agent's phone rings first, showing the
    // customer's number.
    h.advance(Duration::from_secs(30));
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
    let mut to_agent = h.take_sent_to(AGENT);
    assert_eq!(kinds(&to_agent), ["INVITE"], "{to_agent:#?}");
    let invite = to_agent.remove(0);
    assert!(invite.header("From").unwrap().contains("sip:1001@"));
    assert!(
        h.take_sent_to(CUSTOMER).is_empty(),
        "the customer waits for the agent"
    );
    agent_replies(
        &mut h,
        &invite,
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["ACK"]);
    // Now the customer's phone rings, offered the codec the agent chose.
    let mut to_customer = h.take_sent_to(CUSTOMER);
    assert_eq!(kinds(&to_customer), ["INVITE"], "{to_customer:#?}");
    let cinvite = to_customer.remove(0);
    assert!(cinvite.body().contains("RTP/AVP 0"), "{}", cinvite.body());
    let resp = respond(
        &cinvite,
        200,
        "cu",
        &format!("Contact: <sip:1001@{CUSTOMER}>\r\n"),
        Some(&sdp("192.0.2.77", 42000, 1, "sendrecv")),
    );
    let now = h.now;
    h.ep.handle_message(now, resp.as_bytes(), Peer::udp(addr(CUSTOMER)));
    h.collect();
    assert_eq!(kinds(&h.take_sent_to(CUSTOMER)), ["ACK"]);
    let outs = h.take_outs();
    assert!(outs
        .iter()
        .any(|(_, o)| matches!(o, Output::Media(MediaCommand::Bridge { on: true, .. }))));
    assert!(
        outs.iter()
            .any(|(_, o)| matches!(o, Output::CallbackDone(n) if *n == entry.record.call.0)),
        "the stored callback is done: {outs:?}"
    );
    assert!(outs.iter().any(|(_, o)| matches!(
        o,
        Output::Acd(ev) if matches!(ev.kind, crate::acd::EventKind::Connected { callback: true, .. })
    )));
}
