//! Real synthetic speech, when the machine has espeak-ng and sox (CI need not: the test
//! then says so and passes without checking anything else).

use std::path::Path;
use std::process::Command;

use super::eval::{run_amd, run_sit};
use super::Verdict;
use crate::dialer::amd_config::AmdConfig;

/// `text` spoken by espeak-ng at 8 kHz mono 16-bit, or `None` without the tools.
fn speak(dir: &Path, name: &str, text: &str, words_per_min: u32) -> Option<Vec<i16>> {
    let raw = dir.join(format!("{name}-22k.wav"));
    let out = dir.join(format!("{name}.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-s", &words_per_min.to_string(), "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let ok = Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let mut r = hound::WavReader::open(&out).ok()?;
    r.samples::<i16>().collect::<Result<Vec<_>, _>>().ok()
}

/// Half a second of silence (the callee lifting the phone), the speech, then silence.
fn answered(speech: &[i16]) -> Vec<i16> {
    let mut v = vec![0i16; 4000];
    v.extend_from_slice(speech);
    v.extend(std::iter::repeat_n(0, 8000 * 3));
    v
}

#[test]
fn espeak_hellos_are_human_and_greetings_are_machines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(hello) = speak(dir.path(), "hello", "Hello?", 160) else {
        eprintln!("espeak-ng or sox missing: TTS check skipped");
        return;
    };
    let tuned = AmdConfig {
        maximum_number_of_words: 3,
        ..AmdConfig::default()
    };
    let r = run_amd(&AmdConfig::default(), &answered(&hello));
    assert_eq!(r.verdict, Verdict::Human, "{r:?}");
    let yes = speak(dir.path(), "yes", "Yes?", 160).expect("spoke once already");
    assert_eq!(
        run_amd(&AmdConfig::default(), &answered(&yes)).verdict,
        Verdict::Human
    );
    let greeting = speak(
        dir.path(),
        "greeting",
        "Hi, you have reached the Smith family. We can't come to the phone right now. \
         Please leave a message after the tone.",
        175,
    )
    .expect("spoke once already");
    for cfg in [AmdConfig::default(), tuned] {
        let r = run_amd(&cfg, &answered(&greeting));
        assert_eq!(r.verdict, Verdict::Machine, "{r:?}");
    }
    assert_eq!(run_sit(&answered(&greeting)), None);
}
