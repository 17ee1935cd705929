//! Calls through the B2BUA with real peers: a SIPp caller authenticates (407) and calls out
//! through a trunk to a SIPp callee that echoes RTP; media must cross our ports both ways,
//! and the CDR must say so.

mod common;

use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A config with a trunk to `uas_port` and a route for every number to it.
fn config(dir: &Path, port: u16, uas_port: u16, extra: &str) -> String {
    let base = media_base();
    config_ports(dir, port, uas_port, extra, base, base + 399)
}

/// `config` with the RTP port range given.
fn config_ports(dir: &Path, port: u16, uas_port: u16, extra: &str, base: u16, max: u16) -> String {
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
{extra}
"#
    );
    common::test_config(dir, port, TRUSTING, &calls)
}

/// A SIPp callee running `scenario` in the background, echoing RTP.
fn uas(dir: &Path, scenario: &str, port: u16, media_port: u16) -> Child {
    let scen = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    Command::new(common::tool("sipp"))
        .args(["-sf"])
        .arg(&scen)
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-mi",
            "127.0.0.1",
            "-mp",
            &media_port.to_string(),
        ])
        .args([
            "-rtp_echo",
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "30s",
            "-timeout_error",
            "-trace_err",
        ])
        .arg("-error_file")
        .arg(dir.join(format!("{scenario}.uas.errors.log")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp uas")
}

/// The caller scenario `name` with 3 s of PCMU (a varying pattern, not silence) to stream:
/// SIPp does not expand keywords in rtp_stream, so the path is written into a copy.
fn caller_scenario_named(dir: &Path, name: &str) -> String {
    let path = dir.join("caller.ulaw");
    let bytes: Vec<u8> = (0..24000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    sipp::filled(dir, name, &[("AUDIO_FILE", &path.display().to_string())])
}

fn caller_scenario(dir: &Path) -> String {
    caller_scenario_named(dir, "call_uac.xml")
}

/// Run the caller scenario `scen` as 1001 calling `number`; SIPp must succeed.
fn call_ok(dir: &Path, daemon: &Daemon, scen: &str, number: &str) {
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir,
        scen,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", number, "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(
        ok,
        "caller failed:\n{log}\n--- daemon:\n{}",
        daemon.log_text()
    );
}

/// Wait for a SIPp callee; it must have played its whole scenario.
fn callee_ok(callee: &mut Child, daemon: &Daemon) {
    let status = callee.wait().expect("uas exit");
    assert!(
        status.success(),
        "callee failed; daemon log:\n{}",
        daemon.log_text()
    );
}

#[test]
fn sipp_call_through_a_trunk_relays_rtp_both_ways_and_leaves_a_cdr() {
    let dir = temp_dir();
    let port = free_port();
    let uas_port = free_port();
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, uas_port, ""));
    let mut callee = uas(dir.path(), "call_uas.xml", uas_port, free_port());
    let scenario = caller_scenario(dir.path());
    let media_port = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scenario,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "5551234", "-mi", "127.0.0.1", "-mp", &media_port],
    );
    assert!(
        ok,
        "caller failed:\n{log}\n--- daemon:\n{}",
        daemon.log_text()
    );
    let status = callee.wait().expect("uas exit");
    assert!(
        status.success(),
        "callee failed; daemon log:\n{}",
        daemon.log_text()
    );

    let cdr = &finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"), "{cdr:?}");
    assert_eq!(cdr.hangup_side.as_deref(), Some("caller"));
    assert_eq!((cdr.a_code, cdr.b_code), (Some(200), Some(200)));
    assert_eq!(cdr.codec.as_deref(), Some("PCMU"));
    assert!(cdr.answered);
    // The caller streamed ~2 s (100+ packets) into our A port; the callee echoed what we
    // relayed to it back into our B port: media crossed the relay in both directions.
    assert!(cdr.a_to_b > 50, "packets from the caller: {cdr:?}");
    assert!(cdr.b_to_a > 50, "packets echoed by the callee: {cdr:?}");
}

const PCMU: &str = "m=audio [media_port] RTP/AVP 0\n      a=rtpmap:0 PCMU/8000";

/// Call `number` as 1001 offering `mline`: SIPp must see `code` as the final answer.
fn call_expecting(dir: &Path, daemon: &Daemon, number: &str, mline: &str, code: &str) {
    let scen = sipp::filled(
        dir,
        "call_uac_fail.xml",
        &[("FAILCODE", code), ("MLINE", mline)],
    );
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir,
        &scen,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", number, "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(
        ok,
        "calling {number} did not end in {code}:\n{log}\n{}",
        daemon.log_text()
    );
}

