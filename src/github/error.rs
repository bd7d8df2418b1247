//! GitHub API failures and how long to wait before trying again.
//!
//! Everything a delivery can hit becomes an [`ApiError`]; the outbox then reschedules
//! the step. GitHub asks for patience in three ways and each is honoured: `Retry-After`
//! (seconds or an HTTP date), `x-ratelimit-remaining: 0` with `x-ratelimit-reset`
//! (epoch seconds), and a secondary rate limit that says so only in its message
//! (GitHub's advice: wait at least a minute). 5xx and transport errors get the
//! dispatcher's exponential back-off.

use crate::notify::NotifyError;
use chrono::{DateTime, Utc};
use http::HeaderMap;
use std::time::Duration;

/// A failed GitHub call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status; `None` when no response came back (connection refused, timeout).
    pub status: Option<u16>,
    pub message: String,
    /// How long GitHub asked us to wait, when it did.
    pub retry_after: Option<Duration>,
}

/// A secondary rate limit without headers: GitHub documents "wait at least one minute".
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

impl ApiError {
    /// No response at all.
    pub fn transport(what: &str, e: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: None,
            message: format!("GitHub {what}: {e}"),
            retry_after: None,
        }
    }

    /// Classifies an unsuccessful response; `body` is GitHub's JSON error (or anything).
    pub fn from_response(
        what: &str,
        status: u16,
        headers: &HeaderMap,
        body: &str,
        now: DateTime<Utc>,
    ) -> ApiError {
        let detail = github_message(body);
        let retry_after = match status {
            403 | 429 => rate_limit_wait(headers, &detail, now),
            _ => None,
        };
        let kind = match (status, retry_after) {
            (403 | 429, Some(_)) => "rate limited",
            (500..=599, _) => "unavailable",
            _ => "refused",
        };
        ApiError {
            status: Some(status),
            message: format!("GitHub {kind} {what} (HTTP {status}): {detail}"),
            retry_after,
        }
    }

    pub fn is_status(&self, status: u16) -> bool {
        self.status == Some(status)
    }
}

impl From<ApiError> for NotifyError {
    fn from(e: ApiError) -> NotifyError {
        NotifyError {
            message: e.message,
            retry_after: e.retry_after,
        }
    }
}

/// GitHub's `{"message": ..., "errors": [...]}`, flattened to one line.
fn github_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.chars().take(200).collect();
    };
    let mut out = v["message"].as_str().unwrap_or("no message").to_string();
    if let Some(errors) = v["errors"].as_array() {
        for e in errors {
            let part = e["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string());
            out.push_str("; ");
            out.push_str(&part);
        }
    }
    out
}

fn rate_limit_wait(headers: &HeaderMap, message: &str, now: DateTime<Utc>) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(v) = header("retry-after") {
        return retry_after_value(v, now);
    }
    if header("x-ratelimit-remaining") == Some("0")
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())
    {
        let secs = (reset - now.timestamp()).max(1);
        return Some(Duration::from_secs(secs as u64));
    }
    message
        .to_lowercase()
        .contains("secondary rate limit")
        .then_some(SECONDARY_WAIT)
}

/// `Retry-After` is either delta-seconds or an HTTP date.
fn retry_after_value(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v.trim()).ok()?.to_utc();
    let wait = (at - now).to_std().unwrap_or_default();
    Some(wait.max(Duration::from_secs(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn retry_after_seconds_and_dates_are_honoured() {
        let e = ApiError::from_response(
            "create",
            403,
            &headers(&[("retry-after", "90")]),
            "{}",
            now(),
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(90)));
        let date = "Fri, 15 Jan 2027 08:02:00 GMT";
        let at = DateTime::parse_from_rfc2822(date).unwrap().to_utc();
        let two_min_before = at - chrono::Duration::minutes(2);
        let h = headers(&[("retry-after", date)]);
        let e = ApiError::from_response("x", 429, &h, "", two_min_before);
        assert_eq!(e.retry_after, Some(Duration::from_secs(120)));
        let e = ApiError::from_response("x", 429, &h, "", at);
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)), "never zero");
    }

    #[test]
    fn primary_limit_waits_until_reset() {
        let reset = (now().timestamp() + 300).to_string();
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ]);
        let e = ApiError::from_response(
            "list",
            403,
            &h,
            r#"{"message":"API rate limit exceeded"}"#,
            now(),
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(300)));
        assert!(e.message.contains("rate limited"), "{}", e.message);
    }

    #[test]
    fn secondary_limit_without_headers_waits_a_minute() {
        let body = r#"{"message":"You have exceeded a secondary rate limit."}"#;
        let e = ApiError::from_response("create", 403, &HeaderMap::new(), body, now());
        assert_eq!(e.retry_after, Some(SECONDARY_WAIT));
    }

    #[test]
    fn server_errors_leave_back_off_to_the_outbox() {
        let e = ApiError::from_response("create", 502, &HeaderMap::new(), "<html>", now());
        assert_eq!(e.retry_after, None);
        assert_eq!(e.message, "GitHub unavailable create (HTTP 502): <html>");
    }

    #[test]
    fn validation_errors_keep_githubs_words() {
        let body = r#"{"message":"Validation Failed","errors":[{"value":"kenji","resource":"Issue","field":"assignees","code":"invalid"}]}"#;
        let e = ApiError::from_response("create", 422, &HeaderMap::new(), body, now());
        assert!(e.message.contains("Validation Failed; {"), "{}", e.message);
        assert!(e.message.contains("assignees"), "{}", e.message);
    }
}
