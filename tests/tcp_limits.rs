//! SIP over TCP under abuse, against the real daemon: a connection flood from many sources
//! meets the global cap (kept below the descriptor limit) instead of filling the descriptor
//! table; when descriptors run out anyway the accept loop backs off and logs once per
//! period; a client trickling a message is cut off; a banned source cannot connect.

mod common;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use common::*;

/// A TCP connection to `to` from `from` (Linux routes all of 127/8 to loopback, so each
/// address is a distinct source without any setup). Blocking, no read timeout.
async fn connect(from: Ipv4Addr, to: SocketAddr) -> io::Result<TcpStream> {
    let s = tokio::net::TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((from, 0)))?;
    let stream = tokio::time::timeout(Duration::from_secs(5), s.connect(to))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    let std = stream.into_std()?;
    std.set_nonblocking(false)?;
    Ok(std)
}

fn connect_from(
    rt: &tokio::runtime::Runtime,
    from: Ipv4Addr,
    to: SocketAddr,
) -> io::Result<TcpStream> {
    rt.block_on(connect(from, to))
}

/// `per_source` connections from each of `sources`, made at once: a daemon that stops
/// accepting fills its backlog, and the rest would each wait out a connect timeout in turn.
/// Returns those made within the timeout.
fn flood_from(
    rt: &tokio::runtime::Runtime,
    sources: &[Ipv4Addr],
    per_source: usize,
    to: SocketAddr,
) -> Vec<TcpStream> {
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for &from in sources {
            for _ in 0..per_source {
                set.spawn(connect(from, to));
            }
        }
        let mut flood = Vec::new();
        while let Some(joined) = set.join_next().await {
            // One the test cannot make (a full backlog) is simply not part of the flood.
            if let Ok(Ok(stream)) = joined {
                flood.push(stream);
            }
        }
        flood
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Whether the daemon has closed or reset `s` (looked at without blocking).
fn closed(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 256];
    let gone = match (&*s).read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).unwrap();
    gone
}

