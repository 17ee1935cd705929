//! The `switchboard` command: run the daemon, check a configuration file, report KPIs, or
//! manage the dialer's leads and do-not-call lists.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use switchboard::acd::kpi::Interval;
use switchboard::dialer::leads::cli;
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
    /// The dialer's leads in the config's store: import a CSV, list them.
    Leads {
        #[command(subcommand)]
        action: LeadsCmd,
    },
    /// Do-not-call lists: global, or one campaign's (--campaign).
    Dnc {
        #[command(subcommand)]
        action: DncCmd,
    },
    /// Campaign results from the lead book.
    Campaign {
        #[command(subcommand)]
        action: CampaignCmd,
    },
}

#[derive(Subcommand)]
enum LeadsCmd {
    /// Import leads from a CSV (header row; phone or number, name, timezone or region,
    /// anything else custom fields) and print what was imported, skipped and refused.
    Import {
        #[arg(long, short, default_value = "config/switchboard.toml")]
        config: PathBuf,
        #[arg(long)]
        campaign: String,
        /// ISO region for numbers written without a country code.
        #[arg(long, default_value = "US")]
        region: String,
        /// The CSV file.
        file: PathBuf,
    },
    /// List a campaign's leads.
    List {
        #[arg(long, short, default_value = "config/switchboard.toml")]
        config: PathBuf,
        #[arg(long)]
        campaign: String,
        /// Only leads in this state (new, dialing, retry, callback, done, dnc, invalid).
        #[arg(long)]
        state: Option<String>,
        /// At most this many (by id).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DncCmd {
    /// Add a number (any spelling; normalized to E.164 with --region).
    Add {
        #[command(flatten)]
        list: DncList,
        #[arg(long)]
        reason: Option<String>,
        number: String,
    },
    /// Remove a number.
    Remove {
        #[command(flatten)]
        list: DncList,
        number: String,
    },
    /// Print the list.
    List {
        #[command(flatten)]
        list: DncList,
    },
}

#[derive(clap::Args)]
struct DncList {
    #[arg(long, short, default_value = "config/switchboard.toml")]
    config: PathBuf,
    /// The campaign's list instead of the global one.
    #[arg(long)]
    campaign: Option<String>,
    #[arg(long, default_value = "US")]
    region: String,
}

#[derive(Subcommand)]
enum CampaignCmd {
    /// Leads by state, attempts, connects, abandons, the abandon rate (today and the last
    /// 30 days) and dispositions.
    Report {
        #[arg(long, short, default_value = "config/switchboard.toml")]
        config: PathBuf,
        #[arg(long)]
        campaign: String,
        /// Where "today" starts (IANA zone).
        #[arg(long, default_value = "UTC")]
        timezone: String,
        #[arg(long)]
        json: bool,
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
        Command::Leads { action } => leads(action),
        Command::Dnc { action } => dnc(action),
        Command::Campaign {
            action:
                CampaignCmd::Report {
                    config,
                    campaign,
                    timezone,
                    json,
                },
        } => tool("campaign report", &config, |store| {
            cli::report(store, &campaign, &timezone, json)
        }),
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

/// Run a lead-book tool against the store `config` names; print its output or its error.
fn tool(name: &str, config: &Path, f: impl FnOnce(&Path) -> Result<String, String>) -> ExitCode {
    let cfg = match switchboard::config::load(config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    match f(&cfg.store.path) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn leads(action: LeadsCmd) -> ExitCode {
    match action {
        LeadsCmd::Import {
            config,
            campaign,
            region,
            file,
        } => tool("leads import", &config, |store| {
            cli::import(store, &campaign, &region, &file)
        }),
        LeadsCmd::List {
            config,
            campaign,
            state,
            limit,
            json,
        } => tool("leads list", &config, |store| {
            cli::list(store, &campaign, state.as_deref(), limit, json)
        }),
    }
}

fn dnc(action: DncCmd) -> ExitCode {
    let (list, act) = match action {
        DncCmd::Add {
            list,
            reason,
            number,
        } => (list, cli::DncAction::Add { number, reason }),
        DncCmd::Remove { list, number } => (list, cli::DncAction::Remove { number }),
        DncCmd::List { list } => (list, cli::DncAction::List),
    };
    tool("dnc", &list.config, |store| {
        cli::dnc(store, list.campaign.as_deref(), &list.region, act)
    })
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
        None => Interval::since_midnight(to_ms, report::utc_offset_secs(to_ms)),
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
    let seeds = seeds.unwrap_or(sc.seeds);
    if !(1..=sim::check::MAX_SEEDS).contains(&seeds) {
        eprintln!(
            "switchboard simulate-dialer: --seeds must be within 1..={}",
            sim::check::MAX_SEEDS
        );
        return ExitCode::FAILURE;
    }
    let rows = match sim::simulate(&sc, seeds) {
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
