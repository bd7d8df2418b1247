//! `ripple demo`: seed the bundled warehouse, run every monitor, show the incidents.

use crate::app::App;
use crate::clock::SystemClock;
use crate::config::WarehouseConfig;
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Forget all incidents first (start the demo from a clean state).
    #[arg(long)]
    pub reset: bool,
}

pub async fn run(config: &Path, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let WarehouseConfig::Sqlite {
        path,
        seed: Some(seed),
    } = &cfg.warehouse
    else {
        eprintln!("`ripple demo` needs a SQLite warehouse with a `seed:` file (see ripple.yaml)");
        return Ok(ExitCode::from(2));
    };
    let state = cfg.resolve(&cfg.state.path);
    if args.reset && state.exists() {
        std::fs::remove_file(&state)?;
    }
    let datasets = crate::demo::seed_warehouse(
        &cfg.resolve(path),
        &cfg.resolve(seed),
        crate::clock::Clock::now(&SystemClock),
    )?;
    println!("seeded demo warehouse: datasets {}\n", datasets.join(", "));
    let app = App::from_config(cfg, Arc::new(SystemClock)).await?;
    let summary = app.run_once().await?;
    println!();
    super::run::print_summary(&summary);
    println!("\nopen incidents:");
    println!(
        "{}",
        super::run::incidents_table(&app.store.incidents(true).await?)
    );
    Ok(ExitCode::SUCCESS)
}
