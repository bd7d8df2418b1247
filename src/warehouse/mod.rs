//! The warehouse seam: run one monitor's SQL and learn how many rows came back.
//!
//! A run returns the row count and nothing else unless the rule opts in to a small
//! sample; Ripple never needs to see the data to know it is broken.

pub mod bigquery;
pub mod metadata;
pub mod sqlite;

use crate::rules::Check;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use metadata::{JobRow, ViewRow};
use std::collections::BTreeMap;
use std::time::Duration;

/// One monitor run, as the warehouse sees it.
#[derive(Debug, Clone)]
pub struct MonitorQuery {
    pub monitor_id: String,
    pub team: String,
    pub check: Check,
    /// Rows to return as a sample (0 = count only).
    pub sample: u32,
    pub timeout: Duration,
    /// The service account to run as (impersonated); `None` runs as Ripple itself.
    pub service_account: Option<String>,
    /// Named parameters (`@run_time`); a warehouse binds those the SQL mentions.
    pub params: BTreeMap<String, ParamValue>,
}

/// A named query parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    String(String),
    Int64(i64),
    Timestamp(DateTime<Utc>),
}

/// What a dry run tells us without running the query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DryRun {
    /// Bytes the query would read, where the warehouse knows (BigQuery does).
    pub bytes_processed: Option<u64>,
}

/// What a completed run tells us.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    pub rows: u64,
    pub sample: Vec<serde_json::Value>,
    /// The message of the first false `ASSERT`, when the check is an assertion.
    pub assertion: Option<String>,
}

/// Why a run did not complete.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The warehouse rejected or failed the query; the message is the warehouse's own.
    #[error("{0}")]
    Sql(String),
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("warehouse unavailable: {0}")]
    Unavailable(String),
}

/// The rows of a metadata query (usage statistics), values as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl Rows {
    /// The index of a column, or an error naming the columns that exist.
    pub fn column(&self, name: &str) -> Result<usize, QueryError> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            QueryError::Sql(format!(
                "the query has no column `{name}` (it has: {})",
                self.columns.join(", ")
            ))
        })
    }
}

/// A place monitors run. Implementations must be safe to call concurrently.
#[async_trait]
pub trait Warehouse: Send + Sync {
    async fn run(&self, query: &MonitorQuery) -> Result<QueryResult, QueryError>;

    /// Runs a read-only metadata query with named `@param` string parameters and returns
    /// at most `limit` rows. Used for usage statistics, on an interval, never per incident.
    async fn query_rows(
        &self,
        _sql: &str,
        _params: &[(&str, String)],
        _limit: usize,
    ) -> Result<Rows, QueryError> {
        Err(QueryError::Sql(
            "this warehouse does not support metadata queries".into(),
        ))
    }

    /// Validates the query on the warehouse without running it.
    async fn dry_run(&self, _query: &MonitorQuery) -> Result<DryRun, QueryError> {
        Err(QueryError::Unavailable(
            "this warehouse cannot dry-run queries".into(),
        ))
    }

    /// Every view and its defining SQL (for lineage).
    async fn views(&self) -> Result<Vec<ViewRow>, QueryError> {
        Ok(vec![])
    }

    /// Query jobs created at or after `since` (for lineage and usage statistics).
    async fn jobs(&self, _since: DateTime<Utc>) -> Result<Vec<JobRow>, QueryError> {
        Ok(vec![])
    }
}
