//! Refreshing usage statistics: run the usage query, fold, cache. On an interval only.

use super::App;
use crate::config::WarehouseConfig;
use crate::impact::{self, UsageIndex, UsageRow};
use crate::warehouse::{QueryError, Rows};
use chrono::{Duration, NaiveDate};
use std::sync::Arc;

/// At most this many (table, user, day) rows are read per refresh.
const MAX_USAGE_ROWS: usize = 2_000_000;

impl App {
    /// The usage query for this deployment: the configured one, or the warehouse's default.
    pub fn usage_query(&self) -> String {
        if let Some(q) = &self.config.impact.usage_query {
            return q.clone();
        }
        match &self.config.warehouse {
            WarehouseConfig::Sqlite { .. } => impact::queries::SQLITE.to_string(),
            WarehouseConfig::Bigquery {
                project, location, ..
            } => impact::queries::bigquery(project, location),
        }
    }

    /// Recomputes the statistics from the warehouse and caches them. Returns the table count.
    pub async fn refresh_usage(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let since = now - Duration::days(i64::from(self.config.impact.days));
        let params = [("since", since.format("%Y-%m-%d %H:%M:%S").to_string())];
        let rows = self
            .warehouse
            .query_rows(&self.usage_query(), &params, MAX_USAGE_ROWS)
            .await
            .map_err(|e| anyhow::anyhow!("the usage query failed: {e}"))?;
        let stats = impact::usage::aggregate(&usage_rows(&rows)?);
        self.store.save_usage(&stats, now).await?;
        let tables = stats.len();
        *self.usage.write().await = Some(Arc::new(UsageIndex::new(stats, Some(now))));
        Ok(tables)
    }

    /// Refreshes when the cache is older than `impact.refresh_interval` (or empty).
    /// A failing refresh keeps the old statistics and is logged: impact is best-effort.
    pub async fn refresh_usage_if_stale(&self) -> anyhow::Result<bool> {
        let at = self.store.usage_refreshed_at().await?;
        let interval = Duration::from_std(self.config.impact.refresh_interval)?;
        if at.is_some_and(|t| self.clock.now() - t < interval) {
            return Ok(false);
        }
        match self.refresh_usage().await {
            Ok(n) => tracing::info!(tables = n, "usage statistics refreshed"),
            Err(e) => {
                tracing::warn!(error = %e, "usage statistics not refreshed; keeping the cached ones")
            }
        }
        Ok(true)
    }

    /// The cached statistics, ranked: loaded from the store once, then kept in memory
    /// and swapped on each refresh (ranking them is the costly part).
    pub async fn usage_index(&self) -> anyhow::Result<Arc<UsageIndex>> {
        if let Some(idx) = self.usage.read().await.clone() {
            return Ok(idx);
        }
        let (stats, at) = self.store.load_usage().await?;
        let idx = Arc::new(UsageIndex::new(stats, at));
        *self.usage.write().await = Some(idx.clone());
        Ok(idx)
    }
}

/// Reads the usage query's columns by name.
fn usage_rows(rows: &Rows) -> Result<Vec<UsageRow>, QueryError> {
    let (t, u, d, j) = (
        rows.column("table_name")?,
        rows.column("user_email")?,
        rows.column("day")?,
        rows.column("jobs")?,
    );
    let bad =
        |what: &str, v: &serde_json::Value| QueryError::Sql(format!("usage query: bad {what} {v}"));
    rows.rows
        .iter()
        .map(|r| {
            let day = r[d]
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok());
            let jobs = r[j]
                .as_u64()
                .or_else(|| r[j].as_str().and_then(|s| s.parse().ok()));
            Ok(UsageRow {
                table: r[t]
                    .as_str()
                    .ok_or_else(|| bad("table_name", &r[t]))?
                    .to_string(),
                user: r[u].as_str().unwrap_or("unknown").to_string(),
                day: day.ok_or_else(|| bad("day", &r[d]))?,
                jobs: jobs.ok_or_else(|| bad("jobs", &r[j]))?,
            })
        })
        .collect()
}
