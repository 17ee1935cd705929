//! The screen pop: the event offering a call to an agent carries the caller's number, what
//! they entered in the IVR, and their contact history from the CDR store.

use super::pb;
use crate::store::Store;

/// Previous calls shown with an offer.
pub const HISTORY_CALLS: usize = 5;

/// Fill the Offered payload of `ev` with the caller, their IVR input and their history.
/// A store read error leaves the history empty (the offer must go out regardless).
pub fn screen_pop(
    ev: &mut pb::Event,
    caller: Option<(String, Vec<(String, String)>)>,
    store: &Store,
) {
    let Some(pb::event::Payload::Acd(pb::AcdEvent {
        kind: Some(pb::acd_event::Kind::Offered(offered)),
    })) = ev.payload.as_mut()
    else {
        return;
    };
    let Some((number, vars)) = caller else {
        return;
    };
    offered.history = match store.caller_history(&number, HISTORY_CALLS) {
        Ok(rows) => rows
            .into_iter()
            .map(|c| pb::PreviousCall {
                start_unix_ms: c.start_unix_ms,
                queue: c.queue.unwrap_or_default(),
                agent: c.agent.unwrap_or_default(),
                end_cause: c.end_cause.unwrap_or_default(),
                disposition: c.disposition.unwrap_or_default(),
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "contact history unavailable for the screen pop");
            Vec::new()
        }
    };
    offered.caller = number;
    offered.variables = vars.into_iter().collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_carries_caller_ivr_input_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let offered = || pb::Event {
            payload: Some(pb::event::Payload::Acd(pb::AcdEvent {
                kind: Some(pb::acd_event::Kind::Offered(pb::Offered::default())),
            })),
            ..Default::default()
        };
        let mut ev = offered();
        let vars = vec![("account".to_string(), "471100".to_string())];
        screen_pop(&mut ev, Some(("+15550001".into(), vars)), &store);
        let Some(pb::event::Payload::Acd(pb::AcdEvent {
            kind: Some(pb::acd_event::Kind::Offered(o)),
        })) = ev.payload
        else {
            panic!("not an offer")
        };
        assert_eq!(o.caller, "+15550001");
        assert_eq!(
            o.variables.get("account").map(String::as_str),
            Some("471100")
        );
        assert!(o.history.is_empty(), "a first-time caller");
        // Another kind of event is left alone.
        let mut other = pb::Event::default();
        screen_pop(&mut other, Some(("x".into(), Vec::new())), &store);
        assert_eq!(other, pb::Event::default());
    }
}