/// One SIP answer read from `s` (header and Content-Length body); empty if the connection
/// closed or nothing came within five seconds.
fn read_answer(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return String::new(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn tcp_options(call_id: &str, local: SocketAddr) -> String {
    options_request(call_id, local).replace("SIP/2.0/UDP", "SIP/2.0/TCP")
}

/// OPTIONS over a new TCP connection from `from`; true if answered 200.
fn tcp_options_answered(
    rt: &tokio::runtime::Runtime,
    d: &Daemon,
    from: Ipv4Addr,
    id: &str,
) -> bool {
    let Ok(mut s) = connect_from(rt, from, d.addr()) else {
        return false;
    };
    let local = s.local_addr().unwrap();
    if s.write_all(tcp_options(id, local).as_bytes()).is_err() {
        return false;
    }
    read_answer(&mut s).starts_with("SIP/2.0 200")
}

fn udp_options_answered(d: &Daemon, id: &str) -> bool {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let local = sock.local_addr().unwrap();
    sock.send_to(options_request(id, local).as_bytes(), d.addr())
        .unwrap();
    let mut buf = [0u8; 4096];
    sock.recv_from(&mut buf)
        .is_ok_and(|(n, _)| buf[..n].starts_with(b"SIP/2.0 200"))
}

/// A digest REGISTER of 1001 over a new TCP connection from 127.0.0.1; its final answer.
fn tcp_register(rt: &tokio::runtime::Runtime, d: &Daemon) -> String {
    let mut s = connect_from(rt, Ipv4Addr::LOCALHOST, d.addr()).expect("connect");
    let local = s.local_addr().unwrap();
    register_via(local, "TCP", "1001", "1001pass", |msg| {
        s.write_all(msg.as_bytes()).unwrap();
        read_answer(&mut s)
    })
}

fn lines_with(log: &str, needle: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// The number after `name=` in `line`.
fn field(line: &str, name: &str) -> Option<u64> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Another process's RLIMIT_NOFILE: set to `new` (if given); returns the one before.
fn prlimit_open_files(pid: u32, new: Option<libc::rlimit>) -> libc::rlimit {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let new_ptr = new
        .as_ref()
        .map_or(std::ptr::null(), |n| n as *const libc::rlimit);
    // SAFETY: prlimit reads `new` (or nothing) and writes `old`, both alive for the call.
    let rc = unsafe { libc::prlimit(pid as libc::pid_t, libc::RLIMIT_NOFILE, new_ptr, &mut old) };
    assert_eq!(rc, 0, "prlimit: {}", io::Error::last_os_error());
    old
}

fn open_files_of(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64
}

/// Item 2: with 256 descriptors, a flood of 480 connections from eight sources (each under
/// the per-source cap) gets the derived global cap, never "Too many open files"; the daemon
/// keeps answering, refusals are logged once per period, and TCP works again afterwards.
#[test]
fn a_connection_flood_meets_the_global_cap_before_the_descriptor_limit() {
    const LIMIT: u64 = 256;
    let dir = temp_dir();
    let port = free_port();
    let config = dir.path().join("switchboard.toml");
    let text = test_config(dir.path(), port, TRUSTING, "[calls]\nmax_calls = 8\n");
    std::fs::write(&config, text).unwrap();
    let d = Daemon::start_prepared(dir.path(), port, &config, |cmd| {
        // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: LIMIT,
                    rlim_max: LIMIT,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let rt = runtime();
    let sources: Vec<_> = (2..10).map(|n| Ipv4Addr::new(127, 0, 0, n)).collect();
    let flood = flood_from(&rt, &sources, 60, d.addr());
    // Either the daemon refuses over its cap, or (before the cap existed) its descriptor
    // table fills: stop at the first sign of either (a spinning accept loop grows the log
    // by megabytes a second).
    let decided = poll_until(Duration::from_secs(30), || {
        let log = d.log_text();
        log.contains("global tcp connection limit reached") || log.contains("Too many open files")
    });
    let log = d.log_text();
    assert!(decided, "the flood was neither refused nor fatal:\n{log}");
    assert!(
        !log.contains("Too many open files"),
        "the flood filled the descriptor table:\n{}",
        lines_with(&log, "Too many open files")
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let cap = lines_with(&log, "tcp connection limits")
        .first()
        .and_then(|l| field(l, "max_connections"))
        .expect("the daemon logs its cap") as usize;
    assert!(
        cap < LIMIT as usize,
        "cap {cap} is not below the limit {LIMIT}"
    );
    // Every connection over the cap is reset; those under it stay open.
    let settled = poll_until(Duration::from_secs(30), || {
        flood.iter().filter(|s| !closed(s)).count() == cap
    });
    let open = flood.iter().filter(|s| !closed(s)).count();
    assert!(
        settled,
        "{open} flood connections open, cap {cap}, of {}",
        flood.len()
    );
    assert!(
        udp_options_answered(&d, "during-flood"),
        "UDP unanswered under the flood"
    );
    let log = d.log_text();
    let refusals = lines_with(&log, "global tcp connection limit reached");
    assert!(
        refusals.len() <= 3,
        "{} refusal lines for {} refusals: not rate-limited",
        refusals.len(),
        flood.len() - cap
    );
    drop(flood);
    // Once the flood is gone its slots are free again: a phone registers over TCP.
    assert!(
        poll_until(Duration::from_secs(30), || tcp_options_answered(
            &rt,
            &d,
            Ipv4Addr::LOCALHOST,
            "after-flood"
        )),
        "TCP unanswered after the flood:\n{}",
        d.log_text()
    );
    let answer = tcp_register(&rt, &d);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
}

/// Item 2: when descriptors run out anyway (the limit is lowered under the running daemon),
/// the accept loop backs off instead of spinning on EMFILE: the second "accept failed" line
/// counts the failures of ten seconds, a handful, not hundreds of thousands. UDP is answered
/// meanwhile, and TCP works again once descriptors are back.
#[test]
fn accept_backs_off_when_descriptors_run_out() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, ""),
    );
    let pid = d.child.id();
    // A soft limit a few descriptors above what it holds (lowering needs no privilege, and
    // the hard limit stays, so the old soft limit can be put back).
    let old = prlimit_open_files(pid, None);
    let low = libc::rlimit {
        rlim_cur: open_files_of(pid) + 4,
        rlim_max: old.rlim_max,
    };
    prlimit_open_files(pid, Some(low));
    let rt = runtime();
    let flood = flood_from(&rt, &[Ipv4Addr::LOCALHOST], 40, d.addr());
    assert!(
        d.wait_log("tcp accept failed", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    for i in 0..5 {
        assert!(
            udp_options_answered(&d, &format!("emfile-{i}")),
            "UDP unanswered"
        );
    }
    let failures = lines_with(&d.log_text(), "tcp accept failed");
    assert!(
        failures.len() <= 3,
        "{} accept-failure lines: the accept loop spins and logs each failure",
        failures.len()
    );
    // The next line comes a period later and counts what it held back.
    assert!(
        poll_until(Duration::from_secs(60), || lines_with(
            &d.log_text(),
            "tcp accept failed"
        )
        .len()
            >= 2),
        "{}",
        d.log_text()
    );
    let second = lines_with(&d.log_text(), "tcp accept failed")[1].clone();
    let suppressed = field(&second, "suppressed").expect("the line counts the rest");
    assert!(
        suppressed < 100,
        "{suppressed} accept failures in one period: no back-off\n{second}"
    );
    prlimit_open_files(pid, Some(old));
    drop(flood);
    assert!(
        poll_until(Duration::from_secs(30), || tcp_options_answered(
            &rt,
            &d,
            Ipv4Addr::LOCALHOST,
            "after-emfile"
        )),
        "TCP unanswered once descriptors are back:\n{}",
        d.log_text()
    );
    let answer = tcp_register(&rt, &d);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
}

/// A REGISTER long enough that trickling it takes minutes.
fn long_register(local: SocketAddr) -> String {
    format!(
        "REGISTER sip:switchboard.local SIP/2.0\r\n\
         Via: SIP/2.0/TCP {local};branch=z9hG4bK-slow\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@switchboard.local>;tag=slow\r\n\
         To: <sip:1001@switchboard.local>\r\n\
         Call-ID: slow-{port}\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:1001@{local}>\r\n\
         X-Padding: {pad}\r\n\
         Content-Length: 0\r\n\r\n",
        port = local.port(),
        pad = "x".repeat(400),
    )
}

/// Write `bytes` one at a time, five a second, until the daemon closes the connection.
/// Returns how many it took, or None if it took them all (or 60 s passed).
fn trickle(s: &mut TcpStream, bytes: &[u8]) -> Option<usize> {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 1024];
    for (i, b) in bytes.iter().enumerate() {
        if Instant::now() > deadline {
            return None;
        }
        if s.write_all(&[*b]).is_err() {
            return Some(i);
        }
        // The read is also the pacing: a fifth of a second per byte.
        match s.read(&mut buf) {
            Ok(0) => return Some(i + 1),
            Ok(n) => panic!("answered: {}", String::from_utf8_lossy(&buf[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(i + 1),
        }
    }
    None
}

const SLOW: &str = "[sip.tcp]\nmessage_timeout_secs = 2\nmessage_timeout_max_secs = 4\n";

/// Item 3: a header trickled a byte at a time no longer keeps the connection: the message
/// deadline runs from its first byte, whatever arrives after.
#[test]
fn a_trickled_header_is_cut_off() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, SLOW),
    );
    let mut s = TcpStream::connect(d.addr()).unwrap();
    let msg = long_register(s.local_addr().unwrap());
    let taken = trickle(&mut s, msg.as_bytes());
    assert!(
        taken.is_some(),
        "a {}-byte REGISTER trickled for a minute kept its connection",
        msg.len()
    );
    assert!(
        d.wait_log("tcp message not completed in time", Duration::from_secs(5)),
        "{}",
        d.log_text()
    );
}

/// Item 3: a body trickled after a prompt header is cut off the same way (the deadline is
/// for the whole message).
#[test]
fn a_trickled_body_is_cut_off() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, SLOW),
    );
    let mut s = TcpStream::connect(d.addr()).unwrap();
    let body = "v=0\r\n".repeat(200);
    let head = long_register(s.local_addr().unwrap()).replace(
        "Content-Length: 0",
        &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}",
            body.len()
        ),
    );
    s.write_all(head.as_bytes()).unwrap();
    let taken = trickle(&mut s, body.as_bytes());
    assert!(taken.is_some(), "a trickled body kept its connection");
}

