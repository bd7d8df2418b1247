//! Silences: hold back a monitor's notifications until a time, with a reason and an author.

use super::{Store, from_ms, ms};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// One silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Silence {
    pub id: i64,
    pub monitor_id: String,
    pub until: DateTime<Utc>,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Adds a silence; returns its id.
    pub async fn add_silence(
        &self,
        monitor_id: &str,
        until: DateTime<Utc>,
        reason: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO silences (monitor_id, until, reason, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(monitor_id)
        .bind(ms(until))
        .bind(reason)
        .bind(by)
        .bind(ms(now))
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// Ends every active silence of a monitor now; returns how many were lifted.
    pub async fn lift_silences(&self, monitor_id: &str, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE silences SET lifted_at = $2 WHERE monitor_id = $1 AND lifted_at IS NULL AND until > $2",
        )
        .bind(monitor_id)
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Silences in force at `now`, soonest to end first.
    pub async fn active_silences(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Silence>> {
        let rows = sqlx::query(
            "SELECT * FROM silences WHERE lifted_at IS NULL AND until > $1 ORDER BY until, id",
        )
        .bind(ms(now))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(silence).collect())
    }

    /// The silence in force for a monitor at `now`, if any (the longest one).
    pub async fn silence_for(
        &self,
        monitor_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Silence>> {
        let row = sqlx::query(
            "SELECT * FROM silences WHERE monitor_id = $1 AND lifted_at IS NULL AND until > $2
             ORDER BY until DESC LIMIT 1",
        )
        .bind(monitor_id)
        .bind(ms(now))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(silence))
    }
}

fn silence(r: &sqlx::sqlite::SqliteRow) -> Silence {
    Silence {
        id: r.get("id"),
        monitor_id: r.get("monitor_id"),
        until: from_ms(r.get("until")),
        reason: r.get("reason"),
        created_by: r.get("created_by"),
        created_at: from_ms(r.get("created_at")),
    }
}

/// Whether a silence holds `monitor_id` at `now`, inside a run's transaction.
pub(super) async fn active_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    monitor_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM silences WHERE monitor_id = $1 AND lifted_at IS NULL AND until > $2",
    )
    .bind(monitor_id)
    .bind(ms(now))
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}
