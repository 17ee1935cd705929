//! SIP trunks end to end, with SIPp playing the carrier: our registration to the carrier
//! (digest, refresh), outbound calls presenting the trunk's caller ID (and answering the
//! carrier's 407 with the trunk credentials), inbound DIDs reaching a registered extension
//! without a challenge, and unauthenticated calls from anywhere else challenged (fraud).

mod common;

use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::time::Duration;

use sipp::{filled, Uas};

const DID: &str = "+15551230001";
const REGISTER: &str = r#"[trunks.register]
username = "acme"
password = "s3cret"
domain = "carrier.example"
expires_secs = 60
"#;

/// A config with trunk `carrier` at 127.0.0.1:`carrier_port` (`trunk_extra` is appended to
/// its table: keys, then an optional [trunks.register]), every dialled number routed to it
/// and DID +15551230001 mapped to 1001.
fn config(dir: &Path, port: u16, carrier_port: u16, trunk_extra: &str) -> String {
    let base = media_base();
    let calls = format!(
        r#"{LEGACY_AUTH}
[media]
address = "127.0.0.1"
port_min = {base}
port_max = {max}

[[dialplan.routes]]
pattern = "_X."
trunk = "carrier"

[[dialplan.inbound]]
number = "{DID}"
extension = "1001"

[[trunks]]
name = "carrier"
address = "127.0.0.1:{carrier_port}"
{trunk_extra}
"#,
        max = base + 199
    );
    common::test_config(dir, port, TRUSTING, &calls)
}

/// A scenario streaming 3 s of PCMU (a varying pattern, not silence): SIPp does not expand
/// keywords in rtp_stream, so the file's path is written into a copy.
fn streaming(dir: &Path, scenario: &str) -> String {
    let path = dir.join("caller.ulaw");
    let bytes: Vec<u8> = (0..24000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    filled(
        dir,
        scenario,
        &[("AUDIO_FILE", &path.display().to_string())],
    )
}

#[derive(Debug)]
struct CdrRow {
    direction: String,
    caller: String,
    callee: String,
    trunk: Option<String>,
    end_cause: Option<String>,
    a_code: Option<i64>,
    b_code: Option<i64>,
    answered: bool,
    a_to_b: i64,
    b_to_a: i64,
}

fn cdrs(db: &Path) -> Vec<CdrRow> {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "SELECT direction, caller, callee, trunk, end_cause, a_sip_code, b_sip_code, answer_unix_ms,
                a_to_b_packets, b_to_a_packets FROM cdrs ORDER BY start_unix_ms",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |r| {
        Ok(CdrRow {
            direction: r.get(0)?,
            caller: r.get(1)?,
            callee: r.get(2)?,
            trunk: r.get(3)?,
            end_cause: r.get(4)?,
            a_code: r.get(5)?,
            b_code: r.get(6)?,
            answered: r.get::<_, Option<i64>>(7)?.is_some(),
            a_to_b: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
            b_to_a: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
        })
    })
    .map(|rows| rows.filter_map(Result::ok).collect())
    .unwrap_or_default()
}

