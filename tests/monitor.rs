//! Supervisor monitoring with real phones: a baresip caller (440 Hz) waits in a queue and
//! is connected to a baresip agent (1000 Hz); a baresip supervisor (2000 Hz) dials *55 and
//! the agent's id, listens, then whispers (key 2), then barges (key 3). Each phone records
//! what it hears; the test checks who heard whom in each phase.

mod common;

use common::baresip::*;
use common::*;

use std::path::Path;
use std::time::Duration;

const CALLER: f64 = 440.0;
const AGENT: f64 = 1000.0;
const SUPERVISOR: f64 = 2000.0;

fn config(dir: &Path, port: u16) -> String {
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prompts"),
        dir.join("prompts"),
    )
    .unwrap();
    write_tone(&dir.join("short.wav"), 700.0, 1);
    let base = media_base();
    let extra = format!(
        r#"[auth]
algorithms = ["MD5"]

[media]
address = "127.0.0.1"
port_min = {base}
port_max = {max}

[[ivr]]
name = "main"
extension = "500"
prompt = "short.wav"
timeout_secs = 1
max_invalid = 0
on_failure = "queue:sales"
options = {{ "9" = "hangup" }}

[[queues]]
name = "sales"

[[agents]]
id = "1002"
name = "Bob"
queues = [{{ queue = "sales" }}]
"#,
        max = base + 199
    );
    test_config(dir, port, TRUSTING, &extra).replace(
        "password = \"1003pass\"\n",
        "password = \"1003pass\"\npermissions = [\"national\", \"monitor\"]\n",
    )
}

/// The samples a phone has decoded so far (sndfile's file, header skipped: it is only
/// complete once the call ends).
fn heard(p: &Phone) -> Vec<f64> {
    let Ok(dir) = std::fs::read_dir(p.home.join("snd")) else {
        return Vec::new();
    };
    // The newest recording: an agent's *71 login call left one of its own.
    let Some(path) = dir
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .max_by_key(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.created().or_else(|_| m.modified()))
                .ok()
        })
    else {
        return Vec::new();
    };
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes
        .windows(4)
        .take(512)
        .position(|w| w == b"data")
        .map_or(44, |i| i + 8);
    bytes[start.min(bytes.len())..]
        .chunks_exact(2)
        .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])))
        .collect()
}

/// Power of each frequency in what `p` heard from sample `from` on.
struct Segment {
    caller: f64,
    agent: f64,
    supervisor: f64,
}

fn segment(p: &Phone, from: usize) -> Segment {
    let s = heard(p);
    let tail = &s[from.min(s.len())..];
    Segment {
        caller: goertzel(tail, CALLER),
        agent: goertzel(tail, AGENT),
        supervisor: goertzel(tail, SUPERVISOR),
    }
}

/// Wait until `p` has decoded `secs` more seconds past sample `from`.
fn wait_audio(p: &Phone, from: usize, secs: f64) {
    let want = from + (secs * 8000.0) as usize;
    assert!(
        poll_until(Duration::from_secs(15), || heard(p).len() > want),
        "{} stopped hearing audio:\n{}",
        p.ext,
        p.log()
    );
}

/// `a` clearly present, `b` not: at least 100 times stronger. (Measured: a tone someone
/// hears has a power of ~1.6e7 here, one they do not hear 0-4.)
fn louder(a: f64, b: f64) -> bool {
    a > 100.0 * b.max(1e-9)
}

#[test]
fn supervisor_listens_then_whispers_then_barges() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(dir.path(), port, &config(dir.path(), port));
    let caller = Phone::start(dir.path(), "caller", "1001", port, CALLER, "manual");
    let agent = Phone::start(dir.path(), "agent", "1002", port, AGENT, "auto");
    let sup = Phone::start(dir.path(), "sup", "1003", port, SUPERVISOR, "manual");
    assert!(
        poll_until(Duration::from_secs(15), || ["1001", "1002", "1003"]
            .iter()
            .all(|e| registered(&d, e, 1))),
        "phones never registered:\n{}",
        d.log_text()
    );
    let resp = agent.command("dial", &format!("sip:*71@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(d.wait_log("from=LoggedOut to=Ready", Duration::from_secs(10)));
    // Wait for the login call to be over before the agent can take a call.
    assert!(d.wait_log("cause=\"feature-code\"", Duration::from_secs(10)));

    let resp = caller.command("dial", &format!("sip:500@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        d.wait_log("connected", Duration::from_secs(15)),
        "caller never reached the agent:\n{}",
        d.log_text()
    );

    // Listen.
    let resp = sup.command("dial", &format!("sip:*551002@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        d.wait_log("monitoring started (listen)", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    // Marks are taken after the mode is in effect, plus half a second of slack.
    let mark = |p: &Phone| heard(p).len() + 4000;
    let (sm, am, cm) = (mark(&sup), mark(&agent), mark(&caller));
    for (p, m) in [(&sup, sm), (&agent, am), (&caller, cm)] {
        wait_audio(p, m, 2.0);
    }
    let (s, a, c) = (segment(&sup, sm), segment(&agent, am), segment(&caller, cm));
    assert!(
        louder(s.caller, s.supervisor) && louder(s.agent, s.supervisor),
        "listening, the supervisor hears both parties"
    );
    assert!(
        louder(a.caller, a.supervisor),
        "listen: the agent does not hear the supervisor"
    );
    assert!(
        louder(c.agent, c.supervisor),
        "listen: the caller does not hear the supervisor"
    );

    // Whisper: the agent hears the supervisor, the caller still does not.
    let resp = sup.command("sndcode", "2");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        d.wait_log("mode=Whisper", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    let (am, cm, sm) = (mark(&agent), mark(&caller), mark(&sup));
    for (p, m) in [(&sup, sm), (&agent, am), (&caller, cm)] {
        wait_audio(p, m, 2.0);
    }
    let (a, c, s) = (segment(&agent, am), segment(&caller, cm), segment(&sup, sm));
    assert!(
        a.supervisor > a.caller / 10.0 && louder(a.caller, 0.0),
        "whisper: the agent hears the supervisor and the caller"
    );
    assert!(
        louder(c.agent, c.supervisor),
        "whisper: the caller does not hear the supervisor"
    );
    assert!(
        louder(s.caller, s.supervisor),
        "whisper: the supervisor still hears the caller"
    );

    // Barge: the caller hears the supervisor too.
    let resp = sup.command("sndcode", "3");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        d.wait_log("mode=Barge", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    let (am, cm) = (mark(&agent), mark(&caller));
    for (p, m) in [(&agent, am), (&caller, cm)] {
        wait_audio(p, m, 2.0);
    }
    let (a, c) = (segment(&agent, am), segment(&caller, cm));
    assert!(
        c.supervisor > c.agent / 10.0 && louder(c.agent, 0.0),
        "barge: the caller hears the supervisor and the agent"
    );
    assert!(
        a.supervisor > a.caller / 10.0,
        "barge: the agent hears the supervisor"
    );

    // The customer hangs up: the supervisor's session ends with the call.
    let resp = caller.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    assert!(
        d.wait_log("monitored-call-ended", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
}
