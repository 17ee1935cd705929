//! Recording with real peers: a SIPp caller streams a 440 Hz tone through a trunk to a SIPp
//! callee streaming 1000 Hz; the daemon records the call to a stereo WAV that is checked
//! for format, length against the CDR, and channel assignment (Goertzel). Then a recording
//! cut by `kill -9` is repaired by the restarted daemon, and a full disk (a 64 KiB tmpfs)
//! fails the recording but not the call.

mod common;

use common::baresip::{goertzel, rms, tone_ulaw, wav_channels};
use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A trunk to `uas_port`, every number routed to it, and `[recording]` as given.
fn config(dir: &Path, port: u16, uas_port: u16, recording: &str) -> String {
    let base = media_base();
    let max = base + 199;
    let calls = format!(
        r#"{LEGACY_AUTH}
[media]
address = "127.0.0.1"
port_min = {base}
port_max = {max}

[[trunks]]
name = "carrier"
address = "127.0.0.1:{uas_port}"

[[dialplan.routes]]
pattern = "_X."
trunk = "carrier"

[recording]
dir = "rec"
file_name = "{{date}}/{{call_id}}_{{caller}}_{{callee}}"
{recording}
"#
    );
    common::test_config(dir, port, TRUSTING, &calls)
}

fn filled(dir: &Path, name: &str, fill: &[(&str, &str)]) -> String {
    sipp::filled(dir, name, fill)
}

/// The callee streaming 1000 Hz (no RTP echo: the right channel must be its own tone).
fn callee(dir: &Path, port: u16) -> Child {
    let tone = tone_ulaw(dir, "callee.ulaw", 1000.0, 4);
    let scen = filled(
        dir,
        "rec_uas_tone.xml",
        &[("AUDIO_FILE", &tone.display().to_string())],
    );
    Command::new(tool("sipp"))
        .args(["-sf", &scen, "-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &free_port().to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error"])
        .arg("-trace_err")
        .arg("-error_file")
        .arg(dir.join("uas.errors.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas")
}

/// The caller (1001) streaming 440 Hz to `number` for `talk_ms`, in the background.
fn caller(dir: &Path, daemon: &Daemon, number: &str, talk_ms: u32) -> Child {
    let tone = tone_ulaw(dir, "caller.ulaw", 440.0, 4);
    let scen = filled(
        dir,
        "rec_uac_tone.xml",
        &[
            ("AUDIO_FILE", &tone.display().to_string()),
            ("TALK_MS", &talk_ms.to_string()),
        ],
    );
    let csv = dir.join("uac.csv");
    std::fs::write(
        &csv,
        "SEQUENTIAL\n1001;1001pass;switchboard.local;[authentication username=1001 password=1001pass]\n",
    )
    .unwrap();
    Command::new(tool("sipp"))
        .arg(daemon.addr().to_string())
        .args(["-sf", &scen, "-inf"])
        .arg(&csv)
        .args(["-i", "127.0.0.1", "-p", "0", "-m", "1", "-s", number])
        .args(["-mi", "127.0.0.1", "-mp", &free_port().to_string()])
        .args([
            "-timeout",
            "60s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
        ])
        .arg("-error_file")
        .arg(dir.join("uac.errors.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uac")
}

fn wait_ok(child: &mut Child, who: &str, daemon: &Daemon, dir: &Path) {
    let mut status = None;
    poll_until(Duration::from_secs(60), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    let ok = status.is_some_and(|s| s.success());
    if !ok {
        let _ = child.kill();
    }
    assert!(
        ok,
        "{who} failed: {:?}\n{}\n--- daemon:\n{}",
        status,
        std::fs::read_to_string(dir.join(format!("{}.errors.log", &who[..3]))).unwrap_or_default(),
        daemon.log_text()
    );
}

#[derive(Debug)]
struct RecCdr {
    answer_ms: i64,
    end_ms: i64,
    end_cause: String,
    path: Option<String>,
    status: Option<String>,
    ms: Option<i64>,
}

/// The first finished CDR's recording columns.
fn rec_cdr(daemon: &Daemon, dir: &Path) -> RecCdr {
    let db = dir.join("switchboard.db");
    let mut row = None;
    let found = poll_until(Duration::from_secs(10), || {
        let Ok(conn) = rusqlite::Connection::open(&db) else {
            return false;
        };
        row = conn
            .query_row(
                "SELECT answer_unix_ms, end_unix_ms, end_cause, recording, recording_status,
                        recording_ms FROM cdrs WHERE end_unix_ms IS NOT NULL AND answer_unix_ms IS NOT NULL",
                [],
                |r| {
                    Ok(RecCdr {
                        answer_ms: r.get(0)?,
                        end_ms: r.get(1)?,
                        end_cause: r.get(2)?,
                        path: r.get(3)?,
                        status: r.get(4)?,
                        ms: r.get(5)?,
                    })
                },
            )
            .ok();
        row.is_some()
    });
    assert!(found, "no finished CDR; daemon:\n{}", daemon.log_text());
    row.unwrap()
}

fn find_wavs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(find_wavs(&p));
            } else if p.extension().is_some_and(|x| x == "wav") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_trunk_call_is_recorded_in_stereo_caller_left_callee_right() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, uas_port, "policy = \"always\""),
    );
    let mut uas = callee(dir.path(), uas_port);
    let mut uac = caller(dir.path(), &daemon, "5551234", 3000);
    wait_ok(&mut uac, "uac", &daemon, dir.path());
    wait_ok(&mut uas, "uas", &daemon, dir.path());

    let cdr = rec_cdr(&daemon, dir.path());
    assert_eq!(cdr.end_cause, "normal");
    assert_eq!(cdr.status.as_deref(), Some("ok"), "{cdr:?}");
    let path = PathBuf::from(cdr.path.clone().expect("a recording path"));
    assert!(path.starts_with(dir.path().join("rec")), "{path:?}");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with("_1001_5551234.wav"), "{name}");
    // Not world-readable: the directory 0700, the file 0600.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("rec")), 0o700);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&path), 0o600);

    let (spec, left, right) = wav_channels(&path);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    // Length: the call's media time (answer → end in the CDR), within one 20 ms frame per
    // started minute.
    let media_ms = cdr.end_ms - cdr.answer_ms;
    let wav_ms = left.len() as i64 * 1000 / 8000;
    let minutes = (media_ms / 60_000) + 1;
    assert!(
        (wav_ms - media_ms).abs() <= 20 * minutes,
        "wav {wav_ms} ms vs CDR {media_ms} ms"
    );
    assert_eq!(cdr.ms, Some(wav_ms), "the CDR's recording_ms is the file's");

    // Channel assignment: the caller's 440 Hz dominates the left, the callee's 1000 Hz the
    // right, in every half second of the middle of the call.
    let mid = 4000..left.len().saturating_sub(4000);
    assert!(
        mid.len() >= 8000,
        "at least a second of talk: {}",
        left.len()
    );
    for chunk in mid.clone().step_by(4000) {
        let w = chunk..(chunk + 4000).min(mid.end);
        // A ragged last window of a few samples cannot tell 440 Hz from 1000 Hz (its
        // frequency resolution is 8000 / len Hz): judge only windows of a quarter second.
        if w.len() < 2000 {
            continue;
        }
        let (l, r) = (&left[w.clone()], &right[w.clone()]);
        let (l440, l1k) = (goertzel(l, 440.0), goertzel(l, 1000.0));
        let (r440, r1k) = (goertzel(r, 440.0), goertzel(r, 1000.0));
        assert!(
            l440 > 100.0 * l1k && rms(l) > 2000.0,
            "left at {w:?}: 440 {l440} 1000 {l1k} rms {}",
            rms(l)
        );
        assert!(
            r1k > 100.0 * r440 && rms(r) > 2000.0,
            "right at {w:?}: 440 {r440} 1000 {r1k} rms {}",
            rms(r)
        );
    }
}

