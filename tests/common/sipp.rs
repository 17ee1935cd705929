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

/// A SIPp UAS running in the background; killed and reaped on drop, so a failing test
/// leaves no stray process.
pub struct Uas(std::process::Child);

impl Uas {
    /// Run `scenario` (a path) as a UAS on 127.0.0.1:`port` for `calls` calls, echoing RTP
    /// on `media_port`, with `extra` arguments. `name` labels its error log in `dir`.
    pub fn spawn(
        dir: &Path,
        name: &str,
        scenario: &str,
        (port, media_port): (u16, u16),
        calls: usize,
        extra: &[&str],
    ) -> Uas {
        let child = Command::new(super::tool("sipp"))
            .args(["-sf", scenario, "-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
            .args(["-rtp_echo", "-m", &calls.to_string(), "-nostdin"])
            .args(["-timeout", "30s", "-timeout_error", "-trace_err"])
            .arg("-error_file")
            .arg(dir.join(format!("{name}.errors.log")))
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start sipp uas");
        Uas(child)
    }

    /// Wait up to `timeout` for SIPp to finish: Some(true) if every call succeeded, None if
    /// it is still running (it is killed on drop).
    pub fn wait(&mut self, timeout: std::time::Duration) -> Option<bool> {
        let mut status = None;
        super::poll_until(timeout, || {
            status = self.0.try_wait().ok().flatten();
            status.is_some()
        });
        status.map(|s| s.success())
    }
}

impl Drop for Uas {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A copy in `dir` of the scenario `name` (in tests/sipp) with placeholders filled in; its path.
pub fn filled(dir: &Path, name: &str, fill: &[(&str, &str)]) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name);
    let mut text = std::fs::read_to_string(src).expect("scenario");
    for (k, v) in fill {
        text = text.replace(k, v);
    }
    let scen = dir.join(format!("filled-{name}"));
    std::fs::write(&scen, text).expect("write scenario");
    scen.display().to_string()
}
