//! The HTTP surface: `/healthz` (the process answers), and with the live app
//! `/readyz` (rules loaded, first cycle done, not shutting down) and `/metrics`
//! (Prometheus). Slack endpoints plug in here, sharing [`ServerState`].

use crate::app::live::Live;
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

/// Everything `ripple serve` serves.
pub fn router_with(state: ServerState) -> Router {
    let stateful = Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    router().merge(stateful)
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
