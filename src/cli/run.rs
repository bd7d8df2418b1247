//! `ripple run --once` and `ripple incidents`.

use crate::app::{App, RunSummary};
use crate::store::{IncidentRow, Store};
use clap::Args;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run only these monitors (once). Example: `ripple run orders_fresh`.
    pub monitors: Vec<String>,
    /// Run only this team's monitors (once).
    #[arg(long)]
    pub team: Option<String>,
    /// Run every monitor once and exit (for cron or CI). Without it, use `ripple serve`.
    #[arg(long)]
    pub once: bool,
    /// Raise Missed from the store for monitors silent past their latest tick and grace
    /// (for crontab deployments without `serve`); runs no monitor unless asked to.
    #[arg(long)]
    pub check_missed: bool,
    /// Exit 1 when any incident is open afterwards (for CI gates).
    #[arg(long)]
    pub fail_on_incident: bool,
    /// Start a new state store even though Slack or GitHub carry an earlier
    /// deployment's incidents (they are adopted; numbering continues above them).
    #[arg(long)]
    pub new_state: bool,
}

pub async fn run(config: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let subset = !args.monitors.is_empty() || args.team.is_some();
    if !args.once && !subset && !args.check_missed {
        eprintln!(
            "`ripple run` needs --once, monitor ids, --team or --check-missed; to run continuously use `ripple serve`"
        );
        return Ok(ExitCode::from(2));
    }
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let app = App::start(cfg, args.new_state).await?;
    let monitors = match app.select(&args.monitors, args.team.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let summary = run_selected(&app, &monitors, args.once || subset, args.check_missed).await?;
    print_summary(&summary);
    let open = app.store.incidents(true).await?;
    app.store.close().await?;
    if args.fail_on_incident && !open.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the selection (when asked), raises Missed (when asked), then delivers.
async fn run_selected(
    app: &App,
    monitors: &[crate::rules::Monitor],
    run: bool,
    check_missed: bool,
) -> anyhow::Result<RunSummary> {
    app.refresh_impact_if_stale().await?;
    let mut results = if run {
        app.run_monitors(monitors).await?
    } else {
        vec![]
    };
    if check_missed {
        results.extend(app.raise_missed(monitors).await?);
    }
    let delivered = app.deliver().await?;
    Ok(RunSummary {
        results,
        delivered,
        rule_problems: app.rules.problems.clone(),
    })
}

/// The per-monitor table printed after a run.
pub fn print_summary(s: &RunSummary) {
    for p in &s.rule_problems {
        eprintln!("skipped: {p}");
    }
    println!("{}", summary_table(s));
    let d = s.delivered;
    if d.failed + d.held > 0 {
        println!(
            "notifications: {} sent, {} to retry",
            d.sent,
            d.failed + d.held
        );
    }
}

/// Renders the run as an aligned table (pure, for tests).
pub fn summary_table(s: &RunSummary) -> String {
    let mut rows = vec![[
        "MONITOR".to_string(),
        "OUTCOME".into(),
        "DETAIL".into(),
        "INCIDENT".into(),
    ]];
    for r in &s.results {
        let incident = match (r.applied.incident_id, r.applied.decision) {
            (Some(id), d) => format!("#{id} {}", decision_word(d)),
            (None, crate::incident::Decision::Pending { failures }) => {
                format!("pending ({failures} in a row)")
            }
            (None, _) => "-".into(),
        };
        let summary = r.report.outcome.summary();
        let detail = summary.lines().next().unwrap_or_default().to_string();
        rows.push([
            r.report.monitor_id.clone(),
            r.report.outcome.label().into(),
            detail,
            incident,
        ]);
    }
    table(&rows)
}

fn decision_word(d: crate::incident::Decision) -> &'static str {
    use crate::incident::Decision::*;
    match d {
        Open(_) => "opened",
        Update {
            notify: Some(_), ..
        } => "updated",
        Update { notify: None, .. } => "still open",
        Resolve => "resolved",
        Joined { .. } => "also affected",
        Nothing | Pending { .. } => "-",
    }
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count().min(60))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{:<w$}", clip(cell, 60), w = *w))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect();
    lines.join("\n")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// `ripple incidents [--all]`.
pub async fn list_incidents(config: &Path, all: bool) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let store = Store::open(&cfg.resolve(&cfg.state.path)).await?;
    println!("{}", incidents_table(&store.incidents(!all).await?));
    Ok(ExitCode::SUCCESS)
}

/// `ripple backup PATH`: a consistent copy of the state store, safe while Ripple runs.
pub async fn backup(config: &Path, dest: &Path) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let path = cfg.resolve(&cfg.state.path);
    if crate::app::state::inspect(&path)? != crate::app::state::StateFile::Present {
        eprintln!("{}: no state store to back up", path.display());
        return Ok(ExitCode::from(2));
    }
    let store = Store::open(&path).await?;
    store.backup(dest).await?;
    store.close().await?;
    println!("backed up {} to {}", path.display(), dest.display());
    Ok(ExitCode::SUCCESS)
}

/// Incidents as an aligned table (pure, for tests).
pub fn incidents_table(incidents: &[IncidentRow]) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "STATUS".into(),
        "TEAM/MONITOR".into(),
        "SINCE".into(),
        "LAST OUTCOME".into(),
    ]];
    for i in incidents {
        rows.push([
            format!("#{}", i.id),
            i.status.as_str().to_string(),
            format!("{}/{}", i.team, i.monitor_id),
            i.opened_at.format("%Y-%m-%d %H:%M").to_string(),
            i.outcome.summary(),
        ]);
    }
    table(&rows)
}
