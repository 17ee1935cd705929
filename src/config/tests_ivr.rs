//! `[[ivr]]` validation: every mistake at its line and column.

use super::*;

/// Parse `text` with prompts resolved in a temp dir holding `good.wav`.
fn parse(text: &str) -> Result<Config, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(dir.path().join("good.wav"), spec).unwrap();
    for i in 0..800 {
        w.write_sample((i % 50) as i16 * 100).unwrap();
    }
    w.finalize().unwrap();
    let stereo = hound::WavSpec {
        channels: 2,
        ..spec
    };
    let mut w = hound::WavWriter::create(dir.path().join("stereo.wav"), stereo).unwrap();
    w.write_sample(0i16).unwrap();
    w.write_sample(0i16).unwrap();
    w.finalize().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).unwrap();
    load(&path).map_err(|e| {
        e.errors()
            .iter()
            .map(|e| {
                let s = e.to_string();
                // Drop the temp dir from the file name.
                s[s.find("t.toml").unwrap_or(0)..].to_string()
            })
            .collect()
    })
}

const USERS: &str = "[[users]]\nextension = \"1001\"\npassword = \"x\"\n";

#[test]
fn a_menu_with_options_and_an_extension_loads() {
    let text = format!(
        "[[ivr]]\nname = \"main\"\nextension = \"500\"\nprompt = \"good.wav\"\n\
         options = {{ \"1\" = \"extension:1001\", \"2\" = \"menu:acct\", \"#\" = \"hangup\" }}\n\n\
         [[ivr]]\nname = \"acct\"\nprompt = \"good.wav\"\n\
         collect = {{ variable = \"account\", digits = 6, terminator = \"#\", then = \"menu:main\" }}\n\n\
         [[dialplan.inbound]]\nnumber = \"+15550001\"\nivr = \"main\"\n\n{USERS}"
    );
    let cfg = parse(&text).unwrap_or_else(|e| panic!("{e:?}"));
    let main = cfg.ivr.menus.get("main").unwrap();
    assert_eq!(main.options.len(), 3);
    assert_eq!(
        cfg.ivr.extensions.get("500").map(String::as_str),
        Some("main")
    );
    assert_eq!(cfg.prompts.len(), 1, "one file, loaded once");
    let acct = cfg.ivr.menus.get("acct").unwrap();
    assert_eq!(acct.collect.as_ref().unwrap().digits, 6);
    assert_eq!(
        cfg.dialplan.inbound[0].target,
        InboundTarget::Ivr("main".into())
    );
}

#[test]
fn mistakes_point_at_their_values() {
    let text = format!(
        "[[ivr]]\n\
         name = \"main\"\n\
         prompt = \"missing.wav\"\n\
         invalid_prompt = \"stereo.wav\"\n\
         on_failure = \"queue:nowhere\"\n\
         options = {{ \"1\" = \"menu:nope\", \"12\" = \"hangup\", \"x\" = \"hangup\", \"3\" = \"dance\", \"4\" = \"extension:999\" }}\n\
         \n\
         [[dialplan.inbound]]\nnumber = \"+15550001\"\nivr = \"absent\"\n\
         \n\
         [[dialplan.inbound]]\nnumber = \"+15550002\"\n\
         \n{USERS}"
    );
    let e = parse(&text).unwrap_err();
    let all = e.join("\n");
    for want in [
        "t.toml:3:10: ",
        "missing.wav: cannot read WAV",
        "t.toml:4:18: ",
        "stereo.wav: must be 8000 Hz, 16-bit, mono PCM (is 8000 Hz, 16-bit, 2 channel(s)",
        "t.toml:5:14: no [[queues]] entry named `nowhere`",
        "no [[ivr]] menu named `nope`",
        "IVR option key `12` must be one DTMF key",
        "IVR option key `x` is no DTMF key",
        "unknown IVR action `dance`",
        "no user with extension `999`",
        "t.toml:10:7: inbound number routed to unknown IVR menu `absent`",
        "needs exactly one of `extension`, `ivr` or `queue`",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
}

#[test]
fn a_menu_needs_something_to_do_and_unique_names() {
    let text = format!(
        "[[ivr]]\nname = \"a\"\nprompt = \"good.wav\"\n\n\
         [[ivr]]\nname = \"a\"\nprompt = \"good.wav\"\noptions = {{ \"1\" = \"hangup\" }}\n\n\
         [[ivr]]\nname = \"b\"\nextension = \"1001\"\nprompt = \"good.wav\"\ntimeout_secs = 0\n\
         collect = {{ variable = \"bad name\", digits = 0, terminator = \"x\", then = \"hangup\" }}\n\
         options = {{ \"1\" = \"hangup\" }}\n\n{USERS}"
    );
    let all = parse(&text).unwrap_err().join("\n");
    for want in [
        "t.toml:2:8: IVR menu `a` needs `options` or `collect`",
        "t.toml:6:8: IVR menu `a` is defined twice",
        "IVR extension `1001` is also a user's extension",
        "timeout_secs must be 1..=60",
        "collect.digits must be 1..=32",
        "collect.terminator must be",
        "collect.variable must be a name",
        "a menu either collects digits or offers options, not both",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
}

#[test]
fn hold_music_is_a_loaded_prompt_or_the_built_in_tone() {
    let cfg = parse(&format!("[calls]\nhold_music = \"good.wav\"\n\n{USERS}")).unwrap();
    assert_eq!(cfg.calls.hold_music, "good.wav");
    assert!(cfg.prompts.contains_key("good.wav"), "loaded at start");
    let cfg = parse(USERS).unwrap();
    assert_eq!(cfg.calls.hold_music, crate::media::tones::HOLD);
    let e = parse(&format!("[calls]\nhold_music = \"gone.wav\"\n\n{USERS}")).unwrap_err();
    let all = e.join("\n");
    assert!(
        all.contains("t.toml:2:14: ") && all.contains("gone.wav: cannot read WAV"),
        "{all}"
    );
}
