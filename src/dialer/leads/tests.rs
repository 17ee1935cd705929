//! The lead book driven with a virtual clock (SystemTime values chosen by each test) on a
//! store in a temporary directory.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::*;
use crate::dialer::source::{AttemptResult, LeadRules, LeadSource};

const C: &str = "spring";

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> SystemTime {
    let t = chrono::NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|x| x.and_hms_opt(h, mi, 0))
        .expect("test dates are valid")
        .and_utc()
        .timestamp();
    SystemTime::UNIX_EPOCH + Duration::from_secs(t as u64)
}

/// Wed 2026-07-15 16:00 UTC: noon in New York, 09:00 in Los Angeles.
fn t0() -> SystemTime {
    utc(2026, 7, 15, 16, 0)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Rules with an always-open window (tests about windows set their own).
fn open_rules() -> LeadRules {
    LeadRules {
        window: BTreeMap::from([("default".into(), "00:00-24:00".into())]),
        ..LeadRules::default()
    }
}

fn book() -> (tempfile::TempDir, LeadBook) {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LeadBook::open(&dir.path().join("s.db")).unwrap();
    b.set_rules(C, open_rules()).unwrap();
    (dir, b)
}

fn import(b: &mut LeadBook, csv: &str) -> ImportReport {
    b.import_csv(t0(), C, csv.as_bytes()).unwrap()
}

fn state(b: &LeadBook, number: &str) -> LeadRow {
    b.list(C, None, 1000)
        .unwrap()
        .into_iter()
        .find(|l| l.number == number)
        .unwrap_or_else(|| panic!("no lead {number}"))
}

#[test]
fn default_rules_parse() {
    Rules::parse(LeadRules::default()).unwrap();
}

#[test]
fn bad_rules_are_refused_with_the_reason() {
    let (_d, mut b) = book();
    let bad = LeadRules {
        default_timezone: "Nowhere/Land".into(),
        ..LeadRules::default()
    };
    let e = b.set_rules(C, bad).unwrap_err().to_string();
    assert!(e.contains("spring") && e.contains("Nowhere/Land"), "{e}");
    let bad = LeadRules {
        default_region: "QQ".into(),
        ..LeadRules::default()
    };
    assert!(b
        .set_rules(C, bad)
        .unwrap_err()
        .to_string()
        .contains("default_region"));
}

#[test]
fn import_normalizes_dedupes_and_keeps_invalid_rows_with_their_line() {
    let (_d, mut b) = book();
    let r = import(
        &mut b,
        "Phone,Name,timezone,region,account\n\
         (201) 555-0101,Ann,,NY,A-1\n\
         +1 201 555 0101,Ann again,,,A-2\n\
         not a number,Bob,,,B-1\n\
         201-555-0102,Cy,Mars/Base,,\n\
         201-555-0103,Di,,ZZ,\n\
         +44 20 7946 0958,Ed,,,E-1\n\
         201.555.0104,Flo,America/Chicago,,F-1\n",
    );
    assert_eq!(r.imported, 3, "{r:?}");
    assert_eq!(r.duplicates, 1);
    assert_eq!(r.dnc, 0);
    let lines: Vec<u64> = r.invalid.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![4, 5, 6]);
    assert!(
        r.invalid[0].1.contains("not a phone number"),
        "{:?}",
        r.invalid
    );
    assert!(r.invalid[1].1.contains("Mars/Base"));
    assert!(r.invalid[2].1.contains("ZZ"));
    let ann = state(&b, "+12015550101");
    assert_eq!(ann.name.as_deref(), Some("Ann"));
    assert_eq!(ann.timezone, "America/New_York");
    assert_eq!(
        ann.fields,
        BTreeMap::from([("account".into(), "A-1".into())])
    );
    assert_eq!(state(&b, "+442079460958").timezone, "Europe/London");
    assert_eq!(state(&b, "+12015550104").timezone, "America/Chicago");
    let bob = state(&b, "not a number");
    assert_eq!(bob.state, "invalid");
    assert!(bob.invalid_reason.unwrap().contains("not a phone number"));
    // The same numbers again, spelled differently: all duplicates of what is stored.
    let again = import(&mut b, "number\n2015550101\n+12015550104\n");
    assert_eq!((again.imported, again.duplicates), (0, 2));
    // Invalid leads are never dialed: three dialable leads, then nothing.
    for _ in 0..3 {
        let l = b.next_lead(t0(), C).expect("a dialable lead");
        assert!(l.number.starts_with('+'));
    }
    assert_eq!(b.next_lead(t0(), C), None);
}

