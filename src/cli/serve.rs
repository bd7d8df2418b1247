//! `ripple serve`: the long-running process.

use crate::app::App;
use crate::app::scheduler::Scheduler;
use crate::clock::SystemClock;
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address for `/healthz` (and later the Slack endpoints). `PORT` is honoured as on Cloud Run.
    #[arg(long)]
    pub listen: Option<String>,
}

pub async fn run(config: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let listen = args.listen.unwrap_or_else(|| match std::env::var("PORT") {
        Ok(p) => format!("0.0.0.0:{p}"),
        Err(_) => "0.0.0.0:8080".into(),
    });
    let app = Arc::new(App::from_config(cfg, Arc::new(SystemClock)).await?);
    for p in &app.rules.problems {
        eprintln!("skipped: {p}");
    }
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!(
        "ripple serving on http://{} with {} monitor(s)",
        listener.local_addr()?,
        app.rules.monitors.len()
    );
    tokio::spawn(crate::slack::socket::run(app.clone()));
    let http = axum::serve(listener, crate::server::router(app.clone()))
        .with_graceful_shutdown(shutdown());
    tokio::select! {
        r = http => r?,
        r = schedule_forever(app) => r?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn schedule_forever(app: Arc<App>) -> anyhow::Result<()> {
    let mut scheduler = Scheduler::new(app.clock.now());
    loop {
        let now = app.clock.now();
        let next = Scheduler::next_due(&app.rules.monitors, now)
            .unwrap_or(now + chrono::Duration::minutes(1));
        // Wake at the next tick, but at least once a minute for the dead-man's switch.
        let wait = (next - now)
            .min(chrono::Duration::minutes(1))
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(wait).await;
        if let Err(e) = scheduler.tick(&app).await {
            tracing::error!(error = %e, "scheduler tick failed; retrying next tick");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
