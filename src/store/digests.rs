//! Digest state: each digest's latest message and the slots claimed (schema v5).

use super::{Store, from_ms, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// What the store remembers of a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestState {
    pub known_since: DateTime<Utc>,
    pub last_slot_at: Option<DateTime<Utc>>,
    pub last_handle: Option<String>,
    pub last_all_clear: bool,
}

/// One message sent for a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestSend {
    pub slot_at: Option<DateTime<Utc>>,
    pub sent_at: DateTime<Utc>,
    pub handle: Option<String>,
    pub action: String,
    pub all_clear: bool,
}

impl Store {
    /// The digest's state, creating it (known since `now`) on first sight.
    pub async fn digest_state(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<DigestState> {
        sqlx::query(
            "INSERT INTO digest_state (name, known_since, updated_at) VALUES ($1, $2, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        let r = sqlx::query("SELECT * FROM digest_state WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        Ok(DigestState {
            known_since: from_ms(r.get("known_since")),
            last_slot_at: r.get::<Option<i64>, _>("last_slot_at").map(from_ms),
            last_handle: r.get("last_handle"),
            last_all_clear: r.get::<i64, _>("last_all_clear") == 1,
        })
    }

    /// Claims a slot before sending it; false when it was claimed before (sent, or being
    /// sent by another replica).
    pub async fn claim_digest_slot(
        &self,
        name: &str,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let claimed = sqlx::query(
            "INSERT INTO digest_sends (name, slot_at, sent_at, action, all_clear)
             VALUES ($1, $2, $3, 'claimed', 0) ON CONFLICT (name, slot_at) DO NOTHING",
        )
        .bind(name)
        .bind(ms(slot))
        .bind(ms(now))
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1;
        Ok(claimed)
    }

    /// Gives a claimed slot back after a failed send, so the next cycle tries again.
    pub async fn release_digest_slot(&self, name: &str, slot: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM digest_sends WHERE name = $1 AND slot_at = $2 AND handle IS NULL")
            .bind(name)
            .bind(ms(slot))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a message posted or edited for a digest (its slot, when scheduled).
    pub async fn record_digest_send(
        &self,
        name: &str,
        slot: Option<DateTime<Utc>>,
        send: &DigestSend,
    ) -> anyhow::Result<()> {
        let mut tx = self.write().await?;
        // A scheduled send fills in its claimed row; an unscheduled one (`--now`) adds one.
        let sql = match slot {
            Some(_) => {
                "UPDATE digest_sends SET sent_at = $3, handle = $4, action = $5, all_clear = $6
                 WHERE name = $1 AND slot_at = $2"
            }
            None => {
                "INSERT INTO digest_sends (name, slot_at, sent_at, handle, action, all_clear)
                 VALUES ($1, $2, $3, $4, $5, $6)"
            }
        };
        sqlx::query(sql)
            .bind(name)
            .bind(slot.map(ms))
            .bind(ms(send.sent_at))
            .bind(&send.handle)
            .bind(&send.action)
            .bind(i64::from(send.all_clear))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE digest_state SET last_handle = $2, last_all_clear = $3, updated_at = $4,
                    last_slot_at = CASE WHEN $5 > COALESCE(last_slot_at, -1) THEN $5 ELSE last_slot_at END
             WHERE name = $1",
        )
        .bind(name)
        .bind(&send.handle)
        .bind(i64::from(send.all_clear))
        .bind(ms(send.sent_at))
        .bind(slot.map(ms))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every message sent for a digest, oldest first (tests, diagnostics).
    pub async fn digest_sends(&self, name: &str) -> anyhow::Result<Vec<DigestSend>> {
        let rows = sqlx::query("SELECT * FROM digest_sends WHERE name = $1 ORDER BY id")
            .bind(name)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| DigestSend {
                slot_at: r.get::<Option<i64>, _>("slot_at").map(from_ms),
                sent_at: from_ms(r.get("sent_at")),
                handle: r.get("handle"),
                action: r.get("action"),
                all_clear: r.get::<i64, _>("all_clear") == 1,
            })
            .collect())
    }
}
