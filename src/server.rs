//! The HTTP surface: `/healthz`, and Slack's `/slack/commands` and
//! `/slack/interactivity` (`/metrics` plugs in here too).

use crate::app::App;
use crate::slack::Handler;
use axum::{Router, routing::get};
use std::sync::Arc;

/// The router served by `ripple serve`, with Slack credentials from the environment.
pub fn router(app: Arc<App>) -> Router {
    let handler = Handler::from_env(app.clone()).unwrap_or_else(|e| {
        tracing::error!(error = %format!("{e:#}"), "Slack client not built; /ripple incident cannot make channels");
        Handler::new(app, None, crate::config::Secrets::from_env().slack_signing_secret)
    });
    router_with(Arc::new(handler))
}

/// The router with a given Slack handler (tests, embedding).
pub fn router_with(handler: Arc<Handler>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(crate::slack::http::routes(handler))
}
