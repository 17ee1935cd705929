//! Recording decisions: start at the answer (never while ringing), policy `never` refuses
//! the API, `on-demand` waits for it, pause/resume/stop in order, and a running recording
//! stops as the call ends.

use super::*;
use crate::recording::Policy;
use crate::sip::endpoint::calls::{RecordOp, RecordingControl as Rc, RecordingControlError};

fn records(h: &mut H) -> Vec<(Instant, RecordOp)> {
    h.take_outs()
        .into_iter()
        .filter_map(|(at, o)| match o {
            Output::Media(MediaCommand::Record { op, .. }) => Some((at, op)),
            _ => None,
        })
        .collect()
}

fn uuid(h: &mut H) -> String {
    h.take_events()
        .into_iter()
        .find_map(|e| match e {
            CallEvent::Created { call, .. } => Some(call),
            _ => None,
        })
        .expect("a created call")
}

#[test]
fn always_starts_at_the_answer_and_stops_at_the_end() {
    let mut c = cfg();
    c.recording.default = Policy::Always;
    let mut h = H::new(c);
    let ok = h.answered_with("", "");
    let recs = records(&mut h);
    assert_eq!(recs.len(), 1, "{recs:?}");
    match &recs[0].1 {
        RecordOp::Start { at, fields } => {
            assert_eq!(*at, ok.at, "from the answer on");
            assert_eq!(fields.caller, "1001");
        }
        other => panic!("{other:?}"),
    }
    h.caller_acks();
    h.advance(Duration::from_secs(3));
    let bye_at = h.now;
    h.caller_request("BYE", "", None);
    let recs = records(&mut h);
    assert_eq!(recs, vec![(bye_at, RecordOp::Stop { at: bye_at })]);
}

#[test]
fn never_refuses_the_api_and_on_demand_waits_for_it() {
    let mut h = H::new(cfg());
    h.place_call("");
    let id = uuid(&mut h);
    assert_eq!(
        h.ep.recording_control(h.now, &id, Rc::Start),
        Err(RecordingControlError::NotConnected),
        "nothing is recorded while it rings"
    );
    let mut h = H::new(cfg());
    h.answered_with("", "");
    let id = uuid(&mut h);
    assert!(records(&mut h).is_empty(), "default policy: never");
    assert_eq!(
        h.ep.recording_control(h.now, &id, Rc::Start),
        Err(RecordingControlError::Forbidden)
    );

    let mut c = cfg();
    c.recording
        .trunks
        .insert("carrier".into(), Policy::OnDemand);
    let mut h = H::new(c);
    h.answered_with("", "");
    let id = uuid(&mut h);
    assert!(records(&mut h).is_empty(), "on-demand: not by itself");
    let t = h.now;
    assert_eq!(
        h.ep.recording_control(t, &id, Rc::Pause),
        Err(RecordingControlError::NotRecording)
    );
    h.ep.recording_control(t, &id, Rc::Start).unwrap();
    assert_eq!(
        h.ep.recording_control(t, &id, Rc::Start),
        Err(RecordingControlError::AlreadyRecording)
    );
    h.ep.recording_control(t + Duration::from_secs(1), &id, Rc::Pause)
        .unwrap();
    h.ep.recording_control(t + Duration::from_secs(2), &id, Rc::Resume)
        .unwrap();
    h.ep.recording_control(t + Duration::from_secs(3), &id, Rc::Stop)
        .unwrap();
    h.collect();
    let ops: Vec<RecordOp> = records(&mut h).into_iter().map(|(_, o)| o).collect();
    assert!(matches!(ops[0], RecordOp::Start { .. }));
    assert_eq!(
        ops[1..],
        [
            RecordOp::Pause {
                at: t + Duration::from_secs(1)
            },
            RecordOp::Resume {
                at: t + Duration::from_secs(2)
            },
            RecordOp::Stop {
                at: t + Duration::from_secs(3)
            },
        ]
    );
    assert_eq!(
        h.ep.recording_control(t, &id, Rc::Start),
        Err(RecordingControlError::Stopped)
    );
    assert_eq!(
        h.ep.recording_control(t, "nope", Rc::Start),
        Err(RecordingControlError::NoSuchCall)
    );
}