/// The one finished CDR, once written.
fn finished_cdr(dir: &Path, daemon: &Daemon) -> CdrRow {
    let db = dir.join("switchboard.db");
    let mut rows = Vec::new();
    assert!(
        poll_until(Duration::from_secs(10), || {
            rows = cdrs(&db);
            rows.iter().any(|r| r.end_cause.is_some())
        }),
        "no finished CDR: {rows:?}\n{}",
        daemon.log_text()
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

/// Wait for the carrier's SIPp to finish and require success.
fn carrier_succeeded(carrier: &mut Uas, dir: &Path, name: &str, daemon: &Daemon) {
    let ok = carrier.wait(Duration::from_secs(20));
    let errors =
        std::fs::read_to_string(dir.join(format!("{name}.errors.log"))).unwrap_or_default();
    assert_eq!(
        ok,
        Some(true),
        "carrier scenario {name} failed:\n{errors}\n--- daemon:\n{}",
        daemon.log_text()
    );
}

/// 1001 calls `number` (digest 407 like a phone) streaming RTP; the call must succeed.
fn call_out(dir: &Path, daemon: &Daemon, number: &str) {
    let scenario = streaming(dir, "call_uac.xml");
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir,
        &scenario,
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

#[test]
fn registers_to_the_carrier_with_digest_and_refreshes_a_short_grant() {
    let dir = temp_dir();
    let (port, carrier_port) = (free_port(), free_port());
    // The registrar grants 3 s: the refresh (at 80 %) comes within the test.
    let scen = filled(dir.path(), "trunk_registrar.xml", &[("EXPIRES", "3")]);
    let mut carrier = Uas::spawn(
        dir.path(),
        "registrar",
        &scen,
        (carrier_port, free_port()),
        1,
        &[],
    );
    let cfg = config(dir.path(), port, carrier_port, REGISTER);
    let daemon = Daemon::start(dir.path(), port, &cfg);
    carrier_succeeded(&mut carrier, dir.path(), "registrar", &daemon);
    assert!(
        daemon.wait_log("registered to the carrier", Duration::from_secs(5)),
        "{}",
        daemon.log_text()
    );
    // The grant read was our binding's expires parameter (3), not the Expires header (600).
    assert!(
        daemon
            .log_text()
            .contains("registered to the carrier trunk=carrier expires=3\n"),
        "{}",
        daemon.log_text()
    );
    assert!(!daemon
        .log_text()
        .contains("registration to the carrier failed"));
}

#[test]
fn a_wrong_trunk_password_is_refused_by_the_carrier_and_logged() {
    let dir = temp_dir();
    let (port, carrier_port) = (free_port(), free_port());
    let scen = filled(dir.path(), "trunk_registrar.xml", &[("EXPIRES", "3")]);
    let mut carrier = Uas::spawn(
        dir.path(),
        "registrar",
        &scen,
        (carrier_port, free_port()),
        1,
        &[],
    );
    let cfg = config(
        dir.path(),
        port,
        carrier_port,
        &REGISTER.replace("s3cret", "wrong"),
    );
    let daemon = Daemon::start(dir.path(), port, &cfg);
    // The registrar's verifyauth rejects the answer: 403, and its scenario fails.
    assert_eq!(carrier.wait(Duration::from_secs(20)), Some(false));
    assert!(
        daemon.wait_log("registration to the carrier failed", Duration::from_secs(5)),
        "{}",
        daemon.log_text()
    );
    assert!(!daemon.log_text().contains("registered to the carrier"));
}

#[test]
fn outbound_call_presents_the_trunk_caller_id() {
    let dir = temp_dir();
    let (port, carrier_port) = (free_port(), free_port());
    let trunk = "caller_id = \"+15551230000\"\ncaller_name = \"Acme Support\"\n";
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, carrier_port, trunk),
    );
    let scen = filled(dir.path(), "trunk_uas_callerid.xml", &[]);
    let mut carrier = Uas::spawn(
        dir.path(),
        "carrier",
        &scen,
        (carrier_port, free_port()),
        1,
        &[],
    );
    call_out(dir.path(), &daemon, "5551234");
    carrier_succeeded(&mut carrier, dir.path(), "carrier", &daemon);

    let cdr = finished_cdr(dir.path(), &daemon);
    assert_eq!(cdr.direction, "outbound", "{cdr:?}");
    assert_eq!(cdr.trunk.as_deref(), Some("carrier"));
    assert_eq!(
        (cdr.caller.as_str(), cdr.callee.as_str()),
        ("1001", "5551234")
    );
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"));
    assert_eq!((cdr.a_code, cdr.b_code), (Some(200), Some(200)));
    assert!(cdr.answered);
}

/// The carrier challenges our INVITE with `code` (401 or 407): we must answer once with the
/// trunk's credentials in the matching header, and the call goes through.
fn carrier_challenges_the_invite(code: &str) {
    let dir = temp_dir();
    let (port, carrier_port) = (free_port(), free_port());
    let (challenge, cred) = match code {
        "401" => ("WWW-Authenticate", "Authorization"),
        _ => ("Proxy-Authenticate", "Proxy-Authorization"),
    };
    // SIPp's verifyauth reads only Authorization:; for a 407 the logged header is checked here.
    let verified = if code == "401" { "ok" } else { "cred" };
    let scen = filled(
        dir.path(),
        "trunk_uas_challenge.xml",
        &[
            ("CODE", code),
            ("CHALLENGE", challenge),
            ("CRED", cred),
            ("VERIFIED", verified),
        ],
    );
    let log_file = dir.path().join("carrier.log");
    let log_arg = log_file.display().to_string();
    // The carrier takes our REGISTER (one SIPp call) and challenges the INVITE (another).
    let mut carrier = Uas::spawn(
        dir.path(),
        "carrier",
        &scen,
        (carrier_port, free_port()),
        2,
        &["-trace_logs", "-log_file", &log_arg],
    );
    let trunk = format!("caller_id = \"+15551230000\"\n{REGISTER}");
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, carrier_port, &trunk),
    );
    assert!(
        daemon.wait_log("registered to the carrier", Duration::from_secs(5)),
        "{}",
        daemon.log_text()
    );
    call_out(dir.path(), &daemon, "5551234");
    carrier_succeeded(&mut carrier, dir.path(), "carrier", &daemon);

    // Check the digest ourselves (independently of both SIPp and our client code).
    let logged = std::fs::read_to_string(&log_file).unwrap_or_default();
    let header = logged
        .lines()
        .find_map(|l| l.split_once("GOT ").map(|(_, h)| h.trim().to_string()))
        .unwrap_or_else(|| panic!("no {cred} logged by the carrier: {logged}"));
    let uri = format!("sip:5551234@127.0.0.1:{carrier_port}");
    assert_digest(&header, "INVITE", &uri, "acme", "s3cret", "carrier.example");

    let cdr = finished_cdr(dir.path(), &daemon);
    assert_eq!(cdr.trunk.as_deref(), Some("carrier"), "{cdr:?}");
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"));
    assert_eq!((cdr.a_code, cdr.b_code), (Some(200), Some(200)));
    assert!(cdr.answered);
}

