//! IVR sessions on a virtual clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;

fn menus() -> Menus {
    let mut options = HashMap::new();
    options.insert('1', Action::Queue("billing".into()));
    options.insert('2', Action::Menu("account".into()));
    options.insert('0', Action::Extension("1001".into()));
    options.insert('*', Action::Repeat);
    let main = Menu {
        name: "main".into(),
        prompt: "welcome".into(),
        invalid_prompt: Some("invalid".into()),
        timeout: Duration::from_secs(5),
        max_invalid: 2,
        on_failure: Action::Queue("general".into()),
        options,
        collect: None,
    };
    let account = Menu {
        name: "account".into(),
        prompt: "enter-account".into(),
        invalid_prompt: None,
        timeout: Duration::from_secs(4),
        max_invalid: 1,
        on_failure: Action::Hangup,
        options: HashMap::new(),
        collect: Some(Collect {
            variable: "account".into(),
            digits: 4,
            terminator: Some('#'),
            then: Action::Queue("billing".into()),
        }),
    };
    let mut m = HashMap::new();
    m.insert("main".to_string(), main);
    m.insert("account".to_string(), account);
    Menus { menus: m }
}

fn drain(s: &mut IvrSession) -> Vec<IvrOutput> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn play(names: &[&str]) -> IvrOutput {
    IvrOutput::Play(names.iter().map(|s| s.to_string()).collect())
}

#[test]
fn a_key_press_leads_to_its_queue() {
    let (m, t) = (menus(), Instant::now());
    let mut s = IvrSession::new(&m, "main");
    assert_eq!(drain(&mut s), vec![play(&["welcome"])]);
    // No timeout runs while the prompt plays.
    assert_eq!(s.poll_timeout(), None);
    s.handle_digit(t, &m, '1');
    assert_eq!(
        drain(&mut s),
        vec![IvrOutput::Exit(Exit::Queue("billing".into()))]
    );
    assert!(s.is_done());
    s.handle_digit(t, &m, '0');
    assert!(drain(&mut s).is_empty(), "nothing after the exit");
}

#[test]
fn silence_and_wrong_keys_replay_then_fail_over() {
    let (m, t) = (menus(), Instant::now());
    let mut s = IvrSession::new(&m, "main");
    drain(&mut s);
    s.handle_prompt_done(t, &m);
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(5)));
    // Just before the deadline nothing happens.
    s.handle_timeout(t + Duration::from_millis(4999), &m);
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(t + Duration::from_secs(5), &m);
    assert_eq!(drain(&mut s), vec![play(&["invalid", "welcome"])]);
    s.handle_digit(t + Duration::from_secs(8), &m, '7');
    assert_eq!(drain(&mut s), vec![play(&["invalid", "welcome"])]);
    // The third miss is one more than max_invalid = 2.
    s.handle_digit(t + Duration::from_secs(9), &m, '8');
    assert_eq!(
        drain(&mut s),
        vec![IvrOutput::Exit(Exit::Queue("general".into()))]
    );
}

#[test]
fn repeat_replays_without_counting_a_miss() {
    let (m, t) = (menus(), Instant::now());
    let mut s = IvrSession::new(&m, "main");
    drain(&mut s);
    for _ in 0..5 {
        s.handle_digit(t, &m, '*');
        assert_eq!(drain(&mut s), vec![play(&["welcome"])]);
    }
    s.handle_digit(t, &m, '0');
    assert_eq!(
        drain(&mut s),
        vec![IvrOutput::Exit(Exit::Extension("1001".into()))]
    );
}

#[test]
fn collects_a_customer_number_into_a_variable() {
    let (m, t) = (menus(), Instant::now());
    let mut s = IvrSession::new(&m, "main");
    drain(&mut s);
    s.handle_digit(t, &m, '2');
    assert_eq!(drain(&mut s), vec![play(&["enter-account"])]);
    assert_eq!(s.menu(), "account");
    for (i, d) in "4711".chars().enumerate() {
        s.handle_digit(t + Duration::from_secs(i as u64), &m, d);
    }
    assert_eq!(
        drain(&mut s),
        vec![
            IvrOutput::SetVariable {
                name: "account".into(),
                value: "4711".into()
            },
            IvrOutput::Exit(Exit::Queue("billing".into())),
        ]
    );
}

#[test]
fn a_short_number_is_a_miss_and_the_second_fails() {
    let (m, t) = (menus(), Instant::now());
    let mut s = IvrSession::new(&m, "account");
    drain(&mut s);
    s.handle_digit(t, &m, '4');
    s.handle_digit(t, &m, '7');
    // The inter-digit timeout runs from the last digit.
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(4)));
    s.handle_timeout(t + Duration::from_secs(4), &m);
    assert_eq!(drain(&mut s), vec![play(&["enter-account"])]);
    // Terminated early: too short again, and max_invalid = 1 is used up.
    s.handle_digit(t + Duration::from_secs(5), &m, '1');
    s.handle_digit(t + Duration::from_secs(5), &m, '#');
    assert_eq!(drain(&mut s), vec![IvrOutput::Exit(Exit::Hangup)]);
}

#[test]
fn menus_that_jump_to_each_other_forever_end_in_a_hangup() {
    let mut m = menus();
    for name in ["main", "account"] {
        let menu = m.menus.get_mut(name).unwrap();
        menu.max_invalid = 0;
        menu.collect = None;
    }
    m.menus.get_mut("main").unwrap().on_failure = Action::Menu("account".into());
    m.menus.get_mut("account").unwrap().on_failure = Action::Menu("main".into());
    let t = Instant::now();
    let mut s = IvrSession::new(&m, "main");
    for i in 0..100 {
        if s.is_done() {
            break;
        }
        s.handle_prompt_done(t, &m);
        s.handle_timeout(t + Duration::from_secs(10 * (i + 1)), &m);
    }
    let out = drain(&mut s);
    // A timeout is a miss in the menu the caller is in; they bounce, but only so often
    // without pressing anything.
    assert!(s.is_done(), "still bouncing: {out:?}");
    assert_eq!(out.last(), Some(&IvrOutput::Exit(Exit::Hangup)));
}

#[test]
fn unknown_menu_hangs_up() {
    let m = menus();
    let mut s = IvrSession::new(&m, "nope");
    assert_eq!(drain(&mut s), vec![IvrOutput::Exit(Exit::Hangup)]);
}
