//! Shared test support: start the real daemon on ephemeral loopback ports, find tools, poll
//! with deadlines.
#![allow(dead_code)]

pub mod api;
pub mod baresip;
mod cdr;
pub mod pcap;
// Not every test crate reads CDRs (the crate-wide dead_code allow does not cover imports).
#[allow(unused_imports)]
pub use cdr::{cdrs, finished_cdr, CdrRow};

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static MEDIA_BLOCK: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

/// The first port of an even RTP range of 400 ports of this test's own. Below the kernel's
/// ephemeral range (32768+), so no SIPp, baresip or `free_port` socket can ever land in a
/// range our daemon binds relay ports in (tests of one binary run in parallel).
pub fn media_base() -> u16 {
    let block = MEDIA_BLOCK.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    10000 + (block * 400) % 22000
}

/// A UDP+TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair found");
}

/// Users every test config carries: extension, password.
pub const USERS: &[(&str, &str)] = &[
    ("1001", "1001pass"),
    ("1002", "1002pass"),
    ("1003", "1003pass"),
    ("1004", "1004pass"),
];

/// A config for tests: loopback UDP+TCP on `port`, the demo users, a store in `dir`.
/// `extra` is appended verbatim (more sections or overrides in sections not emitted here).
pub fn test_config(dir: &Path, port: u16, security: &str, extra: &str) -> String {
    let mut users = String::new();
    for (ext, pw) in USERS {
        users.push_str(&format!(
            "[[users]]\nextension = \"{ext}\"\ndisplay_name = \"User {ext}\"\npassword = \"{pw}\"\n\n"
        ));
    }
    format!(
        r#"[sip]
domain = "switchboard.local"
listen = [{{ transport = "udp", addr = "127.0.0.1:{port}" }}, {{ transport = "tcp", addr = "127.0.0.1:{port}" }}]

[store]
path = "{store}"

[log]
level = "debug"

{security}

{extra}

{users}"#,
        store = dir.join("switchboard.db").display(),
    )
}

/// SIPp 3.6 and sipsak implement only MD5 and read only the first challenge: offer MD5 first
/// for them (both challenges are still offered).
pub const LEGACY_AUTH: &str = "[auth]\nalgorithms = [\"MD5\", \"SHA-256\"]\n";

/// Security settings that keep load from our own tests below the ban thresholds.
pub const TRUSTING: &str = r#"[security]
trusted = ["127.0.0.0/8"]
"#;

pub struct Daemon {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub log: Arc<Mutex<String>>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_switchboard")
}

impl Daemon {
    /// Write `config_text` into `dir` and start the daemon on it; returns once it answers OPTIONS.
    pub fn start(dir: &Path, port: u16, config_text: &str) -> Daemon {
        let config = dir.join("switchboard.toml");
        std::fs::write(&config, config_text).unwrap();
        Self::start_with(dir, port, &config)
    }

    pub fn start_with(dir: &Path, port: u16, config: &Path) -> Daemon {
        Self::start_prepared(dir, port, config, |_| {})
    }

    /// As `start_with`, with `prepare` adjusting the command first (e.g. a `pre_exec` that
    /// lowers a resource limit).
    pub fn start_prepared(
        dir: &Path,
        port: u16,
        config: &Path,
        prepare: impl FnOnce(&mut Command),
    ) -> Daemon {
        let mut cmd = Command::new(bin());
        cmd.args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        prepare(&mut cmd);
        let mut child = cmd.spawn().expect("start switchboard");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        // Also on disk, so a failure reported by a helper without the daemon at hand can
        // still show what it did.
        let mut file = std::fs::File::create(dir.join("daemon.log")).ok();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(f) = file.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let d = Daemon {
            child,
            port,
            dir: dir.to_path_buf(),
            config: config.to_path_buf(),
            log,
        };
        d.wait_ready();
        d
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn wait_ready(&self) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut n = 0;
        while Instant::now() < deadline {
            n += 1;
            let msg = options_request(&format!("ready-{n}"), sock.local_addr().unwrap());
            let _ = sock.send_to(msg.as_bytes(), self.addr());
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                if String::from_utf8_lossy(&buf[..len]).starts_with("SIP/2.0 200") {
                    return;
                }
            }
        }
        panic!("daemon did not become ready; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Poll the log until it contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        poll_until(timeout, || self.log_text().contains(needle))
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Call `f` until it is true or the deadline passes (polling, never a fixed sleep).
pub fn poll_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn options_request(call_id: &str, local: SocketAddr) -> String {
    format!(
        "OPTIONS sip:switchboard.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@127.0.0.1>;tag=probe\r\n\
         To: <sip:switchboard.local>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Path of an external tool, or a panic that says how to get it. The README test command
/// installs them; a missing tool is a failure, not a skip.
pub fn tool(name: &str) -> String {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    found.unwrap_or_else(|| panic!("{name} is not installed: run scripts/test.sh (it installs sip-tester, baresip and sipsak)"))
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("switchboard-test")
        .tempdir()
        .unwrap()
}

/// REGISTER `ext` (MD5 digest, qop=auth) from `sock`, so the binding's contact and source are
/// `sock`'s address: a SIPp UAS started on that port afterwards then receives the calls. (SIPp
/// cannot register and then take an INVITE with a new Call-ID in one scenario.)
pub fn register_from(sock: &UdpSocket, registrar: SocketAddr, ext: &str, password: &str) {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ok = register_via(sock.local_addr().unwrap(), "UDP", ext, password, |msg| {
        sock.send_to(msg.as_bytes(), registrar).unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).expect("registrar answers");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    assert!(ok.starts_with("SIP/2.0 200"), "REGISTER refused:\n{ok}");
}

/// REGISTER `ext` from `local` over `transport` ("UDP", "TCP"): `exchange` sends a request
/// and returns the answer. Returns the answer to the authenticated REGISTER.
pub fn register_via(
    local: SocketAddr,
    transport: &str,
    ext: &str,
    password: &str,
    mut exchange: impl FnMut(String) -> String,
) -> String {
    use md5::{Digest, Md5};
    let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    let request = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:switchboard.local SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch=z9hG4bK-reg{cseq}-{port};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{ext}@switchboard.local>;tag=reg{port}\r\n\
             To: <sip:{ext}@switchboard.local>\r\n\
             Call-ID: reg-{ext}-{port}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{ext}@{local}>\r\n\
             Expires: 600\r\n{auth}\
             Content-Length: 0\r\n\r\n",
            port = local.port()
        )
    };
    let challenge = exchange(request(1, ""));
    let line = challenge
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("MD5"))
        .unwrap_or_else(|| panic!("no MD5 challenge:\n{challenge}"));
    let param = |name: &str| {
        let start = line.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        line[start..start + line[start..].find('"').unwrap()].to_string()
    };
    let (realm, nonce) = (param("realm"), param("nonce"));
    let uri = "sip:switchboard.local";
    let ha1 = md5(format!("{ext}:{realm}:{password}"));
    let ha2 = md5(format!("REGISTER:{uri}"));
    let cnonce = "0a4f113b";
    let response = md5(format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
    let auth = format!(
        "Authorization: Digest username=\"{ext}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"{cnonce}\"\r\n"
    );
    exchange(request(2, &auth))
}