#[test]
fn busy_callee_gives_the_caller_486_and_a_busy_cdr() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, uas_port, ""));
    let mut callee = uas(dir.path(), "call_uas_busy.xml", uas_port, free_port());
    call_expecting(dir.path(), &daemon, "5551234", PCMU, "486");
    assert!(callee.wait().unwrap().success());
    let cdr = finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("busy"));
    assert_eq!((cdr.a_code, cdr.b_code), (Some(486), Some(486)));
    assert!(!cdr.answered);
}

#[test]
fn no_common_codec_is_refused_with_488() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, uas_port, ""));
    let g729 = "m=audio [media_port] RTP/AVP 18\n      a=rtpmap:18 G729/8000";
    call_expecting(dir.path(), &daemon, "5551234", g729, "488");
    assert!(daemon.wait_log("no codec in common", Duration::from_secs(5)));
}

/// Only 9... and international numbers (00..., class `international`) are routed.
fn nine_and_international(dir: &Path, port: u16, uas_port: u16) -> String {
    let international = "[[dialplan.routes]]\npattern = \"_00X.\"\ntrunk = \"carrier\"\nclass = \"international\"\n";
    config(dir, port, uas_port, international).replace("pattern = \"_X.\"", "pattern = \"_9X.\"")
}

#[test]
fn unknown_extension_route_and_permission_refusals() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    // Only 9... and international numbers (00...) are routed, and 1001 may not dial the latter.
    let cfg = nine_and_international(dir.path(), port, uas_port);
    let daemon = Daemon::start(dir.path(), port, &cfg);
    call_expecting(dir.path(), &daemon, "0049301234", PCMU, "403");
    assert!(daemon.wait_log("needs permission `international`", Duration::from_secs(5)));
    call_expecting(dir.path(), &daemon, "12345", PCMU, "404");
    assert!(daemon.wait_log(
        "matches no [[dialplan.routes]] pattern",
        Duration::from_secs(5)
    ));
}

/// The defect: `%30%30...` was dialled as `3030...` (escapes dropped, not decoded), so the
/// dial plan matched something other than what the caller asked for.
#[test]
fn escaped_dial_strings_are_routed_as_decoded() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let cfg = nine_and_international(dir.path(), port, uas_port);
    let daemon = Daemon::start(dir.path(), port, &cfg);
    // 0049301234, escaped: the international route, which 1001 may not use.
    call_expecting(dir.path(), &daemon, "%30%30%34%39301234", PCMU, "403");
    assert!(daemon.wait_log("needs permission `international`", Duration::from_secs(5)));
    // A character no route can hold is refused, not dropped to make another number.
    call_expecting(dir.path(), &daemon, "9%28555%29", PCMU, "404");
    assert!(daemon.wait_log("not a dial string", Duration::from_secs(5)));
    call_expecting(dir.path(), &daemon, "9%4", PCMU, "400");
}

/// The defect: an SDP saying c=224.0.0.1 got the IVR's RTP sent to that multicast group.
#[test]
fn media_aimed_at_multicast_or_broadcast_is_refused_with_488() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, uas_port, ""));
    for addr in ["224.0.0.1", "255.255.255.255"] {
        let mline = format!(
            "m=audio [media_port] RTP/AVP 0\n      c=IN IP4 {addr}\n      a=rtpmap:0 PCMU/8000"
        );
        call_expecting(dir.path(), &daemon, "5551234", &mline, "488");
    }
    assert!(daemon.wait_log("is not a unicast address", Duration::from_secs(5)));
}

