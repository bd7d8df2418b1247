//! A loopback fake of the BigQuery REST API (and of IAM Credentials) for what the emulator
//! cannot show: 4xx error bodies, 5xx and rate limits, `jobComplete: false`, ASSERT
//! failures, `INFORMATION_SCHEMA.JOBS_BY_PROJECT` rows, impersonation. It answers from a
//! script of replies, in the real API's JSON shapes, and records every request.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ripple::clock::ManualClock;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub auth: String,
    pub body: Value,
}

/// A scripted reply.
pub type Reply = (u16, Value);

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    /// Replies to `jobs.query`, in order; the last one repeats.
    queries: VecDeque<Reply>,
    /// Replies to `getQueryResults`, in order; the last one repeats.
    results: VecDeque<Reply>,
    /// Moved forward on each `getQueryResults`: time passes while a job runs.
    clock: Option<(ManualClock, chrono::Duration)>,
}

/// A running fake; dropped with the test.
#[derive(Clone)]
pub struct FakeBigQuery {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeBigQuery {
    pub async fn start() -> FakeBigQuery {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app =
            axum::Router::new().fallback(move |m, u, h, b| answer(shared.clone(), m, u, h, b));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeBigQuery { url, state }
    }

    pub fn api_url(&self) -> String {
        format!("{}/bigquery/v2", self.url)
    }

    pub fn iam_url(&self) -> String {
        format!("{}/iam/v1", self.url)
    }

    pub fn on_query(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().queries.extend(replies);
    }

    pub fn on_results(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().results.extend(replies);
    }

    /// Each `getQueryResults` moves `clock` forward by `step`.
    pub fn advance_on_poll(&self, clock: &ManualClock, step: chrono::Duration) {
        self.state.lock().unwrap().clock = Some((clock.clone(), step));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The requests whose path ends with `suffix` (e.g. `/queries`, `/cancel`).
    pub fn seen_at(&self, suffix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.ends_with(suffix))
            .collect()
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut st = state.lock().unwrap();
    st.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_string(),
        auth,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let (code, value) = if path.contains("/serviceAccounts/") {
        impersonate(&path)
    } else if path.ends_with("/cancel") {
        (
            200,
            json!({"kind": "bigquery#jobCancelResponse", "job": {}}),
        )
    } else if method == Method::POST && path.ends_with("/queries") {
        next(&mut st.queries)
    } else if method == Method::GET && path.contains("/queries/") {
        if let Some((clock, step)) = &st.clock {
            clock.advance(*step);
        }
        next(&mut st.results)
    } else {
        not_found(&path)
    };
    (StatusCode::from_u16(code).unwrap(), axum::Json(value)).into_response()
}

fn next(q: &mut VecDeque<Reply>) -> Reply {
    if q.len() > 1 {
        q.pop_front().unwrap()
    } else {
        q.front()
            .cloned()
            .unwrap_or_else(|| not_found("(no reply scripted)"))
    }
}

/// IAM Credentials `generateAccessToken`: a token naming the account, valid for an hour.
fn impersonate(path: &str) -> Reply {
    let target = path.rsplit('/').next().unwrap_or("");
    let email = target.trim_end_matches(":generateAccessToken");
    (
        200,
        json!({"accessToken": format!("token-for-{email}"), "expireTime": "2099-01-01T00:00:00Z"}),
    )
}

fn not_found(path: &str) -> Reply {
    error(404, "notFound", &format!("Not found: {path}"))
}

/// The real API's error body for a failed call (HTTP 4xx/5xx).
pub fn error(code: u16, reason: &str, message: &str) -> Reply {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        _ => "UNAVAILABLE",
    };
    (
        code,
        json!({"error": {"code": code, "message": message, "status": status,
            "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

/// A completed query with `total` rows (none of them sent: `maxResults=0`).
pub fn done(total: u64) -> Reply {
    (
        200,
        json!({"kind": "bigquery#queryResponse", "jobComplete": true,
            "jobReference": {"projectId": "p", "jobId": "job_1", "location": "US"},
            "schema": {"fields": [{"name": "id", "type": "INTEGER", "mode": "NULLABLE"}]},
            "totalRows": total.to_string(), "totalBytesProcessed": "1024", "rows": []}),
    )
}

/// A job still running.
pub fn running(job_id: &str) -> Reply {
    (
        200,
        json!({"kind": "bigquery#queryResponse", "jobComplete": false,
            "jobReference": {"projectId": "p", "jobId": job_id, "location": "US"}}),
    )
}

/// HTTP 200 whose `errors` array reports the job's failure (the emulator's way).
pub fn failed_job(reason: &str, message: &str) -> Reply {
    (
        200,
        json!({"kind": "bigquery#queryResponse", "jobComplete": true,
            "jobReference": {"projectId": "p", "jobId": "job_1"}, "totalRows": "0",
            "errors": [{"reason": reason, "message": message, "location": "query"}]}),
    )
}
