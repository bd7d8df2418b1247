//! `ripple silence | unsilence | silences`: hold back a monitor's notifications.

use crate::app::App;
use crate::clock::SystemClock;
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct SilenceArgs {
    /// The monitor's id.
    pub monitor: String,
    /// How long, e.g. `1h`, `30m`, `2d` (1 minute to 30 days; out of range is refused).
    #[arg(value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Why (shown in `ripple silences` and on the incident's timeline).
    pub reason: Vec<String>,
}

async fn app(config: &Path) -> anyhow::Result<Option<App>> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(None);
    };
    Ok(Some(App::from_config(cfg, Arc::new(SystemClock)).await?))
}

/// Who is silencing, for the record.
fn who() -> String {
    std::env::var("USER")
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".into())
}

pub async fn silence(config: &Path, args: SilenceArgs) -> anyhow::Result<ExitCode> {
    let Some(app) = app(config).await? else {
        return Ok(ExitCode::from(2));
    };
    match app
        .silence(&args.monitor, args.duration, &args.reason.join(" "), &who())
        .await
    {
        Ok(s) => {
            println!(
                "silenced {} until {} ({})",
                s.monitor_id,
                s.until.format("%Y-%m-%d %H:%M UTC"),
                s.reason
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is::<crate::app::SilenceError>() => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e),
    }
}

pub async fn unsilence(config: &Path, monitor: &str) -> anyhow::Result<ExitCode> {
    let Some(app) = app(config).await? else {
        return Ok(ExitCode::from(2));
    };
    match app.unsilence(monitor).await {
        Ok(n) => {
            println!("lifted {n} silence(s) of {monitor}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is::<crate::app::SilenceError>() => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e),
    }
}

pub async fn list(config: &Path) -> anyhow::Result<ExitCode> {
    let Some(app) = app(config).await? else {
        return Ok(ExitCode::from(2));
    };
    let silences = app.silences().await?;
    if silences.is_empty() {
        println!("no silences in force");
    }
    for s in silences {
        println!(
            "{}  until {}  by {}  {}",
            s.monitor_id,
            s.until.format("%Y-%m-%d %H:%M UTC"),
            s.created_by,
            s.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}
