//! One monitor run as a BigQuery job: `jobs.query` (`maxResults=0` unless a sample is
//! wanted), `getQueryResults` while `jobComplete` is false, `jobs.cancel` when the
//! monitor's timeout expires, and retries of transient failures with jittered backoff.

use super::errors::{Failure, assertion_message};
use super::retry::random_u64;
use super::{BigQueryWarehouse, rows};
use crate::rules::Check;
use crate::warehouse::{DryRun, MonitorQuery, ParamValue, QueryError, QueryResult};
use chrono::{DateTime, Utc};
use gcp_bigquery_client::Client;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::error_proto::ErrorProto;
use gcp_bigquery_client::model::get_query_results_parameters::GetQueryResultsParameters;
use gcp_bigquery_client::model::get_query_results_response::GetQueryResultsResponse;
use gcp_bigquery_client::model::query_parameter::QueryParameter;
use gcp_bigquery_client::model::query_parameter_type::QueryParameterType;
use gcp_bigquery_client::model::query_parameter_value::QueryParameterValue;
use gcp_bigquery_client::model::query_request::QueryRequest;
use gcp_bigquery_client::model::query_response::QueryResponse;
use gcp_bigquery_client::model::table_row::TableRow;
use gcp_bigquery_client::model::table_schema::TableSchema;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// Why a job gave no answer.
pub(super) enum Stop {
    /// The deadline passed.
    Deadline,
    Failed(Failure),
}

/// One response of `jobs.query` or `getQueryResults`, whichever it came from.
#[derive(Default)]
pub(super) struct Page {
    pub complete: bool,
    pub job_id: Option<String>,
    pub errors: Vec<ErrorProto>,
    pub total_rows: Option<u64>,
    pub rows: Vec<TableRow>,
    pub schema: Option<TableSchema>,
    pub page_token: Option<String>,
    pub bytes: Option<u64>,
}

impl Page {
    pub(super) fn from_query(r: QueryResponse) -> Page {
        Page {
            // Servers that omit the flag answer synchronously.
            complete: r.job_complete.unwrap_or(true),
            job_id: r.job_reference.and_then(|j| j.job_id),
            errors: r.errors.unwrap_or_default(),
            total_rows: r.total_rows.and_then(|n| n.parse().ok()),
            rows: r.rows.unwrap_or_default(),
            schema: r.schema,
            page_token: r.page_token,
            bytes: r.total_bytes_processed.and_then(|n| n.parse().ok()),
        }
    }

    fn from_results(r: GetQueryResultsResponse) -> Page {
        Page {
            complete: r.job_complete.unwrap_or(true),
            job_id: r.job_reference.and_then(|j| j.job_id),
            errors: r.errors.unwrap_or_default(),
            total_rows: r.total_rows.and_then(|n| n.parse().ok()),
            rows: r.rows.unwrap_or_default(),
            schema: r.schema,
            page_token: r.page_token,
            bytes: r.total_bytes_processed.and_then(|n| n.parse().ok()),
        }
    }
}

impl BigQueryWarehouse {
    /// One API call, retried while its failure is transient, never past `deadline`.
    pub(super) async fn call<T, F, Fut>(&self, deadline: DateTime<Utc>, mut f: F) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, BQError>>,
    {
        let policy = self.tuning.retry;
        let mut tries = 0;
        loop {
            let remaining = self.remaining(deadline).ok_or(Stop::Deadline)?;
            tries += 1;
            let failure = match tokio::time::timeout(remaining, f()).await {
                Err(_) => return Err(Stop::Deadline),
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => Failure::from_call(e),
            };
            match failure {
                Failure::Transient(m) if tries < policy.attempts => {
                    tracing::warn!(tries, error = %m, "transient BigQuery failure; retrying");
                    tokio::time::sleep(policy.delay(tries).min(remaining)).await;
                }
                Failure::Transient(m) => {
                    let m = format!("{m} (gave up after {tries} tries)");
                    return Err(Stop::Failed(Failure::Transient(m)));
                }
                other => return Err(Stop::Failed(other)),
            }
        }
    }

    /// How long the server may hold one call: well inside the deadline, so its answer (and
    /// the job id needed to cancel) arrives before Ripple gives up waiting.
    fn server_wait(&self, deadline: DateTime<Utc>) -> Option<i32> {
        let remaining = self.remaining(deadline).unwrap_or_default();
        let wait = (remaining * 3 / 4).min(self.tuning.max_wait);
        Some(i32::try_from(wait.as_millis()).unwrap_or(i32::MAX))
    }

