//! `[[campaigns]]` validation: the regulated limits are refused, references must exist,
//! each mistake at its line and column.

use super::*;

/// Parse `text` with prompts resolved in a temp dir holding `msg.wav`.
fn parse(text: &str) -> Result<Config, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(dir.path().join("msg.wav"), spec).unwrap();
    for i in 0..800 {
        w.write_sample((i % 50) as i16 * 100).unwrap();
    }
    w.finalize().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).unwrap();
    load(&path).map_err(|e| {
        e.errors()
            .iter()
            .map(|e| {
                let s = e.to_string();
                s[s.find("t.toml").unwrap_or(0)..].to_string()
            })
            .collect()
    })
}

const BASE: &str = "[[trunks]]\nname = \"carrier\"\naddress = \"127.0.0.1:5080\"\n\n\
                    [[queues]]\nname = \"sales\"\n\n";

#[test]
fn a_campaign_loads_with_regulated_defaults() {
    let text = format!(
        "{BASE}[[campaigns]]\nname = \"spring\"\nmode = \"progressive\"\ntrunk = \"carrier\"\n\
         caller_id = \"+15551230000\"\nqueue = \"sales\"\nabandon_message = \"msg.wav\"\n\
         numbers = [\"+15550001\", \"15550002\"]\n[campaigns.leads]\nmax_attempts = 3\n"
    );
    let cfg = parse(&text).unwrap_or_else(|e| panic!("{e:?}"));
    let c = &cfg.campaigns[0];
    assert_eq!(c.name, "spring");
    assert!(c.enabled);
    assert_eq!(c.pacing.mode, crate::dialer::pacing::Mode::Progressive);
    assert_eq!(c.ring_timeout, Duration::from_secs(26));
    assert_eq!(c.reach, Duration::from_secs(2));
    assert_eq!(c.pacing.max_abandon_rate, 0.03);
    assert_eq!(
        c.pacing.cancel_surplus_after_secs,
        Some(15.0),
        "surplus dials may be hung up after the regulated 15 s"
    );
    assert_eq!(c.machine_action, MachineAction::Hangup);
    assert_eq!(c.leads.max_attempts, 3);
    assert_eq!(c.numbers.len(), 2);
    assert!(
        cfg.prompts.contains_key("msg.wav"),
        "abandon message loaded"
    );
}

#[test]
fn regulated_limits_and_dangling_names_are_refused_at_their_values() {
    let text = format!(
        "{BASE}[[campaigns]]\n\
         name = \"bad\"\n\
         mode = \"fixed_ratio\"\n\
         trunk = \"nope\"\n\
         caller_id = \"call-me\"\n\
         queue = \"nowhere\"\n\
         ring_timeout_secs = 10\n\
         reach_secs = 3.0\n\
         max_abandon_rate = 0.05\n\
         abandon_message = \"missing.wav\"\n\
         machine_action = \"message\"\n\
         numbers = [\"12ab\"]\n\
         surplus_hangup_secs = 10\n"
    );
    let errs = parse(&text).unwrap_err();
    let want = [
        "t.toml:10:8: mode = \"fixed_ratio\" needs `ratio`",
        "t.toml:11:9: no [[trunks]] entry named `nope`",
        "t.toml:13:9: no [[queues]] entry named `nowhere`",
        "t.toml:12:13: caller_id must be",
        "t.toml:14:21: ring_timeout_secs must be 15..=300",
        "t.toml:15:14: reach_secs must be within (0, 2]",
        "t.toml:16:20: max_abandon_rate must be within (0, 0.03]",
        "t.toml:17:19:",
        "t.toml:18:18: machine_action = \"message\" needs `machine_message`",
        "t.toml:19:12: `12ab` is not a phone number",
        "t.toml:20:23: surplus_hangup_secs must be 0 (never) or 15..=300",
    ];
    for w in want {
        assert!(
            errs.iter().any(|e| e.starts_with(w)),
            "missing {w:?} in {errs:#?}"
        );
    }
}

#[test]
fn unknown_mode_and_keys_are_refused() {
    let text = format!(
        "{BASE}[[campaigns]]\nname = \"x\"\nmode = \"turbo\"\ntrunk = \"carrier\"\n\
         caller_id = \"+15551230000\"\nqueue = \"sales\"\n"
    );
    let errs = parse(&text).unwrap_err();
    assert!(errs[0].contains("mode `turbo` is unknown"), "{errs:?}");
    let text = format!(
        "{BASE}[[campaigns]]\nname = \"x\"\nmode = \"progressive\"\ntrunk = \"carrier\"\n\
         caller_id = \"+15551230000\"\nqueue = \"sales\"\nspeed = 3\n"
    );
    let errs = parse(&text).unwrap_err();
    assert!(errs[0].contains("unknown field `speed`"), "{errs:?}");
}