#[test]
fn csv_errors_name_the_line_and_import_nothing() {
    let (_d, mut b) = book();
    let e = b
        .import_csv(t0(), C, "name,city\nAnn,Paris\n".as_bytes())
        .unwrap_err();
    assert!(
        matches!(&e, LeadError::Csv { line: 1, msg } if msg.contains("no `phone`")),
        "{e}"
    );
    let e = b.import_csv(t0(), C, "".as_bytes()).unwrap_err();
    assert!(
        matches!(&e, LeadError::Csv { line: 1, msg } if msg.contains("header")),
        "{e}"
    );
    let mut bytes = b"phone\n2015550101\n".to_vec();
    bytes.extend_from_slice(b"20155\xff0102\n");
    let e = b.import_csv(t0(), C, &bytes[..]).unwrap_err();
    assert!(
        matches!(&e, LeadError::Csv { line: 3, msg } if msg.contains("UTF-8")),
        "{e}"
    );
    assert!(b.list(C, None, 10).unwrap().is_empty(), "all or nothing");
    // A row with more fields than the header is an invalid row, not a lost one.
    let r = import(&mut b, "phone,name\n2015550101,Ann,extra\n2015550102,Bo\n");
    assert_eq!(r.imported, 1);
    assert_eq!(r.invalid[0].0, 2);
    assert!(r.invalid[0].1.contains("3 fields"));
}

#[test]
fn the_calling_window_is_evaluated_in_each_leads_zone() {
    let (_d, mut b) = book();
    b.set_rules(C, LeadRules::default()).unwrap(); // 09:00-20:00
    let csv = "phone,timezone\n2015550101,America/Los_Angeles\n2015550102,America/New_York\n2015550103,\n";
    b.import_csv(utc(2026, 7, 15, 0, 0), C, csv.as_bytes())
        .unwrap();
    // 12:00 UTC: 08:00 in NY, 05:00 in LA, 12:00 UTC for the zone-less lead (default UTC).
    let t = utc(2026, 7, 15, 12, 0);
    assert_eq!(b.next_lead(t, C).unwrap().number, "+12015550103");
    assert_eq!(b.next_lead(t, C), None, "NY and LA are still asleep");
    // 13:00 UTC = 09:00 EDT: New York opens; LA only at 16:00 UTC.
    assert_eq!(
        b.next_lead(utc(2026, 7, 15, 13, 0), C).unwrap().number,
        "+12015550102"
    );
    assert_eq!(b.next_lead(utc(2026, 7, 15, 15, 59), C), None);
    assert_eq!(
        b.next_lead(utc(2026, 7, 15, 16, 0), C).unwrap().number,
        "+12015550101"
    );
}

#[test]
fn daylight_saving_and_weekdays_apply_to_selection() {
    let (_d, mut b) = book();
    let rules = LeadRules {
        window: BTreeMap::from([
            ("default".into(), "09:00-20:00".into()),
            ("sun".into(), "".into()),
        ]),
        ..LeadRules::default()
    };
    b.set_rules(C, rules).unwrap();
    b.import_csv(
        utc(2026, 3, 1, 0, 0),
        C,
        "phone,region\n2015550101,NY\n".as_bytes(),
    )
    .unwrap();
    // 13:30 UTC: Saturday 03-07 is 08:30 EST (closed), Sunday 03-08 is 09:30 EDT but Sunday
    // (closed), Monday 03-09 is 09:30 EDT (open).
    assert_eq!(b.next_lead(utc(2026, 3, 7, 13, 30), C), None);
    assert_eq!(b.next_lead(utc(2026, 3, 8, 13, 30), C), None);
    assert!(b.next_lead(utc(2026, 3, 9, 13, 30), C).is_some());
}

