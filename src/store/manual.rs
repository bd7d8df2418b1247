//! What people do to incidents by hand: acknowledge (reminders stop) and resolve (the
//! incident closes; a later failing run opens a new one as usual).

use super::{Store, from_ms, ms, outbox, timeline};
use chrono::{DateTime, Utc};

impl Store {
    /// Marks an open incident acknowledged and puts it on the timeline; `false` when it
    /// is not open.
    pub async fn acknowledge(&self, id: i64, by: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut tx = self.write().await?;
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
        timeline::insert(&mut tx, id, now, "acknowledged", &format!("by {by}")).await?;
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
    /// row per destination (the caller's `payload`) in one transaction. `false` when it
    /// was not open.
    pub async fn resolve_by_hand(
        &self,
        id: i64,
        at: DateTime<Utc>,
        detail: &str,
        payload: &str,
        destinations: &[&str],
    ) -> anyhow::Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE incidents SET status = 'resolved', resolved_at = $2, updated_at = $2,
                    last_notified_at = $2 WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let event_id = timeline::insert(&mut tx, id, at, "resolved", detail).await?;
        outbox::enqueue(&mut tx, id, event_id, destinations, payload, at).await?;
        tx.commit().await?;
        Ok(true)
    }
}
