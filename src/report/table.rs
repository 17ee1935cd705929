//! The report as fixed-width text tables for a supervisor's terminal.

use std::fmt::Write;

use super::{Bucket, Report};

/// `h:mm:ss` (or `m:ss` under an hour): how wallboards show durations.
fn dur(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn opt_dur(ms: Option<u64>) -> String {
    ms.map(dur).unwrap_or_else(|| "-".into())
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn hist(b: &[Bucket]) -> String {
    b.iter()
        .map(|b| match b.up_to_secs {
            Some(s) => format!("≤{s}s:{}", b.count),
            None => format!(">:{}", b.count),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn table(r: &Report) -> String {
    // Writing to a String cannot fail: the `let _ =` below drop an always-Ok result.
    let mut o = String::new();
    let _ = writeln!(
        o,
        "ACD report, {} s from {} to {} (Unix ms)\n",
        (r.to_ms - r.from_ms) / 1000,
        r.from_ms,
        r.to_ms
    );
    let _ = writeln!(
        o,
        "{:<16} {:>7} {:>8} {:>7} {:>8} {:>10} {:>7} {:>8} {:>7} {:>7}",
        "QUEUE",
        "WAITING",
        "LONGEST",
        "OFFERED",
        "ANSWERED",
        "ABANDONED",
        "SHORT",
        "SL",
        "ASA",
        "AHT"
    );
    for q in &r.queues {
        let _ = writeln!(
            o,
            "{:<16} {:>7} {:>8} {:>7} {:>8} {:>10} {:>7} {:>8} {:>7} {:>7}",
            q.name,
            q.waiting_now,
            dur(q.longest_wait_now_ms),
            q.offered,
            q.answered,
            q.abandoned,
            q.short_abandoned,
            pct(q.service_level),
            opt_dur(q.asa_ms),
            opt_dur(q.aht_ms)
        );
    }
    let _ = writeln!(
        o,
        "\n{:<10} {:<16} {:>9} {:>8} {:>9} {:>8} {:>8} {:>8} {:>5} {:>7} {:>6}",
        "AGENT",
        "NAME",
        "LOGGED-IN",
        "READY",
        "NOT-READY",
        "ON-CALL",
        "WRAP-UP",
        "OFFERED",
        "CALLS",
        "AHT",
        "OCC"
    );
    for a in &r.agents {
        let s = |k: &str| dur(a.state_ms.get(k).copied().unwrap_or(0));
        let _ = writeln!(
            o,
            "{:<10} {:<16} {:>9} {:>8} {:>9} {:>8} {:>8} {:>8} {:>5} {:>7} {:>6}",
            a.id,
            a.name,
            dur(a.logged_in_ms),
            s("ready"),
            s("not-ready"),
            s("on-call"),
            s("wrap-up"),
            s("offered"),
            a.calls_handled,
            opt_dur(a.aht_ms),
            pct(a.occupancy)
        );
    }
    let _ = writeln!(o, "\nTALK TIME (calls ended in the interval)");
    for q in &r.queues {
        let _ = writeln!(o, "queue {:<16} {}", q.name, hist(&q.talk_time));
    }
    for a in &r.agents {
        let _ = writeln!(o, "agent {:<16} {}", a.id, hist(&a.talk_time));
    }
    let _ = writeln!(
        o,
        "\nSL per queue formula (service_level_secs, service_level_formula); ASA = mean wait of \
         answered; AHT = (talk + hold + wrap-up) / calls; OCC = (offered + on-call + wrap-up) / \
         (ready + offered + on-call + wrap-up)."
    );
    o
}
