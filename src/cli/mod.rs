//! The command line: `ripple check | run | serve | demo | incidents | backup | impact |
//! lineage | silence | unsilence | silences | digest`.
//!
//! Exit codes: 0 ok; 1 findings (`check` found problems, `run --once
//! --fail-on-incident` saw an open incident); 2 usage or configuration error.

mod check;
mod demo;
mod digest;
mod impact;
pub mod lineage;
mod run;
mod serve;
mod silence;

use crate::config::Config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "ripple",
    version,
    about = "Lineage-aware data incidents for Slack and GitHub"
)]
pub struct Cli {
    /// The deployment config.
    #[arg(
        long,
        global = true,
        env = "RIPPLE_CONFIG",
        default_value = "ripple.yaml"
    )]
    pub config: PathBuf,
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and every rule without side effects.
    ///
    /// Example: `ripple check rules` — prints `file:line:col: message` per problem;
    /// `ripple check --dry-run` also dry-runs every monitor on the configured warehouse.
    Check {
        /// A rules folder or file (default: `rules` from the config).
        path: Option<PathBuf>,
        /// Also dry-run every valid monitor on the warehouse: SQL errors, bytes it would read.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run every monitor once, update incidents, send notifications.
    ///
    /// Example: `ripple run --once --fail-on-incident` in a CI job.
    Run(run::RunArgs),
    /// Run continuously: monitors on their schedules, `/healthz` over HTTP.
    ///
    /// Example: `ripple serve --listen 127.0.0.1:8080`.
    Serve(serve::ServeArgs),
    /// Seed the bundled demo warehouse and run every monitor on it.
    ///
    /// Example: `cargo run --release -- demo`.
    Demo(demo::DemoArgs),
    /// Rank what a break in TABLE... hurts, and who reads it.
    ///
    /// Example: `ripple impact shop.orders --top 5 --format markdown`.
    Impact(impact::ImpactArgs),
    /// Table lineage: `extract` from SQL files, walk `down`/`up` from a table.
    ///
    /// Example: `ripple lineage down shop.orders --format mermaid`.
    #[command(subcommand)]
    Lineage(lineage::LineageCommand),
    /// Hold back a monitor's notifications for a while (it keeps running).
    ///
    /// Example: `ripple silence orders_without_payment 2h backfill in progress`.
    Silence(silence::SilenceArgs),
    /// End a monitor's silences now.
    ///
    /// Example: `ripple unsilence orders_without_payment`.
    Unsilence {
        /// The monitor's id.
        monitor: String,
    },
    /// List the silences in force.
    Silences,
    /// Preview a digest of what is still open, or send it with `--now`.
    ///
    /// Example: `ripple digest commerce-morning --now`.
    Digest(digest::DigestArgs),
    /// Write a consistent copy of the state store (safe while Ripple runs).
    ///
    /// Example: `ripple backup /backups/ripple-$(date +%F).db`; restore by putting
    /// the copy at the configured `state.path` while Ripple is stopped.
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
    /// List incidents from the state store.
    ///
    /// Example: `ripple incidents --all`.
    Incidents {
        /// Include resolved incidents.
        #[arg(long)]
        all: bool,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => fail(&format!("{e:#}")),
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { path, dry_run } => {
            Ok(check::run(&cli.config, path.as_deref(), dry_run).await)
        }
        Command::Run(args) => run::run(&cli.config, args).await,
        Command::Serve(args) => serve::run(&cli.config, args).await,
        Command::Demo(args) => demo::run(&cli.config, args).await,
        Command::Digest(args) => digest::run(&cli.config, args).await,
        Command::Backup { path } => run::backup(&cli.config, &path).await,
        Command::Incidents { all } => run::list_incidents(&cli.config, all).await,
        Command::Impact(args) => impact::run(&cli.config, args).await,
        Command::Silence(args) => silence::silence(&cli.config, args).await,
        Command::Unsilence { monitor } => silence::unsilence(&cli.config, &monitor).await,
        Command::Silences => silence::list(&cli.config).await,
        Command::Lineage(cmd) => lineage::run(&cli.config, cmd).await,
    }
}

/// Loads the config, printing every problem; None means exit 2.
pub(crate) fn load_config(path: &std::path::Path) -> Option<Config> {
    match Config::load(path) {
        Ok(c) => Some(c),
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            None
        }
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
