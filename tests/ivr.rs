//! The IVR with real peers: a SIPp caller dials the IVR's extension, is answered by
//! switchboard, presses a key with RFC 4733 events and is put through to a registered
//! SIPp phone; media flows both ways once bridged.

mod common;

use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::time::Duration;

/// An 8 kHz mono WAV of a sine tone.
fn tone(path: &Path, freq: f64, secs: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(secs * 8000.0) as usize {
        let t = i as f64 / 8000.0;
        w.write_sample(((2.0 * std::f64::consts::PI * freq * t).sin() * 8000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

fn config(dir: &Path, port: u16, media_base: u16) -> String {
    tone(&dir.join("welcome.wav"), 700.0, 4.0);
    let extra = format!(
        r#"{LEGACY_AUTH}
[media]
address = "127.0.0.1"
port_min = {media_base}
port_max = {max}

[[ivr]]
name = "main"
extension = "500"
prompt = "welcome.wav"
timeout_secs = 5
options = {{ "1" = "extension:1002", "9" = "hangup" }}
"#,
        max = media_base + 99
    );
    test_config(dir, port, TRUSTING, &extra)
}

#[test]
fn sipp_caller_presses_1_and_reaches_the_extension() {
    let dir = temp_dir();
    let port = free_port();
    let media = media_base();
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, media));
    // 1002's phone: registered from the port its SIPp then answers on.
    let phone = free_port();
    {
        let sock = std::net::UdpSocket::bind(("127.0.0.1", phone)).unwrap();
        register_from(&sock, daemon.addr(), "1002", "1002pass");
    }
    let mut callee = sipp::Uas::spawn(
        dir.path(),
        "phone",
        &sipp::filled(dir.path(), "call_uas.xml", &[]),
        (phone, free_port()),
        1,
        &[],
    );
    let audio = dir.path().join("caller.ulaw");
    std::fs::write(
        &audio,
        (0..24000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let keys = dir.path().join("dtmf-1.pcap");
    pcap::dtmf(&keys, "1", 101);
    let scen = sipp::filled(
        dir.path(),
        "call_uac_ivr.xml",
        &[
            ("DTMF_PCAP", &keys.display().to_string()),
            ("AUDIO_FILE", &audio.display().to_string()),
        ],
    );
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scen,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "500", "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(
        ok,
        "caller failed:\n{log}\n--- daemon:\n{}",
        daemon.log_text()
    );
    assert_eq!(
        callee.wait(Duration::from_secs(15)),
        Some(true),
        "the phone's SIPp failed:\n{}",
        daemon.log_text()
    );
    let log = daemon.log_text();
    for want in [
        "caller enters the IVR",
        "digit=1",
        "caller leaves the IVR",
        "connected",
    ] {
        assert!(log.contains(want), "no {want:?} in the log:\n{log}");
    }
    let cdr = finished_cdr(&daemon);
    assert!(cdr.answered, "{cdr:?}");
    assert_eq!(cdr.callee, "1002");
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"));
    assert_eq!(cdr.hangup_side.as_deref(), Some("caller"));
    // After the bridge the caller's audio reached the phone and its echo came back.
    assert!(cdr.a_to_b > 50 && cdr.b_to_a > 50, "{cdr:?}");
}

#[test]
fn the_hangup_key_ends_the_call_with_its_cause() {
    let dir = temp_dir();
    let port = free_port();
    let media = media_base();
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, media));
    // SIPp presses 9 and then expects our BYE (call_uac_hungup waits for it).
    let keys = dir.path().join("dtmf-9.pcap");
    pcap::dtmf(&keys, "9", 101);
    let play = format!("<exec play_pcap_audio=\"{}\"/>", keys.display());
    let scen = sipp::filled(
        dir.path(),
        "call_uac_hungup.xml",
        &[("<exec rtp_stream=\"AUDIO_FILE,1,0\"/>", &play)],
    );
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scen,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "500", "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(
        ok,
        "caller failed:\n{log}\n--- daemon:\n{}",
        daemon.log_text()
    );
    let cdr = finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("ivr-hangup"), "{cdr:?}");
    assert_eq!(cdr.callee, "ivr:main");
    assert!(cdr.answered);
}
