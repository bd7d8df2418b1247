//! Monitor outcomes and the runner that produces them.
//!
//! An outcome is the whole truth about one run: healthy data returns zero rows (Pass),
//! rows are failures (Fail), a query error is its own state (Error, not the data's
//! fault), and a run that never completed in time is Missed (the dead-man's switch).

pub mod deadman;
pub mod kinds;
pub mod runner;

use crate::warehouse::{QueryError, QueryResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The result of one monitor run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// Rows came back (or an assertion was false, with its message).
    Fail {
        rows: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sample: Vec<serde_json::Value>,
    },
    /// The query could not run: SQL error, timeout, permissions.
    Error {
        message: String,
    },
    /// No completed run by `expected_by` (schedule + grace).
    Missed {
        expected_by: DateTime<Utc>,
    },
}

impl Outcome {
    /// Maps a warehouse answer to an outcome. Transient unavailability is an Error too:
    /// the run did not tell us anything about the data.
    pub fn from_result(r: Result<QueryResult, QueryError>) -> Outcome {
        match r {
            Ok(q) if q.assertion.is_some() => Outcome::Fail {
                rows: q.rows,
                message: q.assertion.map(|a| format!("assertion failed: {a}")),
                sample: q.sample,
            },
            Ok(q) if q.rows == 0 => Outcome::Pass,
            Ok(q) => Outcome::Fail {
                rows: q.rows,
                message: None,
                sample: q.sample,
            },
            Err(e) => Outcome::Error {
                message: e.to_string(),
            },
        }
    }

    /// A short, stable word for tables, metrics and titles.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail { .. } => "fail",
            Outcome::Error { .. } => "error",
            Outcome::Missed { .. } => "missed",
        }
    }

    pub fn is_failure(&self) -> bool {
        !matches!(self, Outcome::Pass)
    }

    /// One line a person can read: `3 rows`, `assertion failed: …` (a failure's own
    /// message, e.g. a false ASSERT or a stale table), `error: …`.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Pass => "passing".into(),
            Outcome::Fail {
                message: Some(m), ..
            } => m.clone(),
            Outcome::Fail { rows, .. } => {
                format!("{rows} row{}", if *rows == 1 { "" } else { "s" })
            }
            Outcome::Error { message } => format!("error: {message}"),
            Outcome::Missed { expected_by } => {
                format!(
                    "missed: no completed run by {}",
                    expected_by.format("%Y-%m-%d %H:%M UTC")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: u64) -> Result<QueryResult, QueryError> {
        Ok(QueryResult {
            rows: n,
            ..Default::default()
        })
    }

    #[test]
    fn zero_rows_pass_and_rows_fail() {
        assert_eq!(Outcome::from_result(rows(0)), Outcome::Pass);
        assert_eq!(Outcome::from_result(rows(3)).summary(), "3 rows");
        assert_eq!(Outcome::from_result(rows(1)).summary(), "1 row");
    }

    #[test]
    fn errors_are_their_own_state() {
        let o = Outcome::from_result(Err(QueryError::Sql("no such column: x".into())));
        assert_eq!(o.label(), "error");
        assert_eq!(o.summary(), "error: no such column: x");
    }

    #[test]
    fn false_assertions_fail_with_their_message() {
        let r = Ok(QueryResult {
            rows: 0,
            assertion: Some("orphans".into()),
            sample: vec![],
        });
        assert_eq!(
            Outcome::from_result(r).summary(),
            "assertion failed: orphans"
        );
    }
}
