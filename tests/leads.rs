//! The lead book end to end: the real `switchboard` binary imports the shipped demo CSV,
//! manages DNC and prints the campaign report; and a dialer process using the library is
//! SIGKILLed mid-campaign, after which no attempt is lost and no lead is dialed twice.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use switchboard::dialer::leads::LeadBook;
use switchboard::dialer::source::{AttemptResult, LeadRules, LeadSource};

fn config(dir: &Path) -> PathBuf {
    let text = format!(
        "[sip]\nlisten = [{{ transport = \"udp\", addr = \"127.0.0.1:5060\" }}]\n\n[store]\npath = \"{}\"\n",
        dir.join("s.db").display()
    );
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .output()
        .expect("the switchboard binary runs")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn cli_imports_the_demo_list_manages_dnc_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let cfg = cfg.to_str().unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/config/leads/demo.csv");
    let out = stdout(&run(&[
        "leads",
        "import",
        "-c",
        cfg,
        "--campaign",
        "spring",
        demo,
    ]));
    assert!(
        out.contains("8 imported, 1 duplicates, 1 invalid, 0 on do-not-call lists"),
        "{out}"
    );
    assert!(out.contains("demo.csv:11: invalid:"), "{out}");

    let listed = stdout(&run(&[
        "leads",
        "list",
        "-c",
        cfg,
        "--campaign",
        "spring",
        "--state",
        "invalid",
    ]));
    assert!(
        listed.contains("555-0110") && listed.contains("1 leads"),
        "{listed}"
    );
    let json = stdout(&run(&[
        "leads",
        "list",
        "-c",
        cfg,
        "--campaign",
        "spring",
        "--json",
    ]));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ann = &rows[0];
    assert_eq!(ann["number"], "+12015550101");
    assert_eq!(ann["timezone"], "America/New_York");
    assert_eq!(ann["fields"]["account"], "A-1001");

    // DNC: any spelling, normalized; adding twice says so; removing a stranger fails.
    let add = stdout(&run(&[
        "dnc",
        "add",
        "-c",
        cfg,
        "--reason",
        "complaint",
        "(212) 555-0102",
    ]));
    assert!(add.contains("added to the global list"), "{add}");
    let again = stdout(&run(&["dnc", "add", "-c", cfg, "+12125550102"]));
    assert!(again.contains("already on the global list"), "{again}");
    stdout(&run(&[
        "dnc",
        "add",
        "-c",
        cfg,
        "--campaign",
        "spring",
        "303 555 0104",
    ]));
    let list = stdout(&run(&["dnc", "list", "-c", cfg]));
    assert!(
        list.contains("+12125550102") && list.contains("complaint") && list.contains("1 numbers"),
        "{list}"
    );
    let bad = run(&["dnc", "remove", "-c", cfg, "+12015550199"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not on the global list"));
    let garbage = run(&["dnc", "add", "-c", cfg, "hello"]);
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("not a phone number"));

    // The dialer (the library, as the runtime uses it) meets the DNC at dial time.
    let mut book = LeadBook::open(&dir.path().join("s.db")).unwrap();
    book.set_rules(
        "spring",
        LeadRules {
            window: [("default".to_string(), "00:00-24:00".to_string())].into(),
            ..LeadRules::default()
        },
    )
    .unwrap();
    let now = SystemTime::now();
    let mut dialed = Vec::new();
    while let Some(l) = book.next_lead(now, "spring") {
        let r = if dialed.is_empty() {
            AttemptResult::Connected {
                agent: "1001".into(),
            }
        } else if dialed.len() == 1 {
            AttemptResult::Abandoned
        } else {
            AttemptResult::NoAnswer
        };
        book.handle_attempt(now, l.attempt_id, &r);
        if dialed.is_empty() {
            book.handle_disposition(now, l.attempt_id, "sale", Some("1001"), None, false)
                .unwrap();
        }
        dialed.push(l.number);
    }
    assert_eq!(dialed.len(), 6, "8 leads, 2 on DNC: {dialed:?}");
    assert!(!dialed.contains(&"+12125550102".to_string()));
    assert!(!dialed.contains(&"+13035550104".to_string()));
    drop(book);

    let rep = stdout(&run(&[
        "campaign",
        "report",
        "-c",
        cfg,
        "--campaign",
        "spring",
        "--json",
    ]));
    let p: serde_json::Value = serde_json::from_str(&rep).unwrap();
    assert_eq!(p["total"], 9);
    assert_eq!(p["attempts"], 6);
    assert_eq!(p["connects"], 1);
    assert_eq!(p["abandons"], 1);
    assert_eq!(p["by_state"]["dnc"], 2);
    assert_eq!(p["by_disposition"]["sale"], 1);
    assert_eq!(p["abandon_rate_30d"], 0.5);
    let text = stdout(&run(&[
        "campaign",
        "report",
        "-c",
        cfg,
        "--campaign",
        "spring",
    ]));
    assert!(text.contains("campaign spring: 9 leads"), "{text}");

    // A file that is no CSV of leads: FILE:LINE and nothing imported.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "name\nAnn\n").unwrap();
    let o = run(&[
        "leads",
        "import",
        "-c",
        cfg,
        "--campaign",
        "x",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.csv:1: the header has no `phone`"),
        "{err}"
    );
}

/// The virtual "now" of the kill -9 test: every dial and outcome happens at this instant,
/// so a lead that is dialed twice at it was dialed twice by mistake.
const T_SECS: u64 = 1_780_000_000;
const LEADS: usize = 1500;

fn child_rules() -> LeadRules {
    LeadRules {
        window: [("default".to_string(), "00:00-24:00".to_string())].into(),
        default_region: "US".into(),
        ..LeadRules::default()
    }
}

/// The child half of `kill_9_loses_no_attempt_and_dials_no_lead_twice`: a dialer loop that
/// prints each attempt after `next_lead` returns. Does nothing unless the parent set the env.
#[test]
fn kill9_child_dialer() {
    let Ok(db) = std::env::var("SWITCHBOARD_LEADS_CHILD_DB") else {
        return;
    };
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(T_SECS);
    let mut book = LeadBook::open(Path::new(&db)).unwrap();
    book.set_rules("c", child_rules()).unwrap();
    while let Some(l) = book.next_lead(t, "c") {
        println!("dial {} {}", l.attempt_id, l.lead_id);
        book.handle_attempt(t, l.attempt_id, &AttemptResult::Busy);
        println!("busy {}", l.attempt_id);
    }
    println!("finished");
}

#[test]
fn kill_9_loses_no_attempt_and_dials_no_lead_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(T_SECS);
    {
        let mut book = LeadBook::open(&db).unwrap();
        book.set_rules("c", child_rules()).unwrap();
        let csv: String = (0..LEADS).fold("phone\n".to_string(), |s, i| {
            s + &format!("+1201{:07}\n", 5550000 + i)
        });
        let r = book
            .import_csv(t - Duration::from_secs(60), "c", csv.as_bytes())
            .unwrap();
        assert_eq!(r.imported as usize, LEADS, "{:?}", r.invalid.first());
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill9_child_dialer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SWITCHBOARD_LEADS_CHILD_DB", &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let read = |printed: &mut Vec<(i64, i64)>, line: String| {
        assert_ne!(line, "finished", "the child finished before the kill");
        if let Some(rest) = line.strip_prefix("dial ") {
            let (a, l) = rest.split_once(' ').unwrap();
            printed.push((a.parse::<i64>().unwrap(), l.parse::<i64>().unwrap()));
        }
    };
    // Kill it well inside the campaign (each lead is two synchronous commits).
    while printed.len() < 200 {
        let line = lines.next().expect("child output").unwrap();
        read(&mut printed, line);
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // What it printed before dying and we had not read yet.
    for line in lines {
        read(&mut printed, line.unwrap());
    }

    // What the crash left, read straight from the tables.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: Vec<(i64, i64, Option<String>)> = conn
        .prepare("SELECT id, lead, result FROM lead_attempts ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let ids: HashSet<i64> = stored.iter().map(|s| s.0).collect();
    for (a, _) in &printed {
        assert!(
            ids.contains(a),
            "attempt {a} was handed out but is not on disk"
        );
    }
    // At most one attempt committed after the last line the child managed to print.
    assert!(
        stored.len() <= printed.len() + 1,
        "{} vs {}",
        stored.len(),
        printed.len()
    );
    let open = stored.iter().filter(|s| s.2.is_none()).count();
    assert!(open <= 1, "only the attempt in flight can be open: {open}");
    drop(conn);

    // The dialer restarts: recovery, then dialing at the same instant.
    let mut book = LeadBook::open(&db).unwrap();
    book.set_rules("c", child_rules()).unwrap();
    assert_eq!(book.recover(t).unwrap(), open);
    let before: HashSet<i64> = stored.iter().map(|s| s.1).collect();
    assert_eq!(
        before.len(),
        stored.len(),
        "no lead was dialed twice before the kill"
    );
    let mut after = HashSet::new();
    while let Some(l) = book.next_lead(t, "c") {
        assert!(
            !before.contains(&l.lead_id),
            "lead {} dialed again",
            l.lead_id
        );
        assert!(
            after.insert(l.lead_id),
            "lead {} handed out twice",
            l.lead_id
        );
        book.handle_attempt(t, l.attempt_id, &AttemptResult::NoAnswer);
    }
    assert_eq!(
        before.len() + after.len(),
        LEADS,
        "every lead dialed exactly once"
    );
}
