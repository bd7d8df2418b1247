//! The serve loop's own state: its last cycle (so a restart knows how long Ripple was
//! down) and operations notices, stored before they are sent.

use super::{Store, from_ms, ms};
use chrono::{DateTime, Utc};

impl Store {
    /// Records that a serve cycle ran at `at`.
    pub async fn beat(&self, at: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO service_beats (id, at_ms) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET at_ms = MAX(at_ms, excluded.at_ms)",
        )
        .bind(ms(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// When the last serve cycle ran, if one ever did.
    pub async fn last_beat(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT at_ms FROM service_beats WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(at.map(from_ms))
    }

    pub async fn add_ops_notice(&self, text: &str, at: DateTime<Utc>) -> anyhow::Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO ops_notices (text, created_ms) VALUES ($1, $2) RETURNING id",
        )
        .bind(text)
        .bind(ms(at))
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// Notices not sent yet, oldest first.
    pub async fn unsent_ops_notices(&self) -> anyhow::Result<Vec<(i64, String)>> {
        let rows =
            sqlx::query_as("SELECT id, text FROM ops_notices WHERE sent_ms IS NULL ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        Ok(rows)
    }

    pub async fn ops_notice_sent(&self, id: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("UPDATE ops_notices SET sent_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(ms(at))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
