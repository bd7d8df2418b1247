//! The HTTP surface: `/healthz` (the process answers); with the live app `/readyz`
//! (rules loaded, first cycle done, not shutting down) and `/metrics` (Prometheus); and
//! Slack's `/slack/commands` and `/slack/interactivity`.
//!
//! - this module: the routers and what their handlers share;
//! - [`listen`]: the accept loop that serves them (timeouts, body limit, drain);
//! - [`gate`]: which connections are admitted (global and per-client caps, fairness).

pub mod gate;
pub mod listen;

pub use listen::serve;

use crate::app::live::Live;
use crate::slack::Handler;
use crate::slack::replay::ReplayGuard;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Router, routing::get};
use std::sync::Arc;

/// What handlers share: the live app (swapped on reload).
#[derive(Clone)]
pub struct ServerState {
    pub live: Arc<Live>,
}

/// The stateless routes.
pub fn router() -> Router {
    Router::new().route("/healthz", get(|| async { "ok\n" }))
}

/// Health, readiness and metrics of the live app.
pub fn router_with(state: ServerState) -> Router {
    let stateful = Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    router().merge(stateful)
}

/// `/healthz` and the Slack endpoints with a given handler and the record of requests
/// seen (tests, embedding).
pub fn slack_router(handler: Arc<Handler>, guard: ReplayGuard) -> Router {
    router().merge(crate::slack::http::routes(handler, guard))
}

/// Everything `ripple serve` serves; replays are recorded in the live app's store.
pub fn serve_router(state: ServerState, slack: Arc<Handler>) -> Router {
    let guard = ReplayGuard::new(state.live.app().store.clone());
    router_with(state).merge(crate::slack::http::routes(slack, guard))
}

/// The Slack handler over the live app, with the signing secret from the environment.
/// Without a bot token it still verifies signatures and answers commands; it just
/// cannot make channels (the app has no Slack notifier).
pub fn slack_handler(live: Arc<Live>) -> Arc<Handler> {
    let secret = crate::config::Secrets::from_env().slack_signing_secret;
    let clock = live.app().clock.clone();
    let mut handler = Handler::new(live, secret, clock);
    handler.deliver_after_change = true;
    Arc::new(handler)
}

async fn readyz(State(s): State<ServerState>) -> impl IntoResponse {
    let app = s.live.app();
    let store_ok = app.store.ping().await.is_ok();
    match (s.live.is_ready(), store_ok) {
        (true, true) => (StatusCode::OK, "ready\n".to_string()),
        (false, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: starting or shutting down\n".into(),
        ),
        (_, false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: state store unavailable\n".into(),
        ),
    }
}

async fn metrics(State(s): State<ServerState>) -> impl IntoResponse {
    let body = s.live.app().metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
