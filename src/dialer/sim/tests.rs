use super::*;

fn scenario(agents: u32, p_human: f64, hours: f64) -> Scenario {
    let text = format!(
        "agents = {agents}\np_human = {p_human}\nshift_hours = {hours}\n\
         [[policies]]\nname = \"progressive\"\nmode = \"progressive\"\n\
         [[policies]]\nname = \"predictive\"\nmode = \"predictive\"\n"
    );
    let s = Scenario::parse(&text).expect("test scenario parses");
    s.validate().expect("test scenario is valid");
    s
}

#[test]
fn same_seed_same_report() {
    let sc = scenario(10, 0.25, 1.0);
    let a = simulate(&sc, 2).expect("runs");
    let b = simulate(&sc, 2).expect("runs");
    let strip = |v: Vec<PolicySummary>| {
        v.into_iter()
            .map(|mut s| {
                s.decision_ns = 0.0; // wall-clock, not simulated
                s
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a), strip(b));
}

#[test]
fn progressive_never_abandons_and_predictive_beats_it() {
    let sc = scenario(20, 0.25, 2.0);
    let r = simulate(&sc, 1).expect("runs");
    let (prog, pred) = (&r[0], &r[1]);
    assert_eq!(prog.abandon_rate, 0.0);
    assert!(prog.talk_utilization > 0.3, "{prog:?}");
    assert!(
        pred.talk_utilization > prog.talk_utilization + 0.1,
        "{pred:?}"
    );
}

#[test]
fn simulated_outcome_shares_follow_the_model() {
    // Progressive with plenty of agents: dials per connect ≈ 1 / P(person answers < 26 s).
    let sc = scenario(30, 0.25, 2.0);
    let cfg = sc.pacing_config(&sc.policies[0]).expect("valid");
    let s = run(&sc, cfg, 11);
    let p_live = s.live_answers as f64 / s.dials as f64;
    assert!((p_live - 0.25 * 0.99).abs() < 0.02, "p_live {p_live}");
    let mean_talk = s.talk_secs / s.connects as f64;
    assert!((mean_talk - 120.0).abs() < 15.0, "mean talk {mean_talk}");
}

/// Idle gaps are measured from a wrap-up's end: each connect records exactly one gap, from
/// the wrap-up end (between calls) or from login (first call, reported apart).
#[test]
fn idle_gaps_start_at_wrap_end_not_login() {
    let sc = scenario(10, 0.25, 1.0);
    let cfg = sc.pacing_config(&sc.policies[1]).expect("valid");
    let s = run(&sc, cfg, 3);
    assert_eq!(
        (s.idle_gaps.len() + s.login_gaps.len()) as u64,
        s.connects + s.machine_connects
    );
    assert!(
        s.login_gaps.len() <= 10,
        "{} first calls",
        s.login_gaps.len()
    );
    assert!(s.idle_gaps.len() > 100, "{} gaps", s.idle_gaps.len());
    // Every gap is a wait, never negative.
    assert!(s.idle_gaps.iter().chain(&s.login_gaps).all(|&g| g >= 0.0));
}

/// Agents whose talks never end (a day-long talk, p_human 1 so every dial connects): after
/// the first calls nothing happens; the row says the seed stalled and has no idle figure,
/// instead of a perfect 0 s.
#[test]
fn a_stall_is_reported_as_a_stall() {
    let text = "agents = 3\np_human = 0.9\np_machine = 0.05\np_busy = 0.05\nshift_hours = 2.0\n\
                talk = { mean = 86400.0, cv = 0.1 }\n\
                [[policies]]\nname = \"progressive\"\nmode = \"progressive\"\n";
    let sc = Scenario::parse(text).expect("parses");
    sc.validate().expect("valid");
    let r = simulate(&sc, 1).expect("runs");
    assert_eq!(r[0].stalled_seeds, 1, "{:?}", r[0]);
    assert!(r[0].mean_idle_secs.is_nan());
    let row = stats::table_row(&r[0]);
    assert!(row.contains("STALLED in 1/1"), "{row}");
}

/// Churn and ramps keep the headcount: agents leave and others take their seats, and the
/// pacer is told of departures, so a churning campaign still connects and stays legal.
#[test]
fn churn_and_ramps_run() {
    let text = "agents = 20\np_human = 0.25\nshift_hours = 2.0\n\
                [churn]\nper_agent_hour = 3.0\nreplace_after_min = 1.0\n\
                [[schedule]]\nat_min = 30.0\nagents = 5\nramp_min = 2.0\n\
                [[schedule]]\nat_min = 60.0\nagents = 30\nramp_min = 5.0\n\
                [[policies]]\nname = \"predictive\"\nmode = \"predictive\"\n";
    let sc = Scenario::parse(text).expect("parses");
    sc.validate().expect("valid");
    let cfg = sc.pacing_config(&sc.policies[0]).expect("valid");
    let s = run(&sc, cfg, 5);
    assert!(s.connects > 200, "{} connects", s.connects);
    assert!(!s.stalled());
    // Logged-in time: 20 for 30 min, ~5 for 30, ~30 for the last hour: 35-45 agent-hours.
    let hours = s.logged_in_secs / 3600.0;
    assert!((30.0..50.0).contains(&hours), "{hours} agent-hours");
    assert!(s.leads_consumed() >= s.connects + s.abandons);
}
