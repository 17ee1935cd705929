//! `set_campaign` mid-run (UpdateCampaign): the next dial uses the new caller ID and ring
//! time; a dial already ringing keeps the timer it was placed with.

use super::campaign::{campaign, dial_cfg, order};
use super::queue::setup;
use super::*;

#[test]
fn new_settings_reach_the_next_dial_and_not_the_one_ringing() {
    let mut h = setup();
    let (_, first) = dial_cfg(&mut h, campaign());
    h.trunk_replies(&first, 180, "", None);
    let mut cfg = campaign();
    cfg.caller_id = "+15559876543".into();
    cfg.ring_timeout = Duration::from_secs(15);
    h.ep.set_campaign(cfg);
    let mut next = order();
    next.number = "+15550101".into();
    next.attempt_id = 71;
    let now = h.now;
    h.ep.dial_campaign(now, next).expect("the dial is placed");
    h.collect();
    let mut to_trunk = h.take_sent_to(TRUNK);
    assert_eq!(kinds(&to_trunk), ["INVITE"], "{to_trunk:#?}");
    let second = to_trunk.remove(0);
    assert!(
        second.header("From").unwrap().contains("sip:+15559876543@"),
        "{second:#?}"
    );
    h.trunk_replies(&second, 180, "", None);
    let cancelled = |msgs: &[Msg], number: &str| {
        msgs.iter()
            .any(|m| m.text.starts_with(&format!("CANCEL sip:{number}@")))
    };
    h.advance(Duration::from_secs(15));
    let sent = h.take_sent_to(TRUNK);
    assert!(
        cancelled(&sent, "+15550101"),
        "the new dial rang out: {sent:#?}"
    );
    assert!(!cancelled(&sent, "+15550100"), "{sent:#?}");
    h.advance(Duration::from_secs(11));
    let sent = h.take_sent_to(TRUNK);
    assert!(
        cancelled(&sent, "+15550100"),
        "the first kept its 26 s: {sent:#?}"
    );
}
