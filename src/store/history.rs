//! Per-monitor history beside the runs: measurements of checks (the null ratio's
//! baseline) and the facts the dead-man's switch reads (schema v5).

use super::{MonitorInfo, Store, from_ms, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::HashMap;

impl Store {
    /// Records a measurement of a check (a null ratio).
    pub async fn add_check_value(
        &self,
        monitor_id: &str,
        at: DateTime<Utc>,
        value: f64,
    ) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO check_history (monitor_id, at, value) VALUES ($1, $2, $3)")
            .bind(monitor_id)
            .bind(ms(at))
            .bind(value)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A check's measurements at or after `since`, oldest first.
    pub async fn check_values(
        &self,
        monitor_id: &str,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<f64>> {
        let rows = sqlx::query_scalar(
            "SELECT value FROM check_history WHERE monitor_id = $1 AND at >= $2 ORDER BY at, id",
        )
        .bind(monitor_id)
        .bind(ms(since))
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// Every monitor's state at once, keyed by monitor id.
    pub async fn monitor_infos(&self) -> anyhow::Result<HashMap<String, MonitorInfo>> {
        let rows = sqlx::query("SELECT * FROM monitor_state")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let info = MonitorInfo {
                    consecutive_failures: r.get::<i64, _>("consecutive_failures") as u32,
                    last_outcome: r.get("last_outcome"),
                    last_completed_at: r.get::<Option<i64>, _>("last_completed_at").map(from_ms),
                    first_seen_at: from_ms(r.get("first_seen_at")),
                };
                (r.get("monitor_id"), info)
            })
            .collect())
    }
}