#[test]
fn kill_9_mid_call_leaves_a_cdr_closed_at_restart() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let cfg = config(dir.path(), port, uas_port, "");
    let cfg_path = dir.path().join("switchboard.toml");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let mut daemon = Daemon::start_with(dir.path(), port, &cfg_path);
    let mut callee = uas(dir.path(), "call_uas.xml", uas_port, free_port());
    let path = dir.path().join("caller.ulaw");
    std::fs::write(&path, vec![0x55u8; 8000]).unwrap();
    let scen = sipp::filled(
        dir.path(),
        "call_uac.xml",
        &[
            ("AUDIO_FILE", path.display().to_string().as_str()),
            ("milliseconds=\"2500\"", "milliseconds=\"60000\""),
        ],
    );
    let target = daemon.addr().to_string();
    let d = dir.path().to_path_buf();
    let caller = std::thread::spawn(move || {
        let mp = free_port().to_string();
        sipp::run_uac(
            &d,
            &scen,
            &target,
            &[("1001", "1001pass")],
            1,
            &[
                "-s",
                "5551234",
                "-mi",
                "127.0.0.1",
                "-mp",
                &mp,
                "-timeout",
                "8s",
            ],
        )
    });
    assert!(
        daemon.wait_log("answered", Duration::from_secs(10)),
        "{}",
        daemon.log_text()
    );
    let db = dir.path().join("switchboard.db");
    assert!(
        poll_until(Duration::from_secs(5), || cdrs(&db).len() == 1),
        "journal entry missing"
    );
    daemon.kill9();
    let _ = callee.kill();
    let _ = callee.wait();
    let _ = caller.join();
    let restarted = Daemon::start_with(dir.path(), port, &cfg_path);
    assert!(
        restarted.wait_log("system-restart", Duration::from_secs(10)),
        "{}",
        restarted.log_text()
    );
    let rows = cdrs(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].end_cause.as_deref(), Some("system-restart"));
    assert_eq!(rows[0].hangup_side.as_deref(), Some("system"));
    assert!(
        rows[0].answered,
        "the answer time was journaled? {:?}",
        rows[0]
    );
}

#[test]
fn cancel_before_answer_reaches_the_callee_and_leaves_a_cdr() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, uas_port, ""));
    let mut callee = uas(dir.path(), "call_uas_cancelled.xml", uas_port, free_port());
    let scen = sipp::filled(dir.path(), "call_uac_cancel.xml", &[]);
    // SIPp checks the caller's 200 (CANCEL) + 487 and the callee's CANCEL + ACK of its 487.
    call_ok(dir.path(), &daemon, &scen, "5551234");
    callee_ok(&mut callee, &daemon);
    let cdr = finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("caller-cancel"), "{cdr:?}");
    assert_eq!(cdr.hangup_side.as_deref(), Some("caller"));
    // The callee was ringing when the caller gave up.
    assert_eq!((cdr.a_code, cdr.b_code), (Some(487), Some(180)));
    assert!(!cdr.answered);
}

#[test]
fn bye_from_the_callee_ends_the_call_for_the_caller() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, uas_port, ""));
    let mut callee = uas(dir.path(), "call_uas_hangs_up.xml", uas_port, free_port());
    let scen = caller_scenario_named(dir.path(), "call_uac_hungup.xml");
    call_ok(dir.path(), &daemon, &scen, "5551234");
    callee_ok(&mut callee, &daemon);
    let cdr = finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"), "{cdr:?}");
    assert_eq!(cdr.hangup_side.as_deref(), Some("callee"));
    assert!(cdr.answered);
    assert!(
        cdr.a_to_b > 50 && cdr.b_to_a > 50,
        "media both ways: {cdr:?}"
    );
}

#[test]
fn hold_and_resume_pass_through_with_the_right_directions() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let daemon = Daemon::start(dir.path(), port, &config(dir.path(), port, uas_port, ""));
    // The callee checks that the relayed re-INVITEs say sendonly, then sendrecv; the caller
    // checks our answers say recvonly, then sendrecv.
    let mut callee = uas(dir.path(), "call_uas_hold.xml", uas_port, free_port());
    let scen = caller_scenario_named(dir.path(), "call_uac_hold.xml");
    call_ok(dir.path(), &daemon, &scen, "5551234");
    callee_ok(&mut callee, &daemon);
    let log = daemon.log_text();
    let hold_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("hold state changed"))
        .collect();
    assert!(
        hold_lines.len() >= 2
            && hold_lines[0].contains("held=true")
            && hold_lines[1].contains("held=false"),
        "hold then resume: {hold_lines:?}"
    );
    let cdr = finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"), "{cdr:?}");
}

