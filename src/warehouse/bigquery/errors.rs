//! BigQuery's ways of saying no, made one: an HTTP 4xx/5xx error body, or an HTTP 200
//! whose `errors` array reports a failed job (what the emulator, and a job that failed
//! after it started, do). Both become a [`Failure`]; `Transient` ones are retried.

use crate::rules::Check;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::error_proto::ErrorProto;

/// Error reasons that say "try again later", not "your query is wrong".
const TRANSIENT_REASONS: [&str; 5] = [
    "backendError",
    "internalError",
    "rateLimitExceeded",
    "jobBackendError",
    "jobInternalError",
];

/// Why an API call or a job did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try: 5xx, `rateLimitExceeded`, `backendError`, a dropped connection.
    Transient(String),
    /// BigQuery refused or failed the query (`invalidQuery`, `notFound`, an `ASSERT`, …).
    Query { reason: String, message: String },
    /// Not the query's fault and not worth retrying: credentials, a malformed answer.
    Other(String),
}

impl Failure {
    /// Classifies a failed API call.
    pub fn from_call(e: BQError) -> Failure {
        match e {
            BQError::ResponseError { error } => {
                let e = error.error;
                let reason = e
                    .errors
                    .first()
                    .and_then(|x| x.get("reason").cloned())
                    .unwrap_or_default();
                classify(Some(e.code), reason, e.message)
            }
            // A connection that failed, timed out, or answered with something that is not
            // BigQuery's JSON (a proxy's 502 page) is transport trouble.
            BQError::RequestError(e) if !e.is_builder() => Failure::Transient(e.to_string()),
            BQError::AuthError(_) | BQError::YupAuthError(_) | BQError::NoToken => {
                Failure::Other(format!("cannot authenticate to BigQuery: {e}"))
            }
            other => Failure::Other(other.to_string()),
        }
    }

    /// Classifies the `errors` array of a job that BigQuery reported with HTTP 200. The
    /// first error is the job's own; later ones (`stopped`) are consequences.
    pub fn from_job_errors(errors: &[ErrorProto]) -> Option<Failure> {
        let first = errors.first()?;
        let reason = first.reason.clone().unwrap_or_default();
        let message = first.message.clone().unwrap_or_else(|| reason.clone());
        Some(classify(None, reason, message))
    }
}

fn classify(code: Option<i64>, reason: String, message: String) -> Failure {
    let server_side = code.is_some_and(|c| c >= 500 || c == 429);
    if server_side || TRANSIENT_REASONS.contains(&reason.as_str()) {
        Failure::Transient(message)
    } else {
        Failure::Query { reason, message }
    }
}

/// When a failed assert monitor's error is one of its own `ASSERT`s, the assertion's
/// description (BigQuery's message without its `at [line:col]` suffix).
///
/// BigQuery reports a false `ASSERT` as an ordinary `invalidQuery` error whose message is
/// the description (or `Assertion failed` without one), so the message is matched against
/// the monitor's own assertions rather than guessed from the reason: a missing table in
/// the same monitor must stay an Error, not become a Fail.
pub fn assertion_message(check: &Check, message: &str) -> Option<String> {
    let Check::Assert { sql } = check else {
        return None;
    };
    let text = strip_location(message);
    let text = text.strip_prefix("Query error: ").unwrap_or(text);
    if text.starts_with("Assertion failed") {
        return Some(text.to_string());
    }
    let statements = crate::rules::sql::parse(sql).ok()?;
    statements.iter().find_map(|s| match s {
        sqlparser::ast::Statement::Assert {
            message: Some(m), ..
        } => {
            let description = crate::warehouse::sqlite::literal_text(m);
            (text == description).then_some(description)
        }
        _ => None,
    })
}

/// `"x must hold at [3:1]"` → `"x must hold"`.
fn strip_location(message: &str) -> &str {
    let trimmed = message.trim_end();
    match trimmed.rfind(" at [") {
        Some(i) if trimmed.ends_with(']') => &trimmed[..i],
        _ => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(reason: &str, message: &str) -> ErrorProto {
        ErrorProto {
            reason: Some(reason.into()),
            message: Some(message.into()),
            ..Default::default()
        }
    }

    #[test]
    fn job_errors_are_classified_by_reason() {
        let f = Failure::from_job_errors(&[proto("invalidQuery", "Syntax error")]);
        assert!(matches!(f, Some(Failure::Query { .. })));
        let f = Failure::from_job_errors(&[proto("backendError", "try again")]);
        assert_eq!(f, Some(Failure::Transient("try again".into())));
        assert_eq!(Failure::from_job_errors(&[]), None);
    }

    #[test]
    fn assertions_are_recognised_by_their_own_description() {
        let check = Check::Assert {
            sql: "ASSERT (SELECT COUNT(*) FROM t) = 0 AS 'no orphans'".into(),
        };
        assert_eq!(
            assertion_message(&check, "no orphans at [1:1]").as_deref(),
            Some("no orphans")
        );
        assert_eq!(
            assertion_message(&check, "Not found: Table t at [1:29]"),
            None
        );
        let rows = Check::Rows {
            sql: "SELECT 1".into(),
        };
        assert_eq!(assertion_message(&rows, "no orphans"), None);
    }

    #[test]
    fn an_assertion_without_description_is_recognised() {
        let check = Check::Assert {
            sql: "ASSERT FALSE".into(),
        };
        assert_eq!(
            assertion_message(&check, "Assertion failed at [1:1]").as_deref(),
            Some("Assertion failed")
        );
    }
}