/// `header` (Digest ..., qop=auth, MD5) is a correct answer for `user`/`password`.
fn assert_digest(header: &str, method: &str, uri: &str, user: &str, password: &str, realm: &str) {
    use md5::{Digest, Md5};
    let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    let rest = header
        .strip_prefix("Digest")
        .expect("a Digest answer")
        .trim();
    let mut params = std::collections::HashMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            params.insert(
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            );
        }
    }
    let p = |k: &str| {
        params
            .get(k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k} in {header}"))
    };
    assert_eq!(p("username"), user, "{header}");
    assert_eq!(p("realm"), realm, "{header}");
    assert_eq!(p("uri"), uri, "{header}");
    assert!(
        p("nonce").starts_with("inv-"),
        "the carrier's nonce echoed: {header}"
    );
    assert_eq!(p("qop"), "auth", "{header}");
    let ha1 = md5(format!("{user}:{realm}:{password}"));
    let ha2 = md5(format!("{method}:{uri}"));
    let expected = md5(format!(
        "{ha1}:{}:{}:{}:auth:{ha2}",
        p("nonce"),
        p("nc"),
        p("cnonce")
    ));
    assert_eq!(p("response"), expected, "{header}");
}

#[test]
fn outbound_call_answers_the_carriers_407_with_the_trunk_credentials() {
    carrier_challenges_the_invite("407");
}

#[test]
fn outbound_call_answers_the_carriers_401_with_the_trunk_credentials() {
    carrier_challenges_the_invite("401");
}

/// Register 1001 from 127.0.0.1:`ext_port` (digest), leaving the binding in place.
fn register_1001(dir: &Path, daemon: &Daemon, ext_port: u16) {
    let (ok, log) = sipp::run_uac(
        dir,
        "register_keep.xml",
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-p", &ext_port.to_string()],
    );
    assert!(ok, "1001 did not register:\n{log}\n{}", daemon.log_text());
}

#[test]
fn inbound_did_reaches_the_registered_extension_without_a_challenge() {
    let dir = temp_dir();
    let (port, carrier_port, ext_port) = (free_port(), free_port(), free_port());
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, carrier_port, ""),
    );
    // 1001 registers from ext_port, then a SIPp UAS on that port plays the phone: it
    // answers the INVITE with SDP and echoes the RTP. (One SIPp cannot do both: as a UAC
    // it drops requests with a Call-ID it did not start.)
    register_1001(dir.path(), &daemon, ext_port);
    let mut phone = Uas::spawn(
        dir.path(),
        "phone",
        &filled(dir.path(), "call_uas.xml", &[]),
        (ext_port, free_port()),
        1,
        &[],
    );

    // The carrier calls the DID from the trunk's own address: no 407 may come.
    let scenario = streaming(dir.path(), "trunk_uac_did.xml");
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scenario,
        &daemon.addr().to_string(),
        &[("carrier", "unused")],
        1,
        &[
            "-s",
            DID,
            "-p",
            &carrier_port.to_string(),
            "-mi",
            "127.0.0.1",
            "-mp",
            &mp,
        ],
    );
    assert!(
        ok,
        "carrier's call failed:\n{log}\n--- daemon:\n{}",
        daemon.log_text()
    );
    carrier_succeeded(&mut phone, dir.path(), "phone", &daemon);

    let cdr = finished_cdr(dir.path(), &daemon);
    assert_eq!(cdr.direction, "inbound", "{cdr:?}");
    assert_eq!(cdr.trunk.as_deref(), Some("carrier"));
    assert_eq!(
        (cdr.caller.as_str(), cdr.callee.as_str()),
        ("+15557654321", "1001")
    );
    assert_eq!(cdr.end_cause.as_deref(), Some("normal"));
    assert_eq!((cdr.a_code, cdr.b_code), (Some(200), Some(200)));
    assert!(cdr.answered);
    // The carrier streamed ~2 s (100+ packets) into our A port; the phone echoed what we
    // relayed to it back into our B port.
    assert!(cdr.a_to_b > 50, "packets from the carrier: {cdr:?}");
    assert!(cdr.b_to_a > 50, "packets echoed by the phone: {cdr:?}");
}

