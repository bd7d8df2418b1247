//! What Ripple remembers about Slack: where each incident's root message lives, whether
//! it has a channel, and which thread replies were posted (`store/schema_v4_slack.sql`).

use crate::store::{Store, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// An incident's Slack presence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Link {
    pub incident_id: i64,
    pub fingerprint: String,
    pub escalated: bool,
    /// `none` | `creating` | `created` | `ready`.
    pub channel_state: String,
    pub channel_name: Option<String>,
    pub channel_id: Option<String>,
    pub root_ts: Option<String>,
    /// `none` | `posting` | `posted` | `resolved`.
    pub root_state: String,
}

/// Whether a thread reply was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostState {
    Started,
    Done,
}

fn link(r: &sqlx::sqlite::SqliteRow) -> Link {
    Link {
        incident_id: r.get("incident_id"),
        fingerprint: r.get("fingerprint"),
        escalated: r.get::<i64, _>("escalated") == 1,
        channel_state: r.get("channel_state"),
        channel_name: r.get("channel_name"),
        channel_id: r.get("channel_id"),
        root_ts: r.get("root_ts"),
        root_state: r.get("root_state"),
    }
}

impl Store {
    pub async fn slack_link(&self, incident_id: i64) -> anyhow::Result<Option<Link>> {
        let row = sqlx::query("SELECT * FROM slack_incidents WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(link))
    }

    /// Records a new link; a second insert for one incident keeps the first.
    pub async fn slack_insert_link(&self, l: &Link, now: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO slack_incidents (incident_id, fingerprint, escalated, channel_state,
                 channel_name, channel_id, root_ts, root_state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (incident_id) DO NOTHING",
        )
        .bind(l.incident_id)
        .bind(&l.fingerprint)
        .bind(i64::from(l.escalated))
        .bind(&l.channel_state)
        .bind(&l.channel_name)
        .bind(&l.channel_id)
        .bind(&l.root_ts)
        .bind(&l.root_state)
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn slack_update_link(&self, l: &Link) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE slack_incidents SET escalated = $2, channel_state = $3, channel_name = $4,
                 channel_id = $5, root_ts = $6, root_state = $7
             WHERE incident_id = $1",
        )
        .bind(l.incident_id)
        .bind(i64::from(l.escalated))
        .bind(&l.channel_state)
        .bind(&l.channel_name)
        .bind(&l.channel_id)
        .bind(&l.root_ts)
        .bind(&l.root_state)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes (or renews) the lease to create the incident's channel. Another worker's
    /// lease younger than `stale_before` wins; a crashed worker's lease expires.
    pub async fn slack_claim_channel(
        &self,
        incident_id: i64,
        me: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE slack_incidents SET claim_by = $2, claim_at = $3
             WHERE incident_id = $1 AND (claim_by IS NULL OR claim_by = $2 OR claim_at < $4)",
        )
        .bind(incident_id)
        .bind(me)
        .bind(ms(now))
        .bind(ms(stale_before))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn slack_post_state(&self, key: &str) -> anyhow::Result<Option<PostState>> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT state FROM slack_messages WHERE event_key = $1")
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        Ok(s.map(|s| match s.as_str() {
            "done" => PostState::Done,
            _ => PostState::Started,
        }))
    }

    pub async fn slack_set_post(
        &self,
        key: &str,
        incident_id: i64,
        state: PostState,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let state = match state {
            PostState::Started => "started",
            PostState::Done => "done",
        };
        sqlx::query(
            "INSERT INTO slack_messages (event_key, incident_id, state, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (event_key) DO UPDATE SET state = excluded.state",
        )
        .bind(key)
        .bind(incident_id)
        .bind(state)
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every incident's Slack link (tests and diagnostics).
    pub async fn slack_links(&self) -> anyhow::Result<Vec<Link>> {
        let rows = sqlx::query("SELECT * FROM slack_incidents ORDER BY incident_id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(link).collect())
    }
}
