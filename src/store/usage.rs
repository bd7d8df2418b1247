//! The usage-statistics cache: replaced whole on each refresh, read by every report.
//! Each table's statistics are stored as the caller's JSON (the store knows no model).

use super::{Store, from_ms, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::BTreeMap;

impl Store {
    /// Replaces the cached statistics in one transaction.
    pub async fn save_usage<T: serde::Serialize>(
        &self,
        stats: &BTreeMap<String, T>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM usage_stats")
            .execute(&mut *tx)
            .await?;
        for (table, usage) in stats {
            sqlx::query("INSERT INTO usage_stats (table_name, stats) VALUES ($1, $2)")
                .bind(table)
                .bind(serde_json::to_string(usage)?)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO usage_refresh (id, refreshed_at, tables) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at, tables = excluded.tables",
        )
        .bind(ms(now))
        .bind(stats.len() as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// When the cached statistics were computed (None: never).
    pub async fn usage_refreshed_at(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT refreshed_at FROM usage_refresh WHERE id = 1")
                .fetch_optional(self.pool())
                .await?;
        Ok(at.map(from_ms))
    }

    /// The cached statistics and when they were computed (None: never).
    pub async fn load_usage<T: serde::de::DeserializeOwned>(
        &self,
    ) -> anyhow::Result<(BTreeMap<String, T>, Option<DateTime<Utc>>)> {
        let rows = sqlx::query("SELECT table_name, stats FROM usage_stats")
            .fetch_all(self.pool())
            .await?;
        let mut stats = BTreeMap::new();
        for r in rows {
            stats.insert(r.get("table_name"), serde_json::from_str(r.get("stats"))?);
        }
        let at: Option<i64> =
            sqlx::query_scalar("SELECT refreshed_at FROM usage_refresh WHERE id = 1")
                .fetch_optional(self.pool())
                .await?;
        Ok((stats, at.map(from_ms)))
    }
}
