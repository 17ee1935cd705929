//! Running SIPp scenarios from tests/sipp against the daemon.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Run `scenario` (a file in tests/sipp) as a UAC against `target` with one call per CSV line
/// of `users`. The CSV carries "user;password;domain;[authentication ...]": SIPp 3.6 cannot nest
/// [fieldN] inside [authentication], so the whole keyword travels in field 3. Returns (success, stdout+stderr+error log).
pub fn run_uac(
    dir: &Path,
    scenario: &str,
    target: &str,
    users: &[(&str, &str)],
    calls: usize,
    extra: &[&str],
) -> (bool, String) {
    let csv = dir.join(format!("{scenario}.csv"));
    let mut text = String::from("SEQUENTIAL\n");
    for (u, p) in users {
        text.push_str(&format!(
            "{u};{p};switchboard.local;[authentication username={u} password={p}]\n"
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let scen = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let errors = dir.join(format!("{scenario}.errors.log"));
    let out = Command::new(super::tool("sipp"))
        .arg(target)
        .args(["-sf"])
        .arg(&scen)
        .args(["-inf"])
        .arg(&csv)
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            "0",
            "-m",
            &calls.to_string(),
            "-l",
            "20",
            "-r",
            "50",
        ])
        .args([
            "-timeout",
            "30s",
            "-timeout_error",
            "-max_recv_loops",
            "1000",
            "-nostdin",
            "-trace_err",
        ])
        .arg("-error_file")
        .arg(&errors)
        .args(extra)
        .output()
        .expect("run sipp");
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    if let Ok(e) = std::fs::read_to_string(&errors) {
        log.push_str("\n--- sipp errors:\n");
        log.push_str(&e);
    }
    (out.status.success(), log)
}
