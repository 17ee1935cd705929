//! The `switchboard` command: run the daemon, check a configuration file, or report KPIs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use switchboard::acd::kpi::Interval;
use switchboard::report;
use switchboard::store::Store;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "SIP softswitch and call-center engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// Configuration file.
        #[arg(long, short, default_value = "config/switchboard.toml")]
        config: PathBuf,
        /// Log as JSON lines instead of human-readable text (overrides log.format).
        #[arg(long)]
        json: bool,
    },
    /// Check a configuration file: print every problem as file:line:col and exit non-zero.
    CheckConfig {
        /// Configuration file.
        #[arg(default_value = "config/switchboard.toml")]
        file: PathBuf,
    },
    /// Print queue and agent KPIs from the events in the config's store (read-only; works
    /// while the daemon runs). The interval defaults to since local midnight.
    Report {
        /// Configuration file (names the store, the queues and the agents).
        #[arg(long, short, default_value = "config/switchboard.toml")]
        config: PathBuf,
        /// From local midnight to now (the default).
        #[arg(long, conflicts_with = "since_hours")]
        since_midnight: bool,
        /// The last N hours.
        #[arg(long, value_name = "N")]
        since_hours: Option<u64>,
        /// End the interval here (Unix ms) instead of now: a report of a past period.
        #[arg(long, value_name = "UNIX_MS")]
        until_ms: Option<u64>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Simulate an outbound campaign (virtual time) under each of the scenario's pacing
    /// policies and print utilization, idle time and abandon rates.
    SimulateDialer {
        /// Scenario file (see config/dialer-scenarios/).
        scenario: PathBuf,
        /// Seeds per policy (overrides the scenario's `seeds`).
        #[arg(long)]
        seeds: Option<u32>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Omit the table header (for concatenating runs).
        #[arg(long)]
        no_header: bool,
    },
    /// Score answering machine and SIT detection on a synthetic labelled corpus (seeded):
    /// a confusion matrix per family and per class.
    AmdEval {
        /// Corpus seed (the same seed is the same corpus).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Clips per family.
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Override an AMD setting (amd.conf names), e.g. --set maximum_number_of_words=3.
        #[arg(long, value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match switchboard::config::load(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::FAILURE
            }
        },
        Command::Report {
            config,
            since_midnight: _,
            since_hours,
            until_ms,
            json,
        } => report(&config, since_hours, until_ms, json),
        Command::SimulateDialer {
            scenario,
            seeds,
            json,
            no_header,
        } => simulate_dialer(&scenario, seeds, json, no_header),
        Command::AmdEval { seed, count, set } => amd_eval(seed, count, &set),
        Command::Run { config, json } => match switchboard::daemon::run(&config, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchboard: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// `switchboard report`: load the config and the events, fold, print.
fn report(config: &Path, since_hours: Option<u64>, until_ms: Option<u64>, json: bool) -> ExitCode {
    let cfg = match switchboard::config::load(config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let to_ms = until_ms.unwrap_or_else(now_ms);
    let iv = match since_hours {
        Some(h) => Interval {
            from_ms: to_ms.saturating_sub(h.saturating_mul(3_600_000)),
            to_ms,
        },
        None => Interval::since_midnight(to_ms, utc_offset_secs(to_ms)),
    };
    let events = match Store::read_acd_events(&cfg.store.path, report::load_since(iv)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("switchboard report: {e}");
            return ExitCode::FAILURE;
        }
    };
    let r = report::build(&events, &cfg.acd.engine, iv);
    if json {
        match serde_json::to_string_pretty(&r) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("switchboard report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", report::table(&r));
    }
    ExitCode::SUCCESS
}

/// `switchboard simulate-dialer`: load the scenario, run every policy, print.
fn simulate_dialer(path: &Path, seeds: Option<u32>, json: bool, no_header: bool) -> ExitCode {
    use switchboard::dialer::sim;
    let sc = match sim::Scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("switchboard simulate-dialer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rows = match sim::simulate(&sc, seeds.unwrap_or(sc.seeds).max(1)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchboard simulate-dialer: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&rows) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("switchboard simulate-dialer: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        if !no_header {
            print!("{}", sim::stats::table_header());
        }
        for r in &rows {
            print!("{}", sim::stats::table_row(r));
        }
    }
    ExitCode::SUCCESS
}

/// `switchboard amd-eval`: AMD settings from the defaults plus `--set`, then the report.
fn amd_eval(seed: u64, count: usize, set: &[String]) -> ExitCode {
    use switchboard::dialer::amd::eval;
    use switchboard::dialer::amd_config::AmdConfig;
    // Each KEY=VALUE is one TOML line, so values parse (and unknown keys fail) exactly as
    // they would in a config file.
    let mut toml_src = String::new();
    for kv in set {
        let Some((k, v)) = kv.split_once('=') else {
            eprintln!("switchboard amd-eval: --set {kv}: expected KEY=VALUE");
            return ExitCode::FAILURE;
        };
        toml_src.push_str(&format!("{} = {}\n", k.trim(), v.trim()));
    }
    let cfg: AmdConfig = match toml::from_str(&toml_src) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchboard amd-eval: --set: {}", e.message());
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = cfg.validate() {
        eprintln!("switchboard amd-eval: {e}");
        return ExitCode::FAILURE;
    }
    println!("AMD settings: {cfg:?}");
    println!("corpus: seed {seed}, {count} clips per family");
    println!();
    print!("{}", eval::evaluate(&cfg, seed, count.max(1)).table());
    ExitCode::SUCCESS
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The local time zone's offset from UTC at `unix_ms` (so "midnight" is the supervisor's).
fn utc_offset_secs(unix_ms: u64) -> i64 {
    let t = (unix_ms / 1000) as libc::time_t;
    // SAFETY: localtime_r only writes the `tm` we own; a zeroed `tm` is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}