#[test]
fn callbacks_come_first_then_due_retries_then_new_leads_oldest_first() {
    let (_d, mut b) = book();
    import(
        &mut b,
        "phone\n2015550101\n2015550102\n2015550103\n2015550104\n",
    );
    let t = t0();
    let a = b.next_lead(t, C).unwrap();
    assert_eq!(a.number, "+12015550101", "new leads in import order");
    b.handle_attempt(t, a.attempt_id, &AttemptResult::Busy);
    let c = b.next_lead(t, C).unwrap();
    assert_eq!(c.number, "+12015550102");
    b.handle_attempt(
        t,
        c.attempt_id,
        &AttemptResult::Connected {
            agent: "1001".into(),
        },
    );
    b.try_handle_disposition(
        t,
        c.attempt_id,
        "callback",
        Some("1001"),
        Some(t + secs(600)),
        false,
    )
    .unwrap();
    // At t+600 the retry (due at t+300) and the callback (due now) and new leads compete.
    let t2 = t + secs(600);
    let first = b.next_lead(t2, C).unwrap();
    assert_eq!(
        (first.number.as_str(), first.attempt_no),
        ("+12015550102", 2)
    );
    assert_eq!(first.agent, None, "not a personal callback");
    assert_eq!(
        b.next_lead(t2, C).unwrap().number,
        "+12015550101",
        "then the retry"
    );
    assert_eq!(
        b.next_lead(t2, C).unwrap().number,
        "+12015550103",
        "then new"
    );
}

#[test]
fn each_outcome_schedules_its_retry() {
    let (_d, mut b) = book();
    let rules = open_rules();
    let cases = [
        (AttemptResult::Busy, rules.retry_busy_secs),
        (AttemptResult::NoAnswer, rules.retry_no_answer_secs),
        (
            AttemptResult::Machine { left_message: true },
            rules.retry_machine_secs,
        ),
        (
            AttemptResult::Failed {
                cause: "sit".into(),
            },
            rules.retry_failed_secs,
        ),
        (AttemptResult::Abandoned, rules.retry_abandoned_secs),
    ];
    for (i, (result, delay)) in cases.iter().enumerate() {
        let t = t0() + secs(86_400 * 10 * i as u64);
        b.import_csv(t, C, format!("phone\n201555010{i}\n").as_bytes())
            .unwrap();
        let l = b.next_lead(t, C).unwrap();
        b.handle_attempt(t, l.attempt_id, result);
        assert_eq!(
            b.next_lead(t + secs(delay - 1), C),
            None,
            "{result:?} too early"
        );
        let again = b.next_lead(t + secs(*delay), C).expect("retried when due");
        assert_eq!(
            (again.lead_id, again.attempt_no),
            (l.lead_id, 2),
            "{result:?}"
        );
        // Done with this one: a final disposition takes it out of the next case's way.
        b.handle_attempt(
            t,
            again.attempt_id,
            &AttemptResult::Connected { agent: "a".into() },
        );
        b.try_handle_disposition(t, again.attempt_id, "sale", Some("a"), None, false)
            .unwrap();
    }
}

#[test]
fn max_attempts_finishes_the_lead() {
    let (_d, mut b) = book();
    b.set_rules(
        C,
        LeadRules {
            max_attempts: 2,
            ..open_rules()
        },
    )
    .unwrap();
    import(&mut b, "phone\n2015550101\n");
    let mut t = t0();
    for n in 1..=2 {
        let l = b.next_lead(t, C).unwrap();
        assert_eq!(l.attempt_no, n);
        b.handle_attempt(t, l.attempt_id, &AttemptResult::NoAnswer);
        t += secs(3600);
    }
    assert_eq!(b.next_lead(t + secs(86_400 * 30), C), None);
    let lead = state(&b, "+12015550101");
    assert_eq!((lead.state.as_str(), lead.attempts), ("done", 2));
    assert_eq!(lead.last_outcome.as_deref(), Some("no-answer"));
}

