//! `ripple impact TABLE...`: what a break in these tables hurts, and who to tell.

use crate::app::App;
use crate::clock::SystemClock;
use crate::impact::render;
use clap::{Args, ValueEnum};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImpactFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ImpactArgs {
    /// Broken tables, fully qualified as in the lineage (`dataset.table` or `project.dataset.table`).
    #[arg(required = true)]
    pub tables: Vec<String>,
    /// How many ranked tables to show (default: `impact.top`).
    #[arg(long)]
    pub top: Option<usize>,
    #[arg(long, value_enum, default_value_t = ImpactFormat::Text)]
    pub format: ImpactFormat,
}

pub async fn run(config: &Path, args: ImpactArgs) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let app = App::from_config(cfg, Arc::new(SystemClock)).await?;
    app.refresh_usage_if_stale().await?;
    let graph = app.lineage_graph().await?;
    let unknown: Vec<&String> = args.tables.iter().filter(|t| !graph.contains(t)).collect();
    for t in &unknown {
        eprintln!("note: `{t}` is not in the lineage graph; nothing is known downstream of it");
    }
    let report = app.impact_report(&args.tables, args.top).await?;
    let text = match args.format {
        ImpactFormat::Text => render::text(&report),
        ImpactFormat::Json => render::json(&report),
        ImpactFormat::Markdown => render::markdown(&report),
    };
    println!("{}", text.trim_end());
    Ok(ExitCode::SUCCESS)
}
