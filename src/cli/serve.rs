//! `ripple serve`: the long-running process. HTTP (`/healthz`, `/readyz`, `/metrics`)
//! and the scheduler loop (`app::serve`) run side by side; SIGTERM or Ctrl-C stops
//! scheduling, lets in-flight runs finish and flushes notifications before exiting.

use crate::app::App;
use crate::app::live::Live;
use crate::server::ServerState;
use clap::Args;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address for `/healthz`, `/readyz`, `/metrics` (and the Slack endpoints). `PORT`
    /// is honoured as on Cloud Run.
    #[arg(long)]
    pub listen: Option<String>,
    /// Start a new state store even though Slack or GitHub carry an earlier
    /// deployment's incidents (they are adopted; numbering continues above them).
    #[arg(long)]
    pub new_state: bool,
}

pub async fn run(config: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(ExitCode::from(2));
    };
    let listen = args.listen.unwrap_or_else(|| match std::env::var("PORT") {
        Ok(p) => format!("0.0.0.0:{p}"),
        Err(_) => "0.0.0.0:8080".into(),
    });
    let app = App::start(cfg, args.new_state).await?;
    for p in &app.rules.problems {
        eprintln!("skipped: {p}");
    }
    let monitors = app.rules.monitors.len();
    let store = app.store.clone();
    let live = Live::new(app);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!(
        "ripple serving on http://{} with {monitors} monitor(s)",
        listener.local_addr()?
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut http_stop = stop_rx.clone();
    // Slack commands and Socket Mode go through the live app: a rules reload reaches
    // them at once, and they share the app's one Slack notifier.
    let slack = crate::server::slack_handler(live.clone());
    tokio::spawn(crate::slack::socket::run(
        live.app().config.slack.clone(),
        live.clone(),
        live.app().clock.clone(),
    ));
    let router = crate::server::serve_router(ServerState { live: live.clone() }, slack);
    let limits = live.app().config.serve.http.clone();
    let http = async move {
        let stop = async move {
            let _ = http_stop.changed().await;
        };
        crate::server::serve(listener, router, &limits, stop).await;
    };
    let scheduler = crate::app::serve::run(live, stop_rx);
    let signal = async move {
        shutdown_signal().await;
        eprintln!("ripple: shutting down (finishing in-flight runs, flushing notifications)");
        let _ = stop_tx.send(true);
    };
    // One task: the HTTP server and the scheduler stop on the same signal.
    let ((), scheduler, ()) = tokio::join!(http, scheduler, signal);
    scheduler?;
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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