#[test]
fn final_dispositions_stop_dialing_and_do_not_call_lists_the_number() {
    let (_d, mut b) = book();
    import(&mut b, "phone\n2015550101\n2015550102\n");
    let t = t0();
    let a = b.next_lead(t, C).unwrap();
    b.handle_attempt(
        t,
        a.attempt_id,
        &AttemptResult::Connected {
            agent: "1001".into(),
        },
    );
    b.handle_disposition(t, a.attempt_id, "sale", Some("1001"), None, false)
        .unwrap();
    let c = b.next_lead(t, C).unwrap();
    b.handle_attempt(
        t,
        c.attempt_id,
        &AttemptResult::Connected {
            agent: "1002".into(),
        },
    );
    b.handle_disposition(t, c.attempt_id, "do-not-call", Some("1002"), None, false)
        .unwrap();
    assert_eq!(b.next_lead(t + secs(86_400 * 365), C), None);
    assert_eq!(
        state(&b, "+12015550101").final_disposition.as_deref(),
        Some("sale")
    );
    assert_eq!(state(&b, "+12015550102").state, "done");
    assert!(b.is_dnc("201-555-0102", C).unwrap());
    let list = b.dnc_list(Some(C)).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reason.as_deref(), Some("disposition by 1002"));
    // The campaign's DNC refuses the number if it is imported again (as a new lead elsewhere
    // it would be fine: other campaigns have their own lists).
    assert!(!b.is_dnc("201-555-0102", "other").unwrap());
    // A non-final disposition after a connect: retried after retry_connected_secs.
    import(&mut b, "phone\n2015550103\n");
    let d = b.next_lead(t, C).unwrap();
    b.handle_attempt(
        t,
        d.attempt_id,
        &AttemptResult::Connected {
            agent: "1001".into(),
        },
    );
    b.handle_disposition(t, d.attempt_id, "no-decision", Some("1001"), None, false)
        .unwrap();
    let wait = open_rules().retry_connected_secs;
    assert_eq!(b.next_lead(t + secs(wait - 1), C), None);
    assert_eq!(b.next_lead(t + secs(wait), C).unwrap().lead_id, d.lead_id);
    // Unknown attempts are an error, not a silent no-op.
    assert!(b
        .handle_disposition(t, 9999, "sale", None, None, false)
        .unwrap_err()
        .contains("9999"));
}

/// A connected attempt of a new lead, ready for its disposition.
fn connected(b: &mut LeadBook, t: SystemTime) -> LeadDial {
    let l = b.next_lead(t, C).unwrap();
    b.handle_attempt(
        t,
        l.attempt_id,
        &AttemptResult::Connected {
            agent: "1001".into(),
        },
    );
    l
}

fn code(code: &str, is_final: bool, callback: bool) -> crate::config::DispositionCode {
    crate::config::DispositionCode {
        code: code.into(),
        is_final,
        callback,
    }
}

#[test]
fn a_dispositions_final_code_ends_the_lead_without_final_dispositions() {
    let (_d, mut b) = book();
    b.set_dispositions(&[
        code("appointment", true, false),
        code("maybe", false, false),
    ]);
    assert!(!open_rules()
        .final_dispositions
        .contains(&"appointment".to_string()));
    import(
        &mut b,
        "phone
2015550101
2015550102
2015550103
",
    );
    let t = t0();
    let a = connected(&mut b, t);
    b.handle_disposition(t, a.attempt_id, "appointment", Some("1001"), None, false)
        .unwrap();
    let lead = state(&b, "+12015550101");
    assert_eq!(lead.state, "done");
    assert_eq!(lead.final_disposition.as_deref(), Some("appointment"));
    // Not final in [dispositions] but in the campaign's final_dispositions: still final
    // (either one says so).
    let s = connected(&mut b, t);
    b.handle_disposition(t, s.attempt_id, "sale", Some("1001"), None, false)
        .unwrap();
    assert_eq!(
        state(&b, "+12015550102").final_disposition.as_deref(),
        Some("sale")
    );
    // Neither: retried after retry_connected_secs.
    let m = connected(&mut b, t);
    b.handle_disposition(t, m.attempt_id, "maybe", Some("1001"), None, false)
        .unwrap();
    assert_eq!(state(&b, "+12015550103").state, "retry");
    assert_eq!(
        b.next_lead(t + secs(86_400 * 365), C).unwrap().lead_id,
        m.lead_id
    );
}

