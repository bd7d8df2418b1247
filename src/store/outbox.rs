//! The outbox: pending notifications, delivered at least once and recorded exactly once.
//!
//! The payload is opaque text built by the caller (the app serialises a
//! `notify::Notification`); the store never looks inside it.
//!
//! Deliveries for one (incident, destination) happen under a lease ([`Lease`]): one
//! holder at a time, in this process or another on the same database; outcomes are
//! recorded only while the lease is still the holder's (its token fences them).

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

/// The right to deliver one (incident, destination) queue until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub incident_id: i64,
    pub destination: String,
    /// Grows with every new holder; outcomes recorded under an older token are refused.
    pub token: i64,
}

fn item(r: &sqlx::sqlite::SqliteRow) -> OutboxItem {
    OutboxItem {
        id: r.get("id"),
        incident_id: r.get("incident_id"),
        destination: r.get("destination"),
        attempts: r.get("attempts"),
        payload: r.get("payload"),
    }
}

impl Store {
    /// Takes the lease of an (incident, destination) queue until `until`, unless another
    /// holder's lease is still running at `now`.
    pub async fn lease_outbox(
        &self,
        incident_id: i64,
        destination: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Option<Lease>> {
        let token: Option<i64> = sqlx::query_scalar(
            "INSERT INTO outbox_leases (incident_id, destination, token, holder, expires_at)
             VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (incident_id, destination) DO UPDATE
                SET token = outbox_leases.token + 1, holder = excluded.holder,
                    expires_at = excluded.expires_at
                WHERE outbox_leases.expires_at <= $5
             RETURNING token",
        )
        .bind(incident_id)
        .bind(destination)
        .bind(holder)
        .bind(ms(until))
        .bind(ms(now))
        .fetch_optional(self.pool())
        .await?;
        Ok(token.map(|token| Lease {
            incident_id,
            destination: destination.to_string(),
            token,
        }))
    }

    /// Who holds an (incident, destination) queue's running lease at `now`, under which
    /// token; `None` when nobody does.
    pub async fn outbox_lease_holder(
        &self,
        incident_id: i64,
        destination: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(i64, String)>> {
        let row = sqlx::query(
            "SELECT token, holder FROM outbox_leases
             WHERE incident_id = $1 AND destination = $2 AND expires_at > $3",
        )
        .bind(incident_id)
        .bind(destination)
        .bind(ms(now))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| (r.get("token"), r.get("holder"))))
    }

    /// Takes over the lease held under exactly `token` (a holder the caller found dead)
    /// until `until`; `None` when the lease moved on meanwhile (someone else took it).
    pub async fn take_over_outbox(
        &self,
        incident_id: i64,
        destination: &str,
        token: i64,
        holder: &str,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Option<Lease>> {
        let token: Option<i64> = sqlx::query_scalar(
            "UPDATE outbox_leases SET token = token + 1, holder = $4, expires_at = $5
             WHERE incident_id = $1 AND destination = $2 AND token = $3
             RETURNING token",
        )
        .bind(incident_id)
        .bind(destination)
        .bind(token)
        .bind(holder)
        .bind(ms(until))
        .fetch_optional(self.pool())
        .await?;
        Ok(token.map(|token| Lease {
            incident_id,
            destination: destination.to_string(),
            token,
        }))
    }

    /// Pushes a held lease's expiry `by` further (a delivery still running).
    pub async fn extend_outbox(&self, lease: &Lease, by: chrono::Duration) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox_leases SET expires_at = expires_at + $4
             WHERE incident_id = $1 AND destination = $2 AND token = $3 AND expires_at > 0",
        )
        .bind(lease.incident_id)
        .bind(&lease.destination)
        .bind(lease.token)
        .bind(by.num_milliseconds())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Gives the lease back (its token stays, so older holders remain fenced off).
    pub async fn release_outbox(&self, lease: &Lease) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox_leases SET expires_at = 0
             WHERE incident_id = $1 AND destination = $2 AND token = $3",
        )
        .bind(lease.incident_id)
        .bind(&lease.destination)
        .bind(lease.token)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The undelivered rows of a leased queue, oldest first, read after the lease was
    /// taken (a round that finished in between may have delivered some).
    pub async fn leased_outbox(
        &self,
        lease: &Lease,
    ) -> anyhow::Result<Vec<(OutboxItem, DateTime<Utc>)>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, destination, attempts, payload, next_attempt_at FROM outbox
             WHERE incident_id = $1 AND destination = $2 AND delivered_at IS NULL ORDER BY id",
        )
        .bind(lease.incident_id)
        .bind(&lease.destination)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| (item(r), super::from_ms(r.get("next_attempt_at"))))
            .collect())
    }

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
        Ok(rows.iter().map(item).collect())
    }

    /// Records a delivery, if `lease` still holds its queue; false when the lease was
    /// lost (expired and taken over): the newer holder decides.
    pub async fn mark_delivered(
        &self,
        id: i64,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> anyhow::Result<bool> {
        // The fence: the row's queue is still leased under this token.
        let done = sqlx::query(
            "UPDATE outbox SET delivered_at = $2, attempts = attempts + 1
             WHERE id = $1 AND delivered_at IS NULL AND EXISTS (SELECT 1 FROM outbox_leases l WHERE l.incident_id = outbox.incident_id
                AND l.destination = outbox.destination AND l.token = $3 AND l.expires_at > 0)",
        )
        .bind(id)
        .bind(ms(now))
        .bind(lease.token)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt and when to try again, under the same fence.
    pub async fn mark_failed(
        &self,
        id: i64,
        retry_at: DateTime<Utc>,
        error: &str,
        lease: &Lease,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $4
             WHERE id = $1 AND delivered_at IS NULL AND EXISTS (SELECT 1 FROM outbox_leases l WHERE l.incident_id = outbox.incident_id
                AND l.destination = outbox.destination AND l.token = $3 AND l.expires_at > 0)",
        )
        .bind(id)
        .bind(ms(retry_at))
        .bind(lease.token)
        .bind(error)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
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
