//! baresip phones for tests: one instance per phone with its own config dir, driven over
//! ctrl_tcp (netstring JSON), sending a tone from a WAV (aufile) and recording what it
//! decodes (sndfile); plus tone analysis (Goertzel, RMS).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, poll_until, tool, Daemon};

pub const RATE: u32 = 8000;

/// `secs` of a sine tone at `freq` Hz, 8 kHz mono S16LE: what aufile sends as the microphone.
pub fn write_tone(path: &Path, freq: f64, secs: u32) {
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
pub fn goertzel(samples: &[f64], freq: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / RATE as f64).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = x + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / (samples.len() as f64).powi(2)
}

pub fn rms(samples: &[f64]) -> f64 {
    (samples.iter().map(|x| x * x).sum::<f64>() / samples.len().max(1) as f64).sqrt()
}

/// `secs` of a sine at `freq` Hz as raw PCMU, written to `dir/name`: what SIPp's
/// rtp_stream sends.
pub fn tone_ulaw(dir: &Path, name: &str, freq: f64, secs: u32) -> PathBuf {
    let path = dir.join(name);
    let bytes: Vec<u8> = (0..RATE * secs)
        .map(|i| {
            let t = f64::from(i) / f64::from(RATE);
            let s = (t * freq * 2.0 * std::f64::consts::PI).sin() * 8000.0;
            switchboard::media::g711::ulaw_encode(s as i16)
        })
        .collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A 16-bit WAV's spec and its left and right channels as f64 (a mono file gives its one
/// channel twice).
pub fn wav_channels(path: &Path) -> (hound::WavSpec, Vec<f64>, Vec<f64>) {
    let mut r = hound::WavReader::open(path).expect("a readable WAV");
    let spec = r.spec();
    let s: Vec<f64> = r.samples::<i16>().map(|s| f64::from(s.unwrap())).collect();
    if spec.channels == 2 {
        let l = s.iter().step_by(2).copied().collect();
        let rr = s.iter().skip(1).step_by(2).copied().collect();
        (spec, l, rr)
    } else {
        (spec, s.clone(), s)
    }
}

/// The config for a daemon that baresip phones use: MD5-only auth (baresip 1.0 answers only
/// MD5 challenges) and a media port range of this test's own; links the demo prompts into
/// `dir` (the ACD's feature-code prompts, music, messages).
pub fn phone_config(dir: &Path) -> String {
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prompts"),
        dir.join("prompts"),
    )
    .unwrap();
    let base = super::media_base();
    format!(
        "[auth]\nalgorithms = [\"MD5\"]\n\n[media]\naddress = \"127.0.0.1\"\nport_min = {base}\nport_max = {}\n",
        base + 199
    )
}

/// One baresip instance with its own config dir, killed on drop.
pub struct Phone {
    child: Child,
    pub home: PathBuf,
    ctrl_port: u16,
    pub ext: &'static str,
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
    pub fn start(
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
        // A port free_port saw free can be taken before baresip binds it (another test's
        // ephemeral port): baresip then exits at once ("init failed", 98). Start it again
        // on fresh ports rather than fail the test on someone else's timing.
        for attempt in 0..5 {
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
                     rtp_ports\t\t61000-64999\n\
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
            let mut child = Command::new(tool("baresip"))
                .arg("-f")
                .arg(&home)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start baresip");
            if let Some(status) = started(&mut child, ctrl_port) {
                eprintln!(
                    "baresip {ext} exited at start ({status}), attempt {attempt}: retrying on new ports"
                );
                continue;
            }
            return Phone {
                child,
                home,
                ctrl_port,
                ext,
            };
        }
        panic!(
            "baresip {ext} would not start:\n{}",
            std::fs::read_to_string(home.join("baresip.log")).unwrap_or_default()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("baresip.log")).unwrap_or_default()
    }

    /// Send one ctrl_tcp command and return its response (the JSON text, events skipped).
    pub fn command(&self, command: &str, params: &str) -> String {
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
    pub fn received_audio(&self) -> Option<Vec<f64>> {
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

/// Wait until `child` listens on its control port (None) or exits (its status).
fn started(child: &mut Child, ctrl_port: u16) -> Option<std::process::ExitStatus> {
    let mut exited = None;
    poll_until(Duration::from_secs(10), || {
        if let Ok(Some(status)) = child.try_wait() {
            exited = Some(status);
            return true;
        }
        TcpStream::connect(("127.0.0.1", ctrl_port)).is_ok()
    });
    exited
}

/// One netstring ("len:payload,") from `s`.
pub fn read_netstring(s: &mut TcpStream) -> Option<String> {
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

pub fn registered(d: &Daemon, ext: &str, n: usize) -> bool {
    d.log_text()
        .lines()
        .filter(|l| l.contains("registered") && l.contains(&format!("{ext}@switchboard.local")))
        .count()
        >= n
}

/// Assert the phone decoded real audio dominated by `freq` (the other phone's tone).
pub fn assert_hears(phone: &Phone, freq: f64, other: f64) {
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
pub fn dec_bytes(p: &Phone) -> u64 {
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