#[test]
fn a_callback_code_without_a_time_retries_like_any_open_conversation() {
    // `callback = true` with no `callback_at`: nobody said when, so the lead is retried
    // after retry_connected_secs (not at once, not never), and the attempt keeps the code.
    let (_d, mut b) = book();
    b.set_dispositions(&[code("call-back", false, true)]);
    import(
        &mut b,
        "phone
2015550101
",
    );
    let t = t0();
    let a = connected(&mut b, t);
    b.handle_disposition(t, a.attempt_id, "call-back", Some("1001"), None, false)
        .unwrap();
    let lead = state(&b, "+12015550101");
    assert_eq!((lead.state.as_str(), lead.callback_agent), ("retry", None));
    let wait = open_rules().retry_connected_secs;
    assert_eq!(b.next_lead(t + secs(wait - 1), C), None);
    assert_eq!(b.next_lead(t + secs(wait), C).unwrap().lead_id, a.lead_id);
}

/// One lead dialed at `t0` that failed with `cause`: its row, and whether it is due again
/// just before / at `wait` seconds later.
fn failed_with(cause: &str, wait: u64) -> (LeadRow, bool, bool) {
    let (_d, mut b) = book();
    import(&mut b, "phone\n2015550101\n");
    let t = t0();
    let l = b.next_lead(t, C).unwrap();
    b.handle_attempt(
        t,
        l.attempt_id,
        &AttemptResult::Failed {
            cause: cause.into(),
        },
    );
    let row = state(&b, "+12015550101");
    let early = b.next_lead(t + secs(wait - 1), C).is_some();
    let due = b.next_lead(t + secs(wait), C).is_some();
    (row, early, due)
}

#[test]
fn sit_intercept_and_vacant_code_make_the_number_invalid_for_good() {
    for (cause, code) in [("sit-ic", "IC"), ("sit-vc", "VC")] {
        let (row, _, due_in_a_year) = failed_with(cause, 86_400 * 365);
        assert_eq!(row.state, "invalid", "{cause}");
        assert!(
            row.invalid_reason.as_deref().unwrap().contains(code),
            "{cause}: {:?}",
            row.invalid_reason
        );
        assert_eq!(row.last_outcome.as_deref(), Some("failed"));
        assert!(
            !due_in_a_year,
            "{cause}: an invalid number is never dialed again"
        );
    }
}

#[test]
fn sit_reorder_and_no_circuit_are_congestion_retried_like_busy() {
    let rules = open_rules();
    assert!(rules.retry_busy_secs < rules.retry_failed_secs);
    for cause in ["sit-ro", "sit-nc"] {
        let (row, early, due) = failed_with(cause, rules.retry_busy_secs);
        assert_eq!(row.state, "retry", "{cause}");
        assert!(!early && due, "{cause}: due after retry_busy_secs");
    }
}

#[test]
fn other_failures_and_reserved_sits_wait_retry_failed_secs() {
    let wait = open_rules().retry_failed_secs;
    for cause in ["sit-reserved", "503", "sit-bogus"] {
        let (row, early, due) = failed_with(cause, wait);
        assert_eq!(row.state, "retry", "{cause}");
        assert!(!early && due, "{cause}: due after retry_failed_secs");
    }
}