/// Between messages only the idle timeout applies: a connection quiet for longer than the
/// message deadline still serves the next message.
#[test]
fn a_quiet_connection_outlives_the_message_deadline() {
    let dir = temp_dir();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, SLOW),
    );
    let mut s = TcpStream::connect(d.addr()).unwrap();
    let local = s.local_addr().unwrap();
    s.write_all(tcp_options("quiet-1", local).as_bytes())
        .unwrap();
    assert!(read_answer(&mut s).starts_with("SIP/2.0 200"));
    // Longer than message_timeout_max_secs, well short of idle_timeout_secs.
    std::thread::sleep(Duration::from_secs(5));
    s.write_all(tcp_options("quiet-2", local).as_bytes())
        .unwrap();
    let answer = read_answer(&mut s);
    assert!(
        answer.starts_with("SIP/2.0 200"),
        "{answer}\n{}",
        d.log_text()
    );
}

/// The daemon closes `s` (within ten seconds, without sending anything).
fn expect_closed(s: &mut TcpStream, what: &str) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!(
            "{what} was answered: {}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => panic!("{what} stayed open: {e}"),
    }
}

/// Item 3: a source banned by the rate limiter (over UDP) cannot open TCP connections, and
/// its open one closes at its next message; other sources are unaffected.
#[test]
fn a_banned_source_cannot_hold_tcp_connections() {
    let dir = temp_dir();
    let port = free_port();
    // Loopback is not trusted here; the bans hit 127.0.0.3 only (the harness polls from
    // 127.0.0.1).
    let security = "[security]\nrate_limit = { requests = 5, window_secs = 10, ban_secs = 300 }\n";
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, security, ""),
    );
    let rt = runtime();
    let banned = Ipv4Addr::new(127, 0, 0, 3);
    let mut before = connect_from(&rt, banned, d.addr()).unwrap();
    let sock = UdpSocket::bind((banned, 0)).unwrap();
    let local = sock.local_addr().unwrap();
    for i in 0..10 {
        sock.send_to(
            options_request(&format!("ban-{i}"), local).as_bytes(),
            d.addr(),
        )
        .unwrap();
    }
    let ban_logged = poll_until(Duration::from_secs(10), || {
        d.log_text()
            .lines()
            .any(|l| l.contains("source banned") && l.contains("127.0.0.3"))
    });
    assert!(ban_logged, "{}", d.log_text());
    match connect_from(&rt, banned, d.addr()) {
        Ok(mut after) => expect_closed(&mut after, "a banned source's new connection"),
        // Reset before the connect call returned: closed at once indeed.
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("connect: {e}"),
    }
    assert!(d.wait_log(
        "banned source; tcp connection refused",
        Duration::from_secs(5)
    ));
    // The connection made before the ban closes at its next message, unanswered.
    let _ = before.write_all(tcp_options("ban-tcp", before.local_addr().unwrap()).as_bytes());
    expect_closed(&mut before, "a banned source's open connection");
    // Another source is served as usual.
    assert!(tcp_options_answered(
        &rt,
        &d,
        Ipv4Addr::new(127, 0, 0, 4),
        "not-banned"
    ));
}
