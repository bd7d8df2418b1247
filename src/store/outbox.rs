//! The outbox: pending notifications, delivered at least once and recorded exactly once.

use super::{Store, ms};
use crate::notify::Notification;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One pending delivery.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    pub incident_id: i64,
    pub destination: String,
    pub attempts: i64,
    pub notification: Notification,
}

impl Store {
    /// Deliveries due at `now`, oldest first.
    pub async fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> anyhow::Result<Vec<OutboxItem>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, destination, attempts, payload FROM outbox
             WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(ms(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxItem {
                    id: r.get("id"),
                    incident_id: r.get("incident_id"),
                    destination: r.get("destination"),
                    attempts: r.get("attempts"),
                    notification: serde_json::from_str(r.get("payload"))?,
                })
            })
            .collect()
    }

    pub async fn mark_delivered(&self, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("UPDATE outbox SET delivered_at = $2, attempts = attempts + 1 WHERE id = $1")
            .bind(id)
            .bind(ms(now))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn mark_failed(
        &self,
        id: i64,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1")
            .bind(id)
            .bind(ms(retry_at))
            .bind(error)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Undelivered notifications (due or waiting for a retry).
    pub async fn pending_outbox(&self) -> anyhow::Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}
