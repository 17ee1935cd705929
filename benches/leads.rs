//! Lead book latency: `next_lead` (select + DNC checks + the attempt committed) with 100k
//! and 1M leads in one campaign spread over five US zones (one of them outside its calling
//! window), 100k numbers on the global DNC list and every 50th lead on the campaign's, then
//! `handle_attempt` for each dial. Also the CSV import rate that builds the book. The store
//! goes to `LEADS_BENCH_DIR` (default: the system temp directory), so the disk's fsync cost
//! and a tmpfs's pure CPU cost can both be measured.
//!
//! `cargo bench --bench leads` (sizes: `LEADS_BENCH_SIZES=100000,1000000`).

use std::fmt::Write;
use std::time::{Duration, Instant, SystemTime};

use switchboard::dialer::leads::LeadBook;
use switchboard::dialer::source::{AttemptResult, LeadRules, LeadSource};

const DIALS: usize = 2000;

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(s)
}

/// Wed 2026-07-15 18:00 UTC: 14:00 in New York ... 08:00 in Honolulu (closed).
const NOW: u64 = 1_784_138_400;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn run(n: usize, base: &std::path::Path) {
    let dir = tempfile::tempdir_in(base).expect("bench dir");
    let mut book = LeadBook::open(&dir.path().join("s.db")).expect("open");
    book.set_rules("c", LeadRules::default()).expect("rules");
    let regions = ["NY", "IL", "CO", "CA", "HI"];
    let mut csv = String::with_capacity(n * 32);
    csv.push_str("phone,region,account\n");
    for i in 0..n {
        let _ = writeln!(csv, "+1201{:07},{},A-{i}", 2_000_000 + i, regions[i % 5]);
    }
    let t = Instant::now();
    let r = book
        .import_csv(at(NOW - 3600), "c", csv.as_bytes())
        .expect("import");
    let import = t.elapsed();
    assert_eq!(r.imported as usize, n, "{:?}", r.invalid.first());
    drop(csv);
    // DNC: 100k numbers elsewhere on the global list, every 50th lead on the campaign's.
    let global: Vec<String> = (0..100_000usize)
        .map(|i| format!("+1202{:07}", 2_000_000 + i))
        .collect();
    let listed: Vec<String> = (0..n)
        .step_by(50)
        .map(|i| format!("+1201{:07}", 2_000_000 + i))
        .collect();
    book.dnc_add_many(at(NOW - 60), global.iter().map(String::as_str), None, None)
        .expect("dnc");
    book.dnc_add_many(
        at(NOW - 60),
        listed.iter().map(String::as_str),
        Some("c"),
        None,
    )
    .expect("dnc");
    let now = at(NOW);
    let mut next = Vec::with_capacity(DIALS);
    let mut outcome = Vec::with_capacity(DIALS);
    for _ in 0..DIALS {
        let t = Instant::now();
        let l = book.next_lead(now, "c").expect("a lead is due");
        next.push(t.elapsed());
        let t = Instant::now();
        book.handle_attempt(now, l.attempt_id, &AttemptResult::NoAnswer);
        outcome.push(t.elapsed());
    }
    next.sort();
    outcome.sort();
    println!(
        "leads {n:>8}: import {:>6.1} s ({:>6.0} rows/s) | next_lead p50 {:>8.1?} p99 {:>8.1?} max {:>8.1?} | handle_attempt p50 {:>8.1?} p99 {:>8.1?}",
        import.as_secs_f64(),
        n as f64 / import.as_secs_f64(),
        pct(&next, 0.5),
        pct(&next, 0.99),
        next[DIALS - 1],
        pct(&outcome, 0.5),
        pct(&outcome, 0.99),
    );
}

fn main() {
    // `cargo test --all-targets` runs bench targets too (without `--bench`): the timing
    // runs with a million leads are for `cargo bench` only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("leads bench: run it with `cargo bench --bench leads`");
        return;
    }
    let sizes: Vec<usize> = std::env::var("LEADS_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let base = std::env::var("LEADS_BENCH_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    println!("store in {base}");
    for n in sizes {
        run(n, std::path::Path::new(&base));
    }
}
