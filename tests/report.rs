//! `switchboard report` end to end: a config and a store holding known ACD events (written
//! with the store's own API, the way the daemon writes them), then the real binary, its JSON
//! checked number by number, and a missing store refused with a clear message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use switchboard::acd::{AcdEvent, AgentId, CallId, EventKind, OfferId, Party, QueueId, StateKind};
use switchboard::store::Store;

const T0: u64 = 1_700_000_000_000;
const END: u64 = T0 + 300_000;

fn config(dir: &Path) -> PathBuf {
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prompts"),
        dir.join("prompts"),
    )
    .unwrap();
    let text = format!(
        r#"[sip]
listen = [{{ transport = "udp", addr = "127.0.0.1:5060" }}]

[store]
path = "{store}"

[[queues]]
name = "sales"
service_level_secs = 20
short_abandon_secs = 5
service_level_formula = "answered-and-abandoned"
[queues.caller]

[[queues]]
name = "support"
[queues.caller]

[[agents]]
id = "1002"
name = "Bob"
queues = [{{ queue = "sales" }}]
"#,
        store = dir.join("s.db").display()
    );
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn at(s: u64, kind: EventKind) -> AcdEvent {
    AcdEvent {
        at_ms: T0 + s * 1000,
        kind,
    }
}

fn state(s: u64, from: StateKind, to: StateKind, dur_s: u64) -> AcdEvent {
    at(
        s,
        EventKind::AgentState {
            agent: AgentId(0),
            from,
            to,
            duration_ms: dur_s * 1000,
            reason: None,
        },
    )
}

fn queued(s: u64, call: u64) -> AcdEvent {
    at(
        s,
        EventKind::Queued {
            call: CallId(call),
            queue: QueueId(0),
            priority: 0,
            position: 1,
        },
    )
}

/// Call 1 answered after 4 s (talk 30, wrap 5), call 2 abandoned after 10 s, call 3 still
/// waiting since 100 s.
fn events() -> Vec<AcdEvent> {
    use StateKind::*;
    let (call, queue, agent) = (CallId(1), QueueId(0), AgentId(0));
    vec![
        state(0, LoggedOut, Ready, 0),
        queued(1, 1),
        state(1, Ready, Offered, 1),
        state(5, Offered, OnCall, 4),
        at(
            5,
            EventKind::Connected {
                call,
                queue,
                agent,
                offer: OfferId(1),
                wait_ms: 4_000,
                ring_ms: 4_000,
                callback: false,
            },
        ),
        at(
            35,
            EventKind::Ended {
                call,
                queue,
                agent,
                by: Party::Agent,
                wait_ms: 4_000,
                talk_ms: 30_000,
                hold_ms: 0,
                orig_position: 1,
            },
        ),
        state(35, OnCall, WrapUp, 30),
        at(
            40,
            EventKind::WrapUpDone {
                call,
                queue,
                agent,
                wrap_ms: 5_000,
            },
        ),
        state(40, WrapUp, Ready, 5),
        queued(50, 2),
        at(
            60,
            EventKind::Abandoned {
                call: CallId(2),
                queue,
                wait_ms: 10_000,
                position: 1,
                orig_position: 1,
                callback: false,
            },
        ),
        queued(100, 3),
    ]
}

fn report(config: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env("TZ", "UTC")
        .arg("report")
        .arg("--config")
        .arg(config)
        .args(extra)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn report_prints_exact_kpis_from_the_stored_events() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    for ev in events() {
        drop(store.put_acd_event(&ev));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(store.flush()).unwrap();

    // The writer is still open (as with a running daemon): the report reads beside it.
    let until = END.to_string();
    let r = json(&report(
        &cfg,
        &["--since-hours", "1", "--until-ms", &until, "--json"],
    ));
    assert_eq!(r["to_ms"], END);
    assert_eq!(r["from_ms"], END - 3_600_000);
    let q = &r["queues"][0];
    assert_eq!(q["name"], "sales");
    assert_eq!(q["waiting_now"], 1);
    assert_eq!(q["longest_wait_now_ms"], 200_000);
    assert_eq!(q["offered"], 3);
    assert_eq!(q["answered"], 1);
    assert_eq!(q["answered_within_sl"], 1);
    assert_eq!(q["abandoned"], 1);
    assert_eq!(
        q["short_abandoned"], 0,
        "10 s is above short_abandon_secs = 5"
    );
    assert_eq!(q["service_level_formula"], "answered-and-abandoned");
    assert_eq!(
        q["service_level"], 0.5,
        "1 within 20 s / (1 answered + 1 abandoned)"
    );
    assert_eq!(q["asa_ms"], 4_000);
    assert_eq!(q["aht_ms"], 35_000);
    assert_eq!(
        q["talk_time"][0]["count"], 1,
        "30 s talk: the ≤ 30 s bucket"
    );
    assert_eq!(r["queues"][1]["name"], "support");
    assert_eq!(r["queues"][1]["service_level"], serde_json::Value::Null);

    let a = &r["agents"][0];
    assert_eq!(
        (a["id"].as_str(), a["name"].as_str()),
        (Some("1002"), Some("Bob"))
    );
    let s = &a["state_ms"];
    assert_eq!(
        s["ready"],
        1_000 + 260_000,
        "ready until 1 s, then from 40 s to the end"
    );
    assert_eq!(s["offered"], 4_000);
    assert_eq!(s["on-call"], 30_000);
    assert_eq!(s["wrap-up"], 5_000);
    assert_eq!(s["not-ready"], 0);
    assert_eq!(a["logged_in_ms"], 300_000);
    assert_eq!(a["calls_handled"], 1);
    assert_eq!(a["aht_ms"], 35_000);
    assert_eq!(a["occupancy"], 39_000.0 / 300_000.0);

    // A window that ends before the abandon: the caller is still waiting then.
    let early = (T0 + 55_000).to_string();
    let r = json(&report(
        &cfg,
        &["--since-hours", "1", "--until-ms", &early, "--json"],
    ));
    let q = &r["queues"][0];
    assert_eq!(
        (q["offered"].as_u64(), q["abandoned"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(q["longest_wait_now_ms"], 5_000);

    // After the writer has gone (no WAL left), the table names the queue with its figures.
    store.close();
    let out = report(&cfg, &["--since-midnight", "--until-ms", &until]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let sales: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("sales "))
        .unwrap_or_else(|| panic!("no sales row in\n{text}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        sales,
        ["sales", "1", "3:20", "3", "1", "1", "0", "50.0%", "0:04", "0:35"]
    );
}

#[test]
fn a_missing_store_is_a_clear_error_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let out = report(&cfg, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no store at") && err.contains("s.db"), "{err}");
    assert!(
        !dir.path().join("s.db").exists(),
        "the report must not create a store"
    );
}
