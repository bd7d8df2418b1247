//! The outbox: pending notifications, delivered at least once and recorded exactly once.
//!
//! The payload is opaque text built by the caller (the app serialises a
//! `notify::Notification`); the store never looks inside it.

use super::{Store, ms};
use chrono::{DateTime, Utc};
use sqlx::{Row, Sqlite, Transaction};

/// One pending delivery.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    pub incident_id: i64,
    pub destination: String,
    pub attempts: i64,
    pub payload: String,
}

/// One row per destination for a timeline event, inside `tx`; a second enqueue of the
/// same (event, destination) is a no-op. Returns the rows written.
pub(super) async fn enqueue(
    tx: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    event_id: i64,
    destinations: &[&str],
    payload: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for dest in destinations {
        let done = sqlx::query(
            "INSERT INTO outbox (incident_id, event_id, destination, payload, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (event_id, destination) DO NOTHING",
        )
        .bind(incident_id)
        .bind(event_id)
        .bind(*dest)
        .bind(payload)
        .bind(ms(at))
        .execute(&mut **tx)
        .await?;
        n += done.rows_affected() as usize;
    }
    Ok(n)
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
                    payload: r.get("payload"),
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

    /// The payload queued for an incident's opening (any destination): what an
    /// escalation by hand re-posts in the new channel.
    pub async fn opened_payload(&self, incident_id: i64) -> anyhow::Result<Option<String>> {
        let payload = sqlx::query_scalar(
            "SELECT o.payload FROM outbox o JOIN incident_events e ON e.id = o.event_id
             WHERE o.incident_id = $1 AND e.kind = 'opened' ORDER BY o.id LIMIT 1",
        )
        .bind(incident_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(payload)
    }

    /// Undelivered notifications (due or waiting for a retry).
    pub async fn pending_outbox(&self) -> anyhow::Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}
