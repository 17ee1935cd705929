//! Two baresip phones, registered to the real daemon, call each other through the B2BUA and
//! exchange audio: each sends a tone from a WAV file (aufile), records what it decodes
//! (sndfile), and must hear the other phone's tone. baresip is driven over its ctrl_tcp
//! module (netstring-framed JSON commands).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use common::*;

static MEDIA_BLOCK: AtomicU16 = AtomicU16::new(0);

const RATE: u32 = 8000;

/// MD5-only auth (baresip 1.0 aborts on a SHA-256 challenge) and a media range of our own.
fn config(dir: &Path, port: u16) -> String {
    let block = MEDIA_BLOCK.fetch_add(1, Ordering::SeqCst);
    let base = 40000 + block * 200 + (std::process::id() as u16 % 40) * 400 % 16000;
    let extra = format!(
        "[auth]\nalgorithms = [\"MD5\"]\n\n[media]\naddress = \"127.0.0.1\"\nport_min = {base}\nport_max = {max}\n",
        max = base + 199
    );
    test_config(dir, port, TRUSTING, &extra)
}

/// `secs` of a sine tone at `freq` Hz, 8 kHz mono S16LE: what aufile sends as the microphone.
fn write_tone(path: &Path, freq: f64, secs: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create tone wav");
    for i in 0..RATE * secs {
        let t = i as f64 / RATE as f64;
        let s = (t * freq * 2.0 * std::f64::consts::PI).sin() * 8000.0;
        w.write_sample(s as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Power of `freq` in `samples` (Goertzel), normalised by the number of samples.
fn goertzel(samples: &[f64], freq: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / RATE as f64).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = x + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / (samples.len() as f64).powi(2)
}

fn rms(samples: &[f64]) -> f64 {
    (samples.iter().map(|x| x * x).sum::<f64>() / samples.len().max(1) as f64).sqrt()
}

/// One baresip instance with its own config dir, killed on drop.
struct Phone {
    child: Child,
    home: PathBuf,
    ctrl_port: u16,
    ext: &'static str,
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Phone {
    /// Start baresip registering `ext` at the daemon, sending a `freq` Hz tone as its
    /// microphone and recording what it decodes under `<home>/snd`. `answer` is the account's
    /// answermode ("auto" or "manual").
    fn start(
        root: &Path,
        name: &str,
        ext: &'static str,
        daemon: u16,
        freq: f64,
        answer: &str,
    ) -> Phone {
        let home = root.join(name);
        let snd = home.join("snd");
        std::fs::create_dir_all(&snd).unwrap();
        let tone = home.join("tone.wav");
        write_tone(&tone, freq, 30);
        let sip_port = free_port();
        let ctrl_port = free_port();
        std::fs::write(
            home.join("config"),
            format!(
                "poll_method\t\tepoll\n\
                 sip_listen\t\t127.0.0.1:{sip_port}\n\
                 module_path\t\t/usr/lib/baresip/modules\n\
                 module\t\t\tg711.so\n\
                 module\t\t\taufile.so\n\
                 module\t\t\taubridge.so\n\
                 module\t\t\tsndfile.so\n\
                 module_app\t\taccount.so\n\
                 module_app\t\tmenu.so\n\
                 module_app\t\tctrl_tcp.so\n\
                 ctrl_tcp_listen\t\t127.0.0.1:{ctrl_port}\n\
                 snd_path\t\t{snd}\n\
                 audio_source\t\taufile,{tone}\n\
                 audio_player\t\taubridge,{name}\n\
                 audio_alert\t\taubridge,{name}\n\
                 audio_srate\t\t8000\n\
                 audio_channels\t\t1\n",
                snd = snd.display(),
                tone = tone.display(),
            ),
        )
        .unwrap();
        std::fs::write(
            home.join("accounts"),
            format!(
                "<sip:{ext}@127.0.0.1:{daemon};transport=udp>;auth_pass={ext}pass;answermode={answer};regint=600\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(home.join("baresip.log")).unwrap();
        let child = Command::new(tool("baresip"))
            .arg("-f")
            .arg(&home)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start baresip");
        Phone {
            child,
            home,
            ctrl_port,
            ext,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("baresip.log")).unwrap_or_default()
    }

    /// Send one ctrl_tcp command and return its response (the JSON text, events skipped).
    fn command(&self, command: &str, params: &str) -> String {
        let mut stream = None;
        assert!(
            poll_until(Duration::from_secs(10), || {
                stream = TcpStream::connect(("127.0.0.1", self.ctrl_port)).ok();
                stream.is_some()
            }),
            "ctrl_tcp of {} never listened:\n{}",
            self.ext,
            self.log()
        );
        let mut s = stream.unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let json = format!(r#"{{"command":"{command}","params":"{params}","token":"t1"}}"#);
        s.write_all(format!("{}:{json},", json.len()).as_bytes())
            .unwrap();
        loop {
            let msg = read_netstring(&mut s)
                .unwrap_or_else(|| panic!("no ctrl_tcp response to {command}:\n{}", self.log()));
            if msg.contains("\"response\":true") {
                return msg;
            }
        }
    }

    /// The decoded (received) audio sndfile wrote, once the file is complete.
    fn received_audio(&self) -> Option<Vec<f64>> {
        let dir = std::fs::read_dir(self.home.join("snd")).ok()?;
        let path = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with("-dec.wav"))?;
        let reader = hound::WavReader::open(path).ok()?;
        let samples: Vec<f64> = reader
            .into_samples::<i16>()
            .map(|s| s.map(f64::from))
            .collect::<Result<_, _>>()
            .ok()?;
        (samples.len() >= RATE as usize).then_some(samples)
    }
}

/// One netstring ("len:payload,") from `s`.
fn read_netstring(s: &mut TcpStream) -> Option<String> {
    let mut len = String::new();
    let mut b = [0u8; 1];
    loop {
        s.read_exact(&mut b).ok()?;
        if b[0] == b':' {
            break;
        }
        len.push(b[0] as char);
    }
    let n: usize = len.trim().parse().ok()?;
    let mut buf = vec![0u8; n + 1];
    s.read_exact(&mut buf).ok()?;
    buf.pop(); // the trailing ','
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn registered(d: &Daemon, ext: &str, n: usize) -> bool {
    d.log_text()
        .lines()
        .filter(|l| l.contains("registered") && l.contains(&format!("{ext}@switchboard.local")))
        .count()
        >= n
}

/// Assert the phone decoded real audio dominated by `freq` (the other phone's tone).
fn assert_hears(phone: &Phone, freq: f64, other: f64) {
    let mut audio = None;
    assert!(
        poll_until(Duration::from_secs(10), || {
            audio = phone.received_audio();
            audio.is_some()
        }),
        "{} wrote no received audio:\n{}",
        phone.ext,
        phone.log()
    );
    let audio = audio.unwrap();
    // Skip the start (jitter buffer fill, silence before the first packet).
    let tail = &audio[audio.len() / 4..];
    let level = rms(tail);
    let (want, not) = (goertzel(tail, freq), goertzel(tail, other));
    assert!(
        level > 1000.0,
        "{} heard near silence (rms {level:.0}, {} samples)",
        phone.ext,
        audio.len()
    );
    assert!(
        want > 20.0 * not,
        "{} should hear {freq} Hz: power {want:.0} at {freq} Hz vs {not:.0} at {other} Hz",
        phone.ext
    );
}

/// Bytes of decoded audio sndfile has written so far (the file grows during the call).
fn dec_bytes(p: &Phone) -> u64 {
    std::fs::read_dir(p.home.join("snd"))
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with("-dec.wav"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>()
        })
        .unwrap_or(0)
}

#[test]
fn two_baresip_phones_call_each_other_and_hear_each_others_tone() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(dir.path(), port, &config(dir.path(), port));
    let caller = Phone::start(dir.path(), "p1002", "1002", port, 440.0, "manual");
    let callee = Phone::start(dir.path(), "p1003", "1003", port, 1000.0, "auto");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)
            && registered(&d, "1003", 1)),
        "phones never registered:\n{}\n--- 1002:\n{}\n--- 1003:\n{}",
        d.log_text(),
        caller.log(),
        callee.log()
    );

    let resp = caller.command("dial", &format!("sip:1003@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "dial refused: {resp}");
    assert!(
        d.wait_log("answered", Duration::from_secs(10)),
        "call never answered:\n{}\n--- 1002:\n{}\n--- 1003:\n{}",
        d.log_text(),
        caller.log(),
        callee.log()
    );
    // Audio flows for a while: both directions must have crossed the relay many times over.
    // The relay counts are only in the CDR, so the proof comes after hangup; here wait until
    // each phone has decoded a couple of seconds (sndfile's file grows as it writes).
    assert!(
        poll_until(Duration::from_secs(25), || dec_bytes(&caller) > 8 * 16000
            && dec_bytes(&callee) > 8 * 16000),
        "no audio decoded (caller {} bytes, callee {} bytes):\n{}\n--- 1002:\n{}\n--- 1003:\n{}",
        dec_bytes(&caller),
        dec_bytes(&callee),
        d.log_text(),
        caller.log(),
        callee.log()
    );

    let resp = caller.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "hangup refused: {resp}");
    let cdr = finished_cdr(&d);
    assert!(cdr.answered, "{cdr:?}");
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"), "{cdr:?}");
    assert_eq!(cdr.hangup_side.as_deref(), Some("caller"), "{cdr:?}");
    assert!(
        cdr.caller.contains("1002") && cdr.callee.contains("1003"),
        "{cdr:?}"
    );
    assert!(cdr.a_to_b > 50 && cdr.b_to_a > 50, "{cdr:?}");
    // baresip sends RTCP (first reports after ~5 s, hence the 8 s call): both phones'
    // reports about what we relayed to them were read, and the SR/RR pairs gave a round trip.
    assert!(
        cdr.a_to_b_far_lost.is_some() && cdr.b_to_a_far_lost.is_some() && cdr.rtt_ms.is_some(),
        "RTCP reports not read: {cdr:?}"
    );

    // The callee hears the caller's 440 Hz, the caller the callee's 1000 Hz.
    assert_hears(&callee, 440.0, 1000.0);
    assert_hears(&caller, 1000.0, 440.0);
}

#[test]
fn call_to_two_devices_of_one_user_rings_both_and_cancels_the_loser() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(dir.path(), port, &config(dir.path(), port));
    let caller = Phone::start(dir.path(), "p1002", "1002", port, 440.0, "manual");
    // Two devices of 1003: the desk phone rings and is never picked up, the softphone
    // answers at once.
    let desk = Phone::start(dir.path(), "p1003-desk", "1003", port, 2000.0, "manual");
    let soft = Phone::start(dir.path(), "p1003-soft", "1003", port, 1000.0, "auto");
    let both_bound = || {
        registered(&d, "1002", 1)
            && d.log_text().lines().any(|l| {
                l.contains("registered")
                    && l.contains("1003@switchboard.local")
                    && l.contains("contacts=2")
            })
    };
    assert!(
        poll_until(Duration::from_secs(15), both_bound),
        "phones never registered:\n{}",
        d.log_text()
    );

    let resp = caller.command("dial", &format!("sip:1003@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "dial refused: {resp}");
    assert!(
        d.wait_log("answered", Duration::from_secs(10)),
        "call never answered:\n{}\n--- desk:\n{}\n--- soft:\n{}",
        d.log_text(),
        desk.log(),
        soft.log()
    );
    let log = d.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("call started") && l.contains("forks=2")),
        "the call did not fork to both devices:\n{log}"
    );
    // The desk phone rang (it saw the INVITE) and was then cancelled: the daemon says so, and
    // baresip ends its incoming call.
    assert!(
        poll_until(Duration::from_secs(5), || desk
            .log()
            .contains("Incoming call")),
        "the desk phone never rang:\n{}",
        desk.log()
    );
    assert!(
        d.wait_log("CANCEL sent to a ringing fork", Duration::from_secs(5)),
        "no CANCEL to the desk phone:\n{}",
        d.log_text()
    );
    assert!(
        poll_until(Duration::from_secs(5), || desk
            .log()
            .contains("session closed")),
        "the desk phone kept ringing:\n{}",
        desk.log()
    );
    assert!(
        soft.log().contains("Call established") && !desk.log().contains("Call established"),
        "--- desk:\n{}\n--- soft:\n{}",
        desk.log(),
        soft.log()
    );

    // Media goes to the device that answered: the caller hears the softphone's 1000 Hz, not
    // the desk phone's 2000 Hz. This time the callee hangs up.
    assert!(
        poll_until(Duration::from_secs(10), || dec_bytes(&caller) > 3 * 16000
            && dec_bytes(&soft) > 3 * 16000),
        "no audio decoded:\n{}",
        d.log_text()
    );
    let resp = soft.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "hangup refused: {resp}");
    let cdr = finished_cdr(&d);
    assert!(cdr.answered, "{cdr:?}");
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"), "{cdr:?}");
    assert_eq!(cdr.hangup_side.as_deref(), Some("callee"), "{cdr:?}");
    assert!(cdr.a_to_b > 50 && cdr.b_to_a > 50, "{cdr:?}");
    assert_hears(&caller, 1000.0, 2000.0);
    assert_hears(&soft, 440.0, 2000.0);
    assert!(desk.received_audio().is_none(), "the desk phone got media");
}

