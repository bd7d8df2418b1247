//! `ripple digest [NAME] [--now]`: preview a digest, or send it now through the
//! configured sink (the console without Slack).

use crate::app::App;
use crate::clock::SystemClock;
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The digest's name in `ripple.yaml` (default: every digest).
    pub name: Option<String>,
    /// Send it now (recorded, but not counted as a scheduled slot).
    #[arg(long)]
    pub now: bool,
}

pub async fn run(config: &Path, args: DigestArgs) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let app = App::from_config(cfg, Arc::new(SystemClock)).await?;
    let chosen: Vec<_> = match &args.name {
        Some(n) => match app.digest_config(n) {
            Some(d) => vec![d.clone()],
            None => {
                let names: Vec<&str> = app.config.digests.iter().map(|d| d.name.as_str()).collect();
                eprintln!(
                    "no digest `{n}` in the config (digests: {})",
                    names.join(", ")
                );
                return Ok(ExitCode::from(2));
            }
        },
        None => app.config.digests.clone(),
    };
    if chosen.is_empty() {
        eprintln!("no digests configured: add them under `digests:` in ripple.yaml");
        return Ok(ExitCode::from(2));
    }
    for d in &chosen {
        if args.now {
            app.send_digest(d, None).await?;
        } else {
            print!(
                "{}",
                crate::digest::render::text(&app.build_digest(d).await?)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
