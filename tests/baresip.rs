//! baresip, an independent SIP user agent with its own digest implementation, registers with
//! its own config and stays registered through refreshes.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

struct Baresip(std::process::Child);

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn baresip_registers_and_refreshes() {
    let dir = temp_dir();
    let port = free_port();
    // Short registrations so the refresh happens within the test. baresip 1.0 (libre 1.1)
    // aborts authentication when any challenge names an algorithm it lacks (SHA-256), so
    // this site offers MD5 only: the documented setting for such phones.
    let registrar = "[registrar]\nmin_expires = 2\ndefault_expires = 4\nmax_expires = 3600\n\n[auth]\nalgorithms = [\"MD5\"]\n";
    let d = Daemon::start(
        dir.path(),
        port,
        &test_config(dir.path(), port, TRUSTING, registrar),
    );

    let home = dir.path().join("baresip");
    std::fs::create_dir_all(&home).unwrap();
    // A port free_port saw free can be taken before baresip binds it (another test's
    // ephemeral port): baresip then exits at once ("init failed"). Start it again on a
    // fresh port rather than fail on someone else's timing.
    let mut ua = None;
    for attempt in 0..5 {
        let sip_port = free_port();
        std::fs::write(
            home.join("config"),
            format!(
                "poll_method\t\tepoll\n\
                 sip_listen\t\t127.0.0.1:{sip_port}\n\
                 module_path\t\t/usr/lib/baresip/modules\n\
                 module\t\t\tg711.so\n\
                 module_app\t\taccount.so\n\
                 audio_player\t\taubridge,x\n\
                 audio_source\t\taubridge,x\n\
                 audio_alert\t\taubridge,x\n"
            ),
        )
        .unwrap();
        std::fs::write(
            home.join("accounts"),
            format!(
                "\"Dave Desk\" <sip:1004@127.0.0.1:{port};transport=udp>;auth_pass=1004pass;regint=4\n"
            ),
        )
        .unwrap();
        let mut child = Baresip(
            Command::new(tool("baresip"))
                .arg("-f")
                .arg(&home)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start baresip"),
        );
        // Either it registers or it exits at start.
        let mut exited = None;
        poll_until(Duration::from_secs(20), || {
            exited = child.0.try_wait().ok().flatten();
            exited.is_some() || d.log_text().contains("1004@switchboard.local")
        });
        if let Some(status) = exited {
            eprintln!("baresip exited at start ({status}), attempt {attempt}: new port");
            continue;
        }
        ua = Some(child);
        break;
    }
    let _ua = ua.expect("baresip would not start on 5 ports");
    // The first registration, then at least two refreshes of the same binding.
    let registered = |n: usize| {
        d.log_text()
            .lines()
            .filter(|l| l.contains("registered") && l.contains("1004@switchboard.local"))
            .count()
            >= n
    };
    assert!(
        poll_until(Duration::from_secs(20), || registered(1)),
        "baresip never registered:\n{}",
        d.log_text()
    );
    assert!(
        poll_until(Duration::from_secs(30), || registered(3)),
        "no refreshes seen:\n{}",
        d.log_text()
    );
}