/// RTP bleed: a stranger spraying our relay ports with RTP gets nothing back and is not
/// relayed, while the real call's media flows both ways.
#[test]
fn rtp_from_a_foreign_source_is_dropped() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    // Room for exactly one call: the caller's (A) port is `base`, the callee's `base + 2`.
    let base = media_base();
    let cfg = config_ports(dir.path(), port, uas_port, "", base, base + 3);
    let daemon = Daemon::start(dir.path(), port, &cfg);
    let mut callee = uas(dir.path(), "call_uas.xml", uas_port, free_port());

    // Another host (127.0.0.2) sends well-formed PCMU RTP to both relay ports until told to stop.
    let rogue = std::net::UdpSocket::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    rogue
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let spray = std::thread::spawn(move || {
        let (mut sent, mut got) = (0u32, 0u32);
        let mut buf = [0u8; 2048];
        let mut seq = 0u16;
        while !flag.load(Ordering::SeqCst) {
            let mut pkt = vec![0x80, 0x00];
            pkt.extend_from_slice(&seq.to_be_bytes());
            pkt.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            pkt.extend_from_slice(&0xdead_beefu32.to_be_bytes());
            pkt.extend_from_slice(&[0xffu8; 160]);
            for p in [base, base + 2] {
                if rogue.send_to(&pkt, ("127.0.0.1", p)).is_ok() {
                    sent += 1;
                }
            }
            seq = seq.wrapping_add(1);
            // The read timeout paces the loop (~20 ms) and catches anything sent back.
            if rogue.recv_from(&mut buf).is_ok() {
                got += 1;
            }
        }
        (sent, got)
    });

    let scen = caller_scenario(dir.path());
    call_ok(dir.path(), &daemon, &scen, "5551234");
    callee_ok(&mut callee, &daemon);
    let cdr = finished_cdr(&daemon);
    stop.store(true, Ordering::SeqCst);
    let (sent, got) = spray.join().unwrap();
    assert!(sent > 50, "the stranger sent {sent} packets");
    assert_eq!(got, 0, "the stranger received media");
    assert!(
        cdr.a_to_b > 50 && cdr.b_to_a > 50,
        "the call's media: {cdr:?}"
    );
    // Only the caller's own stream was counted (~125 packets in 2.5 s), not the spray.
    assert!(
        cdr.a_to_b < 200,
        "foreign packets counted as the caller's: {cdr:?}"
    );
    assert!(
        daemon.wait_log(
            "dropped RTP from unexpected sources",
            Duration::from_secs(5)
        ),
        "{}",
        daemon.log_text()
    );
}

/// An extension registered from two devices: both ring, the first to answer gets the call,
/// the other is CANCELled (and its 487 ACKed).
#[test]
fn both_devices_of_an_extension_ring_and_the_loser_is_cancelled() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let cfg = config(dir.path(), port, uas_port, "")
        .replace(LEGACY_AUTH, "[auth]\nalgorithms = [\"MD5\"]\n");
    let daemon = Daemon::start(dir.path(), port, &cfg);
    let (desk, mobile) = (free_port(), free_port());
    for p in [desk, mobile] {
        let sock = std::net::UdpSocket::bind(("127.0.0.1", p)).unwrap();
        register_from(&sock, daemon.addr(), "1002", "1002pass");
    }
    let mut answers = uas(dir.path(), "call_uas.xml", desk, free_port());
    let mut rings = uas(dir.path(), "call_uas_cancelled.xml", mobile, free_port());
    let scen = caller_scenario(dir.path());
    call_ok(dir.path(), &daemon, &scen, "1002");
    callee_ok(&mut answers, &daemon);
    callee_ok(&mut rings, &daemon);
    assert!(daemon.wait_log("forks=2", Duration::from_secs(1)));
    let cdr = finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"), "{cdr:?}");
    assert_eq!(cdr.b_code, Some(200));
    assert!(
        cdr.a_to_b > 50 && cdr.b_to_a > 50,
        "media both ways: {cdr:?}"
    );
}

/// A call whose media never flows (both phones gone silent, e.g. crashed behind NAT) is
/// reclaimed after `rtp_timeout_secs`: both sides get BYE, the CDR says why.
#[test]
fn a_call_without_rtp_is_hung_up_after_the_rtp_timeout() {
    let dir = temp_dir();
    let (port, uas_port) = (free_port(), free_port());
    let cfg = config(dir.path(), port, uas_port, "")
        .replace("[media]\n", "[media]\nrtp_timeout_secs = 2\n");
    let daemon = Daemon::start(dir.path(), port, &cfg);
    // The callee takes a BYE whoever sends it; the caller sends no RTP and waits for ours.
    let mut callee = uas(dir.path(), "call_uas.xml", uas_port, free_port());
    let scen = sipp::filled(
        dir.path(),
        "call_uac_hungup.xml",
        &[("<exec rtp_stream=\"AUDIO_FILE,1,0\"/>", "")],
    );
    call_ok(dir.path(), &daemon, &scen, "5551234");
    callee_ok(&mut callee, &daemon);
    let cdr = finished_cdr(&daemon);
    assert_eq!(cdr.end_cause.as_deref(), Some("rtp-timeout"), "{cdr:?}");
    assert_eq!(cdr.hangup_side.as_deref(), Some("system"));
    assert!(cdr.answered);
    assert_eq!((cdr.a_to_b, cdr.b_to_a), (0, 0));
}
