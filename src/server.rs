//! The HTTP surface: `/healthz` now; Slack endpoints and `/metrics` plug in here.

use axum::{Router, routing::get};

/// The router served by `ripple serve`.
pub fn router() -> Router {
    Router::new().route("/healthz", get(|| async { "ok\n" }))
}