#[test]
fn a_number_put_on_dnc_after_import_is_never_returned() {
    let (_d, mut b) = book();
    import(&mut b, "phone\n2015550101\n2015550102\n2015550103\n");
    let t = t0();
    assert!(b
        .dnc_add(t, "(201) 555-0101", None, Some("complaint"))
        .unwrap());
    assert!(
        !b.dnc_add(t, "+12015550101", None, None).unwrap(),
        "already listed"
    );
    assert!(b.dnc_add(t, "201 555 0102", Some(C), None).unwrap());
    assert_eq!(b.next_lead(t, C).unwrap().number, "+12015550103");
    assert_eq!(b.next_lead(t, C), None);
    assert_eq!(state(&b, "+12015550101").state, "dnc");
    assert_eq!(state(&b, "+12015550102").state, "dnc");
    // The refusal is booked as a not-dialed attempt that does not count as a dial.
    let p = b.progress(t, C).unwrap();
    assert_eq!(p.attempts, 1);
    let refused: i64 = b
        .conn
        .query_row(
            "SELECT count(*) FROM lead_attempts WHERE result = 'not-dialed' AND detail LIKE 'dnc-%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(refused, 2);
    // Importing a listed number keeps it, as dnc.
    let r = b
        .import_csv(t, "other", "phone\n2015550101\n".as_bytes())
        .unwrap();
    assert_eq!((r.imported, r.dnc), (0, 1));
    assert!(b.dnc_remove("2015550101", None).unwrap());
    assert!(!b.dnc_remove("2015550101", None).unwrap());
    assert!(b.dnc_add(t, "garbage", None, None).is_err());
}

#[test]
fn personal_callbacks_go_to_their_agent_only() {
    let (_d, mut b) = book();
    import(&mut b, "phone\n2015550101\n2015550102\n");
    let t = t0();
    let l = b.next_lead(t, C).unwrap();
    b.handle_attempt(
        t,
        l.attempt_id,
        &AttemptResult::Connected {
            agent: "1001".into(),
        },
    );
    b.handle_disposition(
        t,
        l.attempt_id,
        "callback",
        Some("1001"),
        Some(t + secs(60)),
        true,
    )
    .unwrap();
    let t2 = t + secs(60);
    // Preview for another agent: not the personal callback, the next new lead.
    let other = b.next_lead_for_agent(t2, C, "1002").unwrap().unwrap();
    assert_eq!(other.number, "+12015550102");
    assert_eq!(other.agent.as_deref(), Some("1002"));
    b.skip(t2, other.attempt_id).unwrap();
    // Pacing's dials never get it: it waits for its agent.
    assert_eq!(b.next_lead(t2, C), None);
    assert_eq!(b.next_personal_callback(t2, C, "1002").unwrap(), None);
    let cb = b.next_personal_callback(t2, C, "1001").unwrap().unwrap();
    assert_eq!((cb.lead_id, cb.agent.as_deref()), (l.lead_id, Some("1001")));
    // Its agent does not take it: it stays theirs, later.
    b.handle_attempt(
        t2,
        cb.attempt_id,
        &AttemptResult::NotDialed {
            reason: "agent-unanswered".into(),
        },
    );
    assert_eq!(b.next_personal_callback(t2, C, "1001").unwrap(), None);
    let t3 = t2 + secs(LeadRules::default().retry_skipped_secs);
    assert_eq!(b.next_lead(t3, C).map(|l| l.lead_id), Some(other.lead_id));
    let cb = b.next_lead_for_agent(t3, C, "1001").unwrap().unwrap();
    assert_eq!(
        cb.lead_id, l.lead_id,
        "preview shows an agent their callback first"
    );
    // A personal callback needs its agent.
    assert!(b
        .handle_disposition(t2, cb.attempt_id, "callback", None, Some(t2), true)
        .is_err());
}

#[test]
fn a_skip_does_not_count_and_sends_the_lead_to_the_back() {
    let (_d, mut b) = book();
    import(&mut b, "phone\n2015550101\n2015550102\n");
    let t = t0();
    let a = b.next_lead_for_agent(t, C, "1001").unwrap().unwrap();
    b.skip(t, a.attempt_id).unwrap();
    assert!(b.skip(t, a.attempt_id).is_err(), "twice is an error");
    let next = b.next_lead_for_agent(t, C, "1001").unwrap().unwrap();
    assert_eq!(next.number, "+12015550102");
    let wait = open_rules().retry_skipped_secs;
    assert_eq!(
        b.next_lead_for_agent(t + secs(wait - 1), C, "1001")
            .unwrap(),
        None
    );
    let back = b
        .next_lead_for_agent(t + secs(wait), C, "1001")
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.lead_id, back.attempt_no),
        (a.lead_id, 1),
        "the skip did not count"
    );
    // NotDialed from the runtime is the same bookkeeping.
    b.handle_attempt(
        t + secs(wait),
        back.attempt_id,
        &AttemptResult::NotDialed {
            reason: "trunk down".into(),
        },
    );
    assert_eq!(state(&b, "+12015550101").attempts, 0);
}

