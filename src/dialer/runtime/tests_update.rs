//! `update_campaign`: new settings reach pacing and the views at once; refused ones change
//! nothing; `clear` goes back to the config's values.

use super::tests::setup;
use super::*;
use crate::acd::StateKind;
use crate::dialer::pacing::Mode;

fn update(f: impl FnOnce(&mut Overrides)) -> Overrides {
    let mut o = Overrides::default();
    f(&mut o);
    o
}

#[test]
fn a_mode_change_paces_the_next_dials() {
    let mut t = setup(Mode::Progressive, 10);
    t.agent(0, StateKind::LoggedOut, StateKind::Ready);
    assert_eq!(t.place_all().len(), 1, "progressive: one per ready agent");
    let o = update(|o| {
        o.mode = Some("fixed_ratio".into());
        o.ratio = Some(3.0);
        o.caller_id = Some("+15550009999".into());
    });
    let stored =
        t.rt.update_campaign(t.now, t.wall, "spring", &o, false)
            .unwrap();
    assert_eq!(stored, o);
    assert_eq!(t.place_all().len(), 2, "3 per ready agent, 1 out already");
    let v = t.rt.campaign("spring").unwrap();
    assert_eq!((v.mode, v.ratio), ("fixed_ratio", Some(3.0)));
    assert_eq!(v.caller_id, "+15550009999");
    assert_eq!(v.overridden, ["mode", "ratio", "caller_id"]);
    let cfg = t.rt.campaign_config("spring").unwrap();
    assert_eq!(
        cfg.caller_id, "+15550009999",
        "what the endpoint dials with"
    );
}

#[test]
fn refused_updates_change_nothing_and_clear_restores_the_config() {
    let mut t = setup(Mode::Progressive, 3);
    let before = t.rt.campaign("spring").unwrap();
    let e =
        t.rt.update_campaign(
            t.now,
            t.wall,
            "spring",
            &update(|o| o.ring_timeout_secs = Some(10)),
            false,
        )
        .unwrap_err();
    assert!(matches!(&e, UpdateError::Invalid(r) if r.field == "ring_timeout_secs"));
    assert!(e.to_string().contains("15"), "{e}");
    assert_eq!(t.rt.campaign("spring").unwrap(), before);
    assert_eq!(
        t.rt.update_campaign(t.now, t.wall, "nope", &Overrides::default(), false),
        Err(UpdateError::UnknownCampaign("nope".into()))
    );
    t.rt.update_campaign(
        t.now,
        t.wall,
        "spring",
        &update(|o| o.max_abandon_rate = Some(0.02)),
        false,
    )
    .unwrap();
    t.rt.update_campaign(
        t.now,
        t.wall,
        "spring",
        &update(|o| o.max_lines = Some(4)),
        false,
    )
    .unwrap();
    let v = t.rt.campaign("spring").unwrap();
    assert_eq!(
        (v.max_abandon_rate, v.max_lines),
        (0.02, 4),
        "updates add up"
    );
    let left =
        t.rt.update_campaign(t.now, t.wall, "spring", &Overrides::default(), true)
            .unwrap();
    assert!(left.is_empty());
    assert_eq!(t.rt.campaign("spring").unwrap(), before);
}

#[test]
fn leaving_preview_puts_the_shown_leads_back() {
    let mut t = setup(Mode::Preview, 1);
    t.agent(0, StateKind::LoggedOut, StateKind::NotReady);
    let lead = t.rt.preview_next(t.wall, "a1").expect("a lead to show");
    assert_eq!(
        t.leads.lock().unwrap().remaining("spring"),
        0,
        "held for a1"
    );
    let o = update(|o| o.mode = Some("progressive".into()));
    t.rt.update_campaign(t.now, t.wall, "spring", &o, false)
        .unwrap();
    assert_eq!(
        t.leads.lock().unwrap().remaining("spring"),
        1,
        "back in line"
    );
    assert!(
        t.rt.preview_skip(t.wall, "a1", lead.lead_id).is_err(),
        "no longer shown"
    );
}
