//! `ripple lineage extract|down|up`: the lineage engine's commands, with the sources
//! from `ripple.yaml` (views and job history fetched from the warehouse).

use crate::app::App;
use crate::clock::SystemClock;
pub mod command;

pub use command::LineageCommand;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(config: &Path, cmd: LineageCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let needs_sources = match &cmd {
        LineageCommand::Extract(_) => false,
        LineageCommand::Down(w) | LineageCommand::Up(w) => w.sql_dir.is_none(),
    };
    let code = if needs_sources {
        let Some(cfg) = super::load_config(config) else {
            return Ok(ExitCode::from(2));
        };
        let app = App::from_config(cfg, Arc::new(SystemClock)).await?;
        let (views, jobs) = app.lineage_inputs().await?;
        let sources = app.config.lineage.clone();
        let base = app.config.base_dir.clone();
        command::run(cmd, sources.as_ref(), &base, &views, &jobs, &mut out)?
    } else {
        command::run(cmd, None, Path::new("."), &[], &[], &mut out)?
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(2)))
}