#[test]
fn recovery_closes_open_attempts_as_interrupted_and_retries_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let t = t0();
    let (dialing, connected) = {
        let mut b = LeadBook::open(&path).unwrap();
        b.set_rules(C, open_rules()).unwrap();
        import(&mut b, "phone\n2015550101\n2015550102\n2015550103\n");
        let x = b.next_lead(t, C).unwrap();
        let y = b.next_lead(t, C).unwrap();
        b.handle_attempt(
            t,
            y.attempt_id,
            &AttemptResult::Connected {
                agent: "1001".into(),
            },
        );
        (x, y)
        // Dropped without closing anything: what a crash leaves.
    };
    let mut b = LeadBook::open(&path).unwrap();
    b.set_rules(C, open_rules()).unwrap();
    let restart = t + secs(30);
    assert_eq!(b.recover(restart).unwrap(), 1);
    assert_eq!(b.recover(restart).unwrap(), 0, "idempotent");
    let only = b.next_lead(restart, C).unwrap();
    assert_eq!(
        only.number, "+12015550103",
        "neither interrupted lead is re-dialed at once"
    );
    assert_eq!(b.next_lead(restart, C), None);
    let x = state(&b, &dialing.number);
    assert_eq!(
        (x.state.as_str(), x.last_outcome.as_deref()),
        ("retry", Some("interrupted"))
    );
    let wait = open_rules().retry_interrupted_secs;
    assert_eq!(
        b.next_lead(restart + secs(wait), C).unwrap().lead_id,
        dialing.lead_id
    );
    // The connected one waits retry_connected_secs, unless its disposition still arrives.
    b.handle_disposition(
        restart,
        connected.attempt_id,
        "sale",
        Some("1001"),
        None,
        false,
    )
    .unwrap();
    assert_eq!(state(&b, &connected.number).state, "done");
}

#[test]
fn progress_counts_and_abandon_rates_today_and_30_days() {
    let (_d, mut b) = book();
    let csv: String = (0..8).fold("phone\n".to_string(), |s, i| s + &format!("201555011{i}\n"));
    b.import_csv(t0() - secs(86_400 * 40), C, csv.as_bytes())
        .unwrap();
    let mut dial = |t: SystemTime, r: AttemptResult| {
        let l = b.next_lead(t, C).unwrap();
        b.handle_attempt(t, l.attempt_id, &r);
        l.attempt_id
    };
    let agent = || AttemptResult::Connected {
        agent: "1001".into(),
    };
    // 35 days ago (outside 30 d): one abandon. 10 days ago: a connect and an abandon.
    dial(t0() - secs(86_400 * 35), AttemptResult::Abandoned);
    dial(t0() - secs(86_400 * 10), agent());
    dial(t0() - secs(86_400 * 10), AttemptResult::Abandoned);
    // Today (UTC day of t0): three connects, one abandon, one busy.
    let sale = dial(t0() - secs(60), agent());
    dial(t0() - secs(50), agent());
    dial(t0() - secs(40), agent());
    dial(t0() - secs(30), AttemptResult::Abandoned);
    dial(t0() - secs(20), AttemptResult::Busy);
    b.try_handle_disposition(t0(), sale, "sale", Some("1001"), None, false)
        .unwrap();
    let p = b.progress(t0(), C).unwrap();
    assert_eq!(p.total, 8);
    assert_eq!(p.attempts, 8);
    assert_eq!((p.connects, p.abandons), (4, 3));
    assert_eq!((p.answers_today, p.abandons_today), (4, 1));
    assert!((p.abandon_rate_today - 0.25).abs() < 1e-9);
    assert_eq!((p.answers_30d, p.abandons_30d), (6, 2));
    assert!((p.abandon_rate_30d - 2.0 / 6.0).abs() < 1e-9);
    assert_eq!(p.by_disposition.get("sale"), Some(&1));
    assert_eq!(p.by_state.get("done"), Some(&1));
    assert_eq!(p.by_result.get("busy"), Some(&1));
    // Lead economy: 8 attempts, 4 connects; one lead used up (the sale).
    assert!((p.dials_per_connect - 2.0).abs() < 1e-9);
    assert!((p.leads_used_per_connect - 0.25).abs() < 1e-9);
    let text = progress::table(&p);
    assert!(
        text.contains("abandon rate today 25.00% (1 of 4 live answers)"),
        "{text}"
    );
    assert!(
        text.contains("dials per connect 2.00  leads used per connect 0.25"),
        "{text}"
    );
}