/// `[campaigns.leads] csv` resolves against the config's directory; a missing file, or one
/// next to an inline `numbers` list, is refused at the campaign's name.
#[test]
fn leads_csv_resolves_next_to_the_config_and_excludes_numbers() {
    let campaign = |leads: &str, numbers: &str| {
        format!(
            "{BASE}[[campaigns]]\nname = \"spring\"\nmode = \"progressive\"\ntrunk = \"carrier\"\n\
             caller_id = \"+15551230000\"\nqueue = \"sales\"\n{numbers}[campaigns.leads]\n{leads}\n"
        )
    };
    // Any existing file passes the check (the import reads it at start): `msg.wav` is the
    // one `parse` puts next to the config.
    let cfg = parse(&campaign("csv = \"msg.wav\"", "")).unwrap_or_else(|e| panic!("{e:?}"));
    let csv = cfg.campaigns[0].leads.csv.clone().expect("csv kept");
    assert!(csv.is_absolute() && csv.ends_with("msg.wav"), "{csv:?}");
    let errs = parse(&campaign("csv = \"nope.csv\"", "")).unwrap_err();
    assert!(
        errs.len() == 1 && errs[0].starts_with("t.toml:9:8:") && errs[0].contains("no file"),
        "{errs:?}"
    );
    let errs = parse(&campaign(
        "csv = \"msg.wav\"",
        "numbers = [\"+15550001\"]\n",
    ))
    .unwrap_err();
    assert!(
        errs.len() == 1 && errs[0].contains("exclude each other"),
        "{errs:?}"
    );
}

#[test]
fn bad_amd_settings_are_refused_at_their_table() {
    let camp = "[[campaigns]]\nname = \"spring\"\nmode = \"progressive\"\ntrunk = \"carrier\"\n\
                caller_id = \"+15551230000\"\nqueue = \"sales\"\nnumbers = [\"+15550001\"]\n";
    let ok =
        format!("{BASE}{camp}[campaigns.amd]\nenabled = true\nmessage_wait_silence_ms = 900\n");
    let cfg = parse(&ok).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(cfg.campaigns[0].amd.message_wait_silence_ms, 900);
    assert_eq!(cfg.campaigns[0].amd.message_max_wait_secs, 20);
    for (setting, want) in [
        (
            "message_wait_silence_ms = 0",
            "message_wait_silence_ms must be 100-10000",
        ),
        (
            "message_max_wait_secs = 0",
            "message_max_wait_secs must be 1-120",
        ),
        (
            "message_wait_silence_ms = 5000\nmessage_max_wait_secs = 5",
            "must be shorter than message_max_wait_secs (5 s)",
        ),
        ("total_analysis_ms = 0", "total_analysis_ms must be > 0"),
    ] {
        let text = format!("{BASE}{camp}[campaigns.amd]\nenabled = true\n{setting}\n");
        let errs = parse(&text).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("t.toml:15:1: campaign `spring`: amd: ") && errs[0].contains(want),
            "{setting}: {errs:?}"
        );
    }
}

#[test]
fn surplus_hangups_can_be_turned_off_or_later() {
    for (value, want) in [("0", None), ("20", Some(20.0)), ("26", None)] {
        let text = format!(
            "{BASE}[[campaigns]]\nname = \"c\"\nmode = \"predictive\"\ntrunk = \"carrier\"\n\
             caller_id = \"+15551230000\"\nqueue = \"sales\"\nsurplus_hangup_secs = {value}\n"
        );
        let cfg = parse(&text).unwrap_or_else(|e| panic!("{e:?}"));
        // 26 = the ring timeout: the timeout always comes first, so it is off.
        assert_eq!(
            cfg.campaigns[0].pacing.cancel_surplus_after_secs, want,
            "surplus_hangup_secs = {value}"
        );
    }
}

#[test]
fn lead_cost_reaches_pacing_and_bad_values_are_refused() {
    let text = |value: &str| {
        format!(
            "{BASE}[[campaigns]]\nname = \"c\"\nmode = \"predictive\"\ntrunk = \"carrier\"\n\
             caller_id = \"+15551230000\"\nqueue = \"sales\"\nlead_cost = {value}\n"
        )
    };
    let cfg = parse(&text("2.5")).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(cfg.campaigns[0].pacing.lead_cost, 2.5);
    for bad in ["-1.0", "nan", "inf", "1000.0"] {
        let errs = parse(&text(bad)).expect_err(bad);
        assert!(
            errs.iter().any(|e| e.contains("lead_cost")),
            "{bad}: {errs:?}"
        );
    }
}