#[test]
fn a_recording_cut_by_kill_9_is_repaired_at_restart_and_plays() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let cfg = config(dir.path(), port, uas_port, "policy = \"always\"");
    let mut daemon = Daemon::start(dir.path(), port, &cfg);
    let mut uas = callee(dir.path(), uas_port);
    let mut uac = caller(dir.path(), &daemon, "5551234", 20_000);
    // Wait until the writer has a few seconds on disk and the header lags the file (the
    // writer's buffer spills every 8 KiB, the header is refreshed about once a second), then
    // kill the daemon mid-call.
    let rec = dir.path().join("rec");
    let lagging = |p: &Path| {
        let len = std::fs::metadata(p).map_or(0, |m| m.len());
        let header = hound::WavReader::open(p).map_or(0, |r| u64::from(r.len()));
        (len, len > 44 + 3 * 32_000 && header * 2 + 44 < len)
    };
    let ready = poll_until(Duration::from_secs(20), || {
        find_wavs(&rec).first().is_some_and(|p| lagging(p).1)
    });
    assert!(
        ready,
        "no recording growing; daemon:\n{}",
        daemon.log_text()
    );
    daemon.kill9();
    let _ = uac.kill();
    let _ = uas.kill();
    let _ = uac.wait();
    let _ = uas.wait();
    let wav = find_wavs(&rec).remove(0);
    // A header refresh between the check and the kill (a window of about a millisecond per
    // second) leaves nothing to repair; the read-back below holds either way.
    let (len, lagged) = lagging(&wav);

    let daemon = Daemon::start_with(dir.path(), port, &dir.path().join("switchboard.toml"));
    assert!(
        daemon.wait_log("recordings checked", Duration::from_secs(10)),
        "{}",
        daemon.log_text()
    );
    if lagged {
        assert!(
            daemon.log_text().contains("repaired=1"),
            "{}",
            daemon.log_text()
        );
    }
    let (spec, left, right) = wav_channels(&wav);
    assert_eq!(spec.channels, 2);
    assert_eq!(
        44 + left.len() as u64 * 4,
        len - len % 4,
        "the header now covers the whole file"
    );
    assert!(left.len() > 3 * 8000, "at least 3 s: {}", left.len());
    let tail = left.len() - 8000..left.len();
    assert!(
        rms(&left[tail.clone()]) > 2000.0,
        "audio up to the end (left)"
    );
    assert!(rms(&right[tail]) > 2000.0, "audio up to the end (right)");
}

/// Unmounts the tmpfs even when the test fails.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_recording_not_the_call() {
    let dir = temp_dir();
    let rec = dir.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    // 64 KiB: about two seconds of stereo audio, then ENOSPC.
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&rec)
        .status()
        .expect("run mount");
    assert!(mounted.success(), "mounting a tmpfs needs root");
    let _mount = Mount(rec.clone());
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, uas_port, "policy = \"always\""),
    );
    let mut uas = callee(dir.path(), uas_port);
    let mut uac = caller(dir.path(), &daemon, "5551234", 4000);
    // The call runs to its end and both sides exchange BYE / 200 normally.
    wait_ok(&mut uac, "uac", &daemon, dir.path());
    wait_ok(&mut uas, "uas", &daemon, dir.path());
    let cdr = rec_cdr(&daemon, dir.path());
    assert_eq!(cdr.end_cause, "normal");
    let status = cdr.status.clone().unwrap_or_default();
    assert!(
        status.starts_with("failed: ") && status.contains("space"),
        "{cdr:?}"
    );
    assert!(daemon.log_text().contains("recording failed"));
}
