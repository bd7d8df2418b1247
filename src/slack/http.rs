//! `/slack/commands` and `/slack/interactivity`: signed HTTP requests from Slack.
//!
//! Every request is verified against `SLACK_SIGNING_SECRET` on its raw body before
//! anything is parsed; a missing, stale (> 5 min) or forged signature is a 401, and so
//! is any request when no signing secret is configured. A verified request is then
//! recorded by the [`ReplayGuard`] and acted on only the first time it arrives.

use super::handler::{Handler, Invocation};
use super::replay::{RETRY_HEADER, ReplayGuard, Verdict};
use super::signature;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::collections::HashMap;
use std::sync::Arc;

/// What the Slack endpoints share: the handler and the record of requests seen.
#[derive(Clone)]
struct Endpoints {
    handler: Arc<Handler>,
    guard: ReplayGuard,
}

/// The Slack routes, to merge into the server's router. There is no way to serve them
/// without a replay guard.
pub fn routes(handler: Arc<Handler>, guard: ReplayGuard) -> Router {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactivity", post(interactivity))
        .with_state(Endpoints { handler, guard })
}

/// `Ok` when the request is Slack's and new; otherwise the answer to give instead.
async fn admit(e: &Endpoints, headers: &HeaderMap, body: &[u8]) -> Result<(), Response> {
    if !verified(&e.handler, headers, body) {
        return Err(unauthorized());
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let ts = header("x-slack-request-timestamp").unwrap_or_default();
    let sig = header("x-slack-signature").unwrap_or_default();
    let retry = headers.contains_key(RETRY_HEADER);
    let now = e.handler.clock.now();
    match e.guard.check(ts, sig, retry, now).await {
        Verdict::Act => Ok(()),
        Verdict::Replayed => {
            tracing::warn!("Slack request refused: replayed");
            Err((StatusCode::UNAUTHORIZED, "replayed request\n").into_response())
        }
        Verdict::Retried => Err(StatusCode::OK.into_response()),
        Verdict::Unavailable => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "cannot record the request; try again\n",
        )
            .into_response()),
    }
}

/// `true` when the request is Slack's; the reason for a refusal is logged.
fn verified(h: &Handler, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(secret) = &h.signing_secret else {
        tracing::warn!("Slack request refused: SLACK_SIGNING_SECRET is not set");
        return false;
    };
    let checked = signature::verify(
        secret.expose(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        h.clock.now(),
    );
    if let Err(e) = &checked {
        tracing::warn!(reason = %e, "Slack request refused");
    }
    checked.is_ok()
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "invalid Slack signature\n").into_response()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn commands(State(e): State<Endpoints>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = admit(&e, &headers, &body).await {
        return refused;
    }
    let h = e.handler;
    let mut f = form(&body);
    let inv = Invocation {
        user_id: f.remove("user_id").unwrap_or_default(),
        text: f.remove("text").unwrap_or_default(),
        response_url: f.remove("response_url").filter(|u| !u.is_empty()),
    };
    axum::Json(super::reply_json(&h.command(inv).await)).into_response()
}

async fn interactivity(State(e): State<Endpoints>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = admit(&e, &headers, &body).await {
        return refused;
    }
    let h = e.handler;
    let payload = form(&body).remove("payload").unwrap_or_default();
    let Ok(p) = serde_json::from_str::<serde_json::Value>(&payload) else {
        return (StatusCode::BAD_REQUEST, "no interaction payload\n").into_response();
    };
    let user = p["user"]["id"].as_str().unwrap_or_default().to_string();
    let url = p["response_url"].as_str().map(str::to_string);
    let actions = p["actions"].as_array().cloned().unwrap_or_default();
    // Acknowledge now; the answer goes to response_url.
    tokio::spawn(async move {
        for a in actions {
            let action = a["action_id"].as_str().unwrap_or_default();
            let value = a["value"].as_str().unwrap_or_default();
            let r = h.button(action, value, &user).await;
            if let Some(url) = &url {
                h.respond(url, &r).await;
            }
        }
    });
    StatusCode::OK.into_response()
}