/// A baresip phone dialling the IVR is answered by switchboard and hears the menu prompt
/// (played by the relay, encoded from the WAV), the proof a caller hears audio before any
/// agent is involved.
#[test]
fn a_phone_calling_the_ivr_hears_its_prompt() {
    let dir = temp_dir();
    let port = free_port();
    write_tone(&dir.path().join("menu.wav"), 700.0, 20);
    let ivr = format!(
        "\n[[ivr]]\nname = \"main\"\nextension = \"500\"\nprompt = \"{}\"\noptions = {{ \"9\" = \"hangup\" }}\n",
        dir.path().join("menu.wav").display()
    );
    let cfg = config(dir.path(), port).replace("[media]", &format!("{ivr}\n[media]"));
    let d = Daemon::start(dir.path(), port, &cfg);
    let caller = Phone::start(dir.path(), "p1002", "1002", port, 440.0, "manual");
    assert!(
        poll_until(Duration::from_secs(15), || registered(&d, "1002", 1)),
        "never registered:\n{}",
        d.log_text()
    );
    let resp = caller.command("dial", &format!("sip:500@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "dial refused: {resp}");
    assert!(
        d.wait_log("caller enters the IVR", Duration::from_secs(10)),
        "{}\n--- 1002:\n{}",
        d.log_text(),
        caller.log()
    );
    assert!(
        poll_until(Duration::from_secs(15), || dec_bytes(&caller) > 3 * 16000),
        "nothing decoded:\n{}\n--- 1002:\n{}",
        d.log_text(),
        caller.log()
    );
    let resp = caller.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "hangup refused: {resp}");
    assert_hears(&caller, 700.0, 440.0);
    let cdr = finished_cdr(&d);
    assert_eq!(cdr.callee, "ivr:main");
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"));
    assert!(cdr.answered);
    // The caller's own audio reached us (it is not relayed anywhere while in the IVR).
    assert!(cdr.a_to_b > 50, "{cdr:?}");
}
