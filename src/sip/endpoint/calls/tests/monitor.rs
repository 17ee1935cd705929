//! Monitoring started from the API: the supervisor's phone is rung first, then hears the
//! agent's call; modes switch; the session ends with the call.

use super::queue::{agent_replies, queue_caller, register, setup, AGENT};
use super::*;
use crate::media::monitor::MonitorMode;

const SUP: &str = "192.0.2.60:5090";

#[test]
fn the_api_rings_the_supervisor_then_mixes_the_agents_call_for_them() {
    let mut h = setup();
    h.ep.cfg.users.insert(
        "1003".into(),
        crate::sip::auth::UserCredentials {
            password: Some("pw3".into()),
            ..Default::default()
        },
    );
    h.ep.cfg
        .permissions
        .insert("1003".into(), vec!["monitor".into()]);
    register(&mut h, "1003", "pw3", SUP);
    let now = h.now;
    assert!(h
        .ep
        .monitor(now, "1003", "1002")
        .unwrap_err()
        .contains("on no call"));
    // The caller is queued and the agent answers.
    let target = queue_caller(&mut h);
    let invite = h.take_sent_to(AGENT).remove(0);
    agent_replies(
        &mut h,
        &invite,
        200,
        Some(&sdp("192.0.2.50", 41000, 1, "sendrecv")),
    );
    h.clear();
    let now = h.now;
    assert!(h
        .ep
        .monitor(now, "1001", "1002")
        .unwrap_err()
        .contains("permission"));
    let sup_call =
        h.ep.monitor(now, "1003", "1002")
            .expect("monitoring starts");
    h.collect();
    let mut to_sup = h.take_sent_to(SUP);
    assert_eq!(kinds(&to_sup), ["INVITE"]);
    let sinvite = to_sup.remove(0);
    let resp = respond(
        &sinvite,
        200,
        "su",
        &format!("Contact: <sip:1003@{SUP}>\r\n"),
        Some(&sdp("192.0.2.60", 43000, 1, "sendrecv")),
    );
    let now = h.now;
    h.ep.handle_message(now, resp.as_bytes(), Peer::udp(addr(SUP)));
    h.collect();
    assert_eq!(kinds(&h.take_sent_to(SUP)), ["ACK"]);
    let outs = h.take_outs();
    assert!(
        outs.iter().any(|(_, o)| matches!(
            o,
            Output::Media(MediaCommand::Monitor { target: t, mode: MonitorMode::Listen, .. }) if *t == target
        )),
        "{outs:?}"
    );
    h.ep.set_monitor_mode(&sup_call, MonitorMode::Whisper)
        .expect("switch");
    assert!(h.ep.set_monitor_mode("nope", MonitorMode::Barge).is_err());
    h.collect();
    assert!(h.take_outs().iter().any(|(_, o)| matches!(
        o,
        Output::Media(MediaCommand::MonitorMode {
            mode: MonitorMode::Whisper,
            ..
        })
    )));
    // The customer hangs up: agent and supervisor both get BYE.
    h.caller_request("BYE", "", None);
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["BYE"]);
    assert_eq!(kinds(&h.take_sent_to(SUP)), ["BYE"]);
}