/// An unauthenticated INVITE to `number` from 127.0.0.1:`from_port` (0: any) must get `code`.
fn unauthenticated_call(dir: &Path, daemon: &Daemon, number: &str, from_port: u16, code: &str) {
    let scen = filled(dir, "trunk_uac_fail.xml", &[("FAILCODE", code)]);
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir,
        &scen,
        &daemon.addr().to_string(),
        &[("carrier", "unused")],
        1,
        &[
            "-s",
            number,
            "-p",
            &from_port.to_string(),
            "-mi",
            "127.0.0.1",
            "-mp",
            &mp,
        ],
    );
    assert!(
        ok,
        "calling {number} from port {from_port} did not end in {code}:\n{log}\n{}",
        daemon.log_text()
    );
}

#[test]
fn trunk_calls_to_unlisted_numbers_get_404_and_strangers_are_challenged() {
    let dir = temp_dir();
    let (port, carrier_port, ext_port) = (free_port(), free_port(), free_port());
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, carrier_port, ""),
    );
    register_1001(dir.path(), &daemon, ext_port);

    // From the trunk: a number that is no DID is refused (404), not challenged.
    unauthenticated_call(dir.path(), &daemon, "+15550000000", carrier_port, "404");
    assert!(daemon.wait_log(
        "from trunk carrier matches no [[dialplan.inbound]] entry",
        Duration::from_secs(5)
    ));
    // From anywhere else (same host, another port): even a valid DID, with the extension
    // registered, gets a 407 and no call: toll fraud must authenticate first.
    unauthenticated_call(dir.path(), &daemon, DID, 0, "407");
    assert!(
        cdrs(&dir.path().join("switchboard.db")).is_empty(),
        "no call may have started"
    );
}

#[test]
fn a_carrier_refusing_our_credentials_gives_the_caller_403_not_its_challenge() {
    let dir = temp_dir();
    let (port, carrier_port) = (free_port(), free_port());
    let scen = filled(dir.path(), "trunk_uas_rechallenge.xml", &[]);
    let mut carrier = Uas::spawn(
        dir.path(),
        "carrier",
        &scen,
        (carrier_port, free_port()),
        2,
        &[],
    );
    let daemon = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, carrier_port, REGISTER),
    );
    assert!(daemon.wait_log("registered to the carrier", Duration::from_secs(5)));
    // The carrier's 407 is about our trunk credentials: relayed, the phone would take it for
    // our own challenge (and it would lack the Proxy-Authenticate a 407 must carry).
    let scen = filled(
        dir.path(),
        "call_uac_fail.xml",
        &[
            ("FAILCODE", "403"),
            (
                "MLINE",
                "m=audio [media_port] RTP/AVP 0\n      a=rtpmap:0 PCMU/8000",
            ),
        ],
    );
    let mp = free_port().to_string();
    let (ok, log) = sipp::run_uac(
        dir.path(),
        &scen,
        &daemon.addr().to_string(),
        &[("1001", "1001pass")],
        1,
        &["-s", "5551234", "-mi", "127.0.0.1", "-mp", &mp],
    );
    assert!(ok, "caller did not get 403:\n{log}\n{}", daemon.log_text());
    // Exactly one retry with credentials: the carrier saw no third INVITE.
    carrier_succeeded(&mut carrier, dir.path(), "carrier", &daemon);
    let cdr = finished_cdr(dir.path(), &daemon);
    assert_eq!((cdr.a_code, cdr.b_code), (Some(403), Some(407)), "{cdr:?}");
    assert!(!cdr.answered);
}
