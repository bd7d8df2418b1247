//! The incident timeline: one row per thing that happened, oldest first.

use super::ms;
use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

/// Appends a timeline entry inside `tx`; returns its id (the outbox's event id).
pub(super) async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    at: DateTime<Utc>,
    kind: &str,
    detail: &str,
) -> anyhow::Result<i64> {
    let event_id = sqlx::query_scalar(
        "INSERT INTO incident_events (incident_id, at, kind, detail) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(incident_id)
    .bind(ms(at))
    .bind(kind)
    .bind(detail)
    .fetch_one(&mut **tx)
    .await?;
    Ok(event_id)
}
