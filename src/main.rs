//! The `switchboard` command: run the daemon or check a configuration file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
        Command::Run { config, json } => match switchboard::daemon::run(&config, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchboard: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