    /// The `jobs.query` request of a run. A fresh `requestId` per job makes BigQuery treat
    /// a retried HTTP call as the same job rather than a second one.
    pub(super) fn request(&self, sql: &str, deadline: DateTime<Utc>) -> QueryRequest {
        QueryRequest {
            query: sql.to_string(),
            use_legacy_sql: false,
            location: Some(self.location.clone()),
            timeout_ms: self.server_wait(deadline),
            request_id: Some(format!(
                "ripple-{:016x}{:08x}",
                random_u64(),
                random_u64() as u32
            )),
            ..Default::default()
        }
    }

    fn monitor_request(&self, q: &MonitorQuery, deadline: DateTime<Utc>) -> QueryRequest {
        let params = parameters(q);
        QueryRequest {
            max_results: Some(i32::try_from(q.sample).unwrap_or(0)),
            labels: Some(HashMap::from([
                ("ripple_monitor".to_string(), label_value(&q.monitor_id)),
                ("ripple_team".to_string(), label_value(&q.team)),
            ])),
            parameter_mode: (!params.is_empty()).then(|| "NAMED".to_string()),
            query_parameters: (!params.is_empty()).then_some(params),
            ..self.request(&q.check.bigquery_sql(), deadline)
        }
    }

    /// Polls an unfinished job until it completes; `rows` per page.
    pub(super) async fn wait(
        &self,
        client: &Client,
        mut page: Page,
        rows: u32,
        deadline: DateTime<Utc>,
    ) -> Result<Page, Stop> {
        while !page.complete && page.errors.is_empty() {
            let Some(job_id) = page.job_id.clone() else {
                let m = "BigQuery said the job is not complete but did not name it";
                return Err(Stop::Failed(Failure::Other(m.into())));
            };
            tokio::time::sleep(self.tuning.poll_interval).await;
            match self.results(client, &job_id, rows, None, deadline).await {
                Err(Stop::Deadline) => {
                    self.cancel(client, &job_id).await;
                    return Err(Stop::Deadline);
                }
                other => page = other?,
            }
        }
        Ok(page)
    }

    /// One `getQueryResults` call.
    pub(super) async fn results(
        &self,
        client: &Client,
        job_id: &str,
        rows: u32,
        page_token: Option<String>,
        deadline: DateTime<Utc>,
    ) -> Result<Page, Stop> {
        let params = GetQueryResultsParameters {
            location: Some(self.location.clone()),
            max_results: Some(i32::try_from(rows).unwrap_or(i32::MAX)),
            page_token,
            timeout_ms: self.server_wait(deadline),
            ..Default::default()
        };
        let call = || {
            client
                .job()
                .get_query_results(&self.project, job_id, params.clone())
        };
        Ok(Page::from_results(self.call(deadline, call).await?))
    }

    /// Best effort: a cancelled job stops billing; a failed cancel is only logged.
    async fn cancel(&self, client: &Client, job_id: &str) {
        let call = client
            .job()
            .cancel_job(&self.project, job_id, Some(&self.location));
        match tokio::time::timeout(Duration::from_secs(10), call).await {
            Ok(Ok(_)) => tracing::info!(job_id, "cancelled a BigQuery job past its deadline"),
            Ok(Err(e)) => tracing::warn!(job_id, error = %e, "could not cancel a BigQuery job"),
            Err(_) => tracing::warn!(job_id, "cancelling a BigQuery job timed out"),
        }
    }
}

/// Runs a monitor: the job, its polls, and fresh jobs for job-level transient failures.
pub(super) async fn run_monitor(
    wh: &BigQueryWarehouse,
    client: &Client,
    q: &MonitorQuery,
) -> Result<QueryResult, QueryError> {
    let deadline = wh.deadline(q.timeout);
    let mut tries = 1;
    loop {
        let failure = match run_job(wh, client, q, deadline).await {
            Ok(page) => return Ok(result(q, page)),
            Err(Stop::Deadline) => return Err(QueryError::Timeout(q.timeout)),
            Err(Stop::Failed(f)) => f,
        };
        match (failure, wh.remaining(deadline)) {
            (Failure::Transient(m), Some(remaining)) if tries < wh.tuning.retry.attempts => {
                tracing::warn!(monitor = %q.monitor_id, error = %m, "BigQuery job failed transiently; rerunning");
                tokio::time::sleep(wh.tuning.retry.delay(tries).min(remaining)).await;
                tries += 1;
            }
            (f, _) => return failed(q, f),
        }
    }
}

