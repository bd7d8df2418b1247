//! What people do to incidents by hand: acknowledge (reminders stop) and resolve (the
//! incident closes; a later failing run opens a new one as usual).

use super::{Store, from_ms, ms};
use crate::incident::{Decision, OpenIncident, UpdateReason};
use crate::notify::Notification;
use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

impl Store {
    /// Marks an open incident acknowledged and puts it on the timeline; `false` when it
    /// is not open.
    pub async fn acknowledge(&self, id: i64, by: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE incidents SET acked_by = $2, acked_at = $3 WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(by)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        timeline(&mut tx, id, now, "acknowledged", &format!("by {by}")).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Who acknowledged an incident, and when.
    pub async fn acknowledgement(
        &self,
        id: i64,
    ) -> anyhow::Result<Option<(String, DateTime<Utc>)>> {
        let row: Option<(Option<String>, Option<i64>)> =
            sqlx::query_as("SELECT acked_by, acked_at FROM incidents WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(match row {
            Some((Some(by), Some(at))) => Some((by, from_ms(at))),
            _ => None,
        })
    }

    /// Resolves an open incident by hand: the change, its timeline entry and one outbox
    /// row per destination in one transaction. `false` when it was not open.
    pub async fn resolve_by_hand(
        &self,
        n: &Notification,
        detail: &str,
        destinations: &[&str],
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let now = ms(n.at);
        let done = sqlx::query(
            "UPDATE incidents SET status = 'resolved', resolved_at = $2, updated_at = $2,
                    last_notified_at = $2 WHERE id = $1 AND status = 'open'",
        )
        .bind(n.incident_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let event_id = timeline(&mut tx, n.incident_id, n.at, "resolved", detail).await?;
        let payload = serde_json::to_string(n)?;
        for dest in destinations {
            sqlx::query(
                "INSERT INTO outbox (incident_id, event_id, destination, payload, created_at, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (event_id, destination) DO NOTHING",
            )
            .bind(n.incident_id)
            .bind(event_id)
            .bind(*dest)
            .bind(&payload)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

async fn timeline(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    at: DateTime<Utc>,
    kind: &str,
    detail: &str,
) -> anyhow::Result<i64> {
    let event_id = sqlx::query_scalar(
        "INSERT INTO incident_events (incident_id, at, kind, detail) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id)
    .bind(ms(at))
    .bind(kind)
    .bind(detail)
    .fetch_one(&mut **tx)
    .await?;
    Ok(event_id)
}

/// While an incident is acknowledged, its reminders stay on the timeline only: someone
/// is on it. Changes of condition and recovery are still told.
pub(super) async fn quiet_if_acked(
    tx: &mut Transaction<'_, Sqlite>,
    open: Option<&OpenIncident>,
    decision: Decision,
) -> anyhow::Result<Decision> {
    let (
        Some(inc),
        Decision::Update {
            condition,
            notify: Some(UpdateReason::Reminder),
        },
    ) = (open, decision)
    else {
        return Ok(decision);
    };
    let acked: Option<i64> = sqlx::query_scalar("SELECT acked_at FROM incidents WHERE id = $1")
        .bind(inc.id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(if acked.is_some() {
        Decision::Update {
            condition,
            notify: None,
        }
    } else {
        decision
    })
}