#[test]
fn live_answers_of_the_last_hour_for_the_rolling_guard() {
    let (_d, mut b) = book();
    b.set_rules("other", open_rules()).unwrap();
    let csv: String = (0..8).fold("phone\n".to_string(), |s, i| s + &format!("201555011{i}\n"));
    b.import_csv(t0() - secs(86_400), C, csv.as_bytes())
        .unwrap();
    b.import_csv(t0() - secs(86_400), "other", csv.as_bytes())
        .unwrap();
    let ago = |m: u64| t0() - secs(60 * m);
    // Started at `start` minutes ago, its result booked at `end` minutes ago.
    let mut dial = |campaign: &str, start: u64, end: u64, r: AttemptResult| {
        let l = b.next_lead(ago(start), campaign).unwrap();
        b.handle_attempt(ago(end), l.attempt_id, &r);
    };
    let agent = || AttemptResult::Connected {
        agent: "1001".into(),
    };
    dial(C, 71, 70, agent()); // before the hour
    dial(C, 65, 58, agent()); // started before the hour, answered in it
    dial(C, 51, 50, AttemptResult::Abandoned);
    dial(C, 11, 10, agent());
    dial(C, 6, 5, AttemptResult::Busy); // no live answer
    dial("other", 21, 20, AttemptResult::Abandoned); // another campaign
    let _still_dialing = b.next_lead(ago(1), C).unwrap();
    let got = b.live_answers_since(C, ago(60), t0()).unwrap();
    assert_eq!(
        got,
        vec![(ago(58), false), (ago(50), true), (ago(10), false)]
    );
}

#[test]
fn dnc_add_many_is_all_or_nothing() {
    let (_d, mut b) = book();
    let t = t0();
    assert_eq!(
        b.dnc_add_many(t, ["2015550101", "+12015550102"], None, None)
            .unwrap(),
        2
    );
    assert_eq!(
        b.dnc_add_many(t, ["2015550102", "2015550103"], None, None)
            .unwrap(),
        1
    );
    let e = b
        .dnc_add_many(t, ["2015550104", "junk"], None, None)
        .unwrap_err();
    assert!(e.to_string().contains("junk"), "{e}");
    assert_eq!(b.dnc_list(None).unwrap().len(), 3);
}

#[test]
fn a_list_bigger_than_one_commit_dedupes_across_chunks_and_reimports_idempotently() {
    let (_d, mut b) = book();
    let mut csv: String = (0..2500).fold("phone\n".to_string(), |s, i| {
        s + &format!("+1201{:07}\n", 2_000_000 + i)
    });
    csv.push_str("(201) 200-0000\n"); // the first row again, past the first chunk
    let r = import(&mut b, &csv);
    assert_eq!((r.imported, r.duplicates), (2500, 1));
    let again = import(&mut b, &csv);
    assert_eq!((again.imported, again.duplicates), (0, 2501));
    assert_eq!(b.progress(t0(), C).unwrap().total, 2500);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// The fuzz target's property, on stable: arbitrary bytes (biased to CSV-ish text) are a
    /// report or an error naming a line, never a panic; whatever imports is E.164.
    #[test]
    fn arbitrary_bytes_never_panic_the_import(
        data in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select("phone,name,timezone,region\n\"+1 (201) 555-0;é".as_bytes().to_vec()),
                proptest::num::u8::ANY,
            ],
            0..200,
        )
    ) {
        let (_d, mut b) = book();
        let mut bytes = b"phone,region\n".to_vec();
        bytes.extend_from_slice(&data);
        if b.import_csv(t0(), C, &bytes[..]).is_ok() {
            while let Some(l) = b.next_lead(t0(), C) {
                proptest::prop_assert!(l.number.starts_with('+'));
            }
        }
        let _ = b.import_csv(t0(), C, &data[..]);
    }
}