async fn run_job(
    wh: &BigQueryWarehouse,
    client: &Client,
    q: &MonitorQuery,
    deadline: DateTime<Utc>,
) -> Result<Page, Stop> {
    let request = wh.monitor_request(q, deadline);
    let call = || client.job().query(&wh.project, request.clone());
    let first = Page::from_query(wh.call(deadline, call).await?);
    let page = wh.wait(client, first, q.sample, deadline).await?;
    match Failure::from_job_errors(&page.errors) {
        Some(f) => Err(Stop::Failed(f)),
        None => Ok(page),
    }
}

/// A completed job: its row count (rows of an assert monitor's script are not failures)
/// and, when asked for, the first rows.
fn result(q: &MonitorQuery, page: Page) -> QueryResult {
    if matches!(q.check, Check::Assert { .. }) {
        return QueryResult::default();
    }
    let rows = page.total_rows.unwrap_or(page.rows.len() as u64);
    QueryResult {
        rows,
        sample: rows::sample(page.schema.as_ref(), &page.rows, q.sample),
        assertion: None,
    }
}

/// A false `ASSERT` of the monitor is a Fail with its message; anything else an Error.
fn failed(q: &MonitorQuery, f: Failure) -> Result<QueryResult, QueryError> {
    match f {
        Failure::Query { message, .. } => match assertion_message(&q.check, &message) {
            Some(a) => Ok(QueryResult {
                assertion: Some(a),
                ..Default::default()
            }),
            None => Err(QueryError::Sql(message)),
        },
        Failure::Transient(m) | Failure::Other(m) => Err(QueryError::Unavailable(m)),
    }
}

/// Validates a monitor on BigQuery without running it: SQL errors, and bytes it would read.
pub(super) async fn dry_run(
    wh: &BigQueryWarehouse,
    client: &Client,
    q: &MonitorQuery,
) -> Result<DryRun, QueryError> {
    let deadline = wh.deadline(q.timeout);
    let request = QueryRequest {
        dry_run: Some(true),
        max_results: None,
        ..wh.monitor_request(q, deadline)
    };
    let call = || client.job().query(&wh.project, request.clone());
    let page = match wh.call(deadline, call).await {
        Ok(r) => Page::from_query(r),
        Err(Stop::Deadline) => return Err(QueryError::Timeout(q.timeout)),
        Err(Stop::Failed(f)) => return Err(error(f)),
    };
    match Failure::from_job_errors(&page.errors) {
        Some(f) => Err(error(f)),
        None => Ok(DryRun {
            bytes_processed: page.bytes,
        }),
    }
}

pub(super) fn error(f: Failure) -> QueryError {
    match f {
        Failure::Query { message, .. } => QueryError::Sql(message),
        Failure::Transient(m) | Failure::Other(m) => QueryError::Unavailable(m),
    }
}

/// The run's named parameters that the SQL mentions (BigQuery rejects unused ones in
/// some modes, and sending only what is used keeps job history readable).
fn parameters(q: &MonitorQuery) -> Vec<QueryParameter> {
    let sql = q.check.bigquery_sql();
    let sql = sql.as_ref();
    q.params
        .iter()
        .filter(|(name, _)| mentions(sql, name))
        .map(|(name, value)| {
            let (ty, text) = match value {
                ParamValue::String(s) => ("STRING", s.clone()),
                ParamValue::Int64(n) => ("INT64", n.to_string()),
                ParamValue::Timestamp(t) => (
                    "TIMESTAMP",
                    t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
                ),
            };
            QueryParameter {
                name: Some(name.clone()),
                parameter_type: Some(QueryParameterType {
                    r#type: ty.into(),
                    ..Default::default()
                }),
                parameter_value: Some(QueryParameterValue {
                    value: Some(text),
                    ..Default::default()
                }),
            }
        })
        .collect()
}

/// Whether `sql` contains `@name` as a whole parameter name.
pub(crate) fn mentions(sql: &str, name: &str) -> bool {
    let needle = format!("@{name}");
    sql.match_indices(&needle).any(|(i, _)| {
        let next = sql[i + needle.len()..].chars().next();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Label values: lowercase letters, digits, `_` and `-`, at most 63 characters.
fn label_value(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
            _ => '_',
        })
        .take(63)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_what_bigquery_accepts() {
        assert_eq!(
            label_value("Orders.Without-Payment"),
            "orders_without-payment"
        );
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn parameters_are_matched_by_whole_name() {
        assert!(mentions("WHERE t < @run_time", "run_time"));
        assert!(mentions("WHERE t < @run_time)", "run_time"));
        assert!(!mentions("WHERE t < @run_time_utc", "run_time"));
        assert!(!mentions("WHERE t < now()", "run_time"));
    }
}
