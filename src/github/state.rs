//! What Ripple remembers about GitHub: which issue serves which incident, and which
//! comments were posted. Tables from `store/schema_v2_github.sql`.
//!
//! Every API call that creates something (an issue, a comment) is preceded by a
//! persisted intent, so a crash or a lost response is reconciled (find by marker)
//! instead of repeated.

use crate::store::{Store, from_ms, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Where an incident's issue is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Intent to create persisted; the issue may or may not exist yet.
    Creating,
    /// Attached to an existing open issue; the "failing again" comment may be pending.
    Adopting,
    /// Attached to an issue that was closed; reopen and comment may be pending.
    Reopening,
    Open,
    /// Recovered; the issue was left open (`on_recovery: comment`).
    Resolved,
    Closed,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Creating => "creating",
            LinkState::Adopting => "adopting",
            LinkState::Reopening => "reopening",
            LinkState::Open => "open",
            LinkState::Resolved => "resolved",
            LinkState::Closed => "closed",
        }
    }

    fn parse(s: &str) -> LinkState {
        [
            LinkState::Creating,
            LinkState::Adopting,
            LinkState::Reopening,
            LinkState::Open,
            LinkState::Resolved,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .unwrap_or(LinkState::Closed)
    }
}

/// An incident's issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub incident_id: i64,
    pub repo: String,
    pub number: Option<u64>,
    pub state: LinkState,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Whether a comment was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentState {
    Started,
    Done,
}

fn link(r: &sqlx::sqlite::SqliteRow) -> Link {
    Link {
        incident_id: r.get("incident_id"),
        repo: r.get("repo"),
        number: r.get::<Option<i64>, _>("issue_number").map(|n| n as u64),
        state: LinkState::parse(r.get("state")),
        closed_at: r.get::<Option<i64>, _>("closed_at").map(from_ms),
    }
}

impl Store {
    pub async fn github_link(&self, incident_id: i64) -> anyhow::Result<Option<Link>> {
        let row = sqlx::query("SELECT * FROM github_issues WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(link))
    }

    /// The most recent earlier incident of this fingerprint that had an issue in `repo`.
    pub async fn github_previous_link(
        &self,
        fingerprint: &str,
        repo: &str,
        before_incident: i64,
    ) -> anyhow::Result<Option<Link>> {
        let row = sqlx::query(
            "SELECT * FROM github_issues WHERE fingerprint = $1 AND repo = $2 AND incident_id < $3
               AND issue_number IS NOT NULL ORDER BY incident_id DESC LIMIT 1",
        )
        .bind(fingerprint)
        .bind(repo)
        .bind(before_incident)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(link))
    }

    /// Whether a later incident has taken the issue over (its recovery must not close it).
    pub async fn github_issue_taken_over(&self, l: &Link) -> anyhow::Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM github_issues WHERE repo = $1 AND issue_number = $2
               AND incident_id > $3",
        )
        .bind(&l.repo)
        .bind(l.number.map(|n| n as i64))
        .bind(l.incident_id)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    /// Records the intent (or the attachment); a second insert for one incident is a no-op.
    pub async fn github_insert_link(
        &self,
        incident_id: i64,
        fingerprint: &str,
        l: &Link,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO github_issues (incident_id, fingerprint, repo, issue_number, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id) DO NOTHING",
        )
        .bind(incident_id)
        .bind(fingerprint)
        .bind(&l.repo)
        .bind(l.number.map(|n| n as i64))
        .bind(l.state.as_str())
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn github_update_link(&self, l: &Link) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE github_issues SET issue_number = $2, state = $3, closed_at = $4
             WHERE incident_id = $1",
        )
        .bind(l.incident_id)
        .bind(l.number.map(|n| n as i64))
        .bind(l.state.as_str())
        .bind(l.closed_at.map(ms))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn github_comment_state(&self, key: &str) -> anyhow::Result<Option<CommentState>> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT state FROM github_comments WHERE event_key = $1")
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        Ok(s.map(|s| match s.as_str() {
            "done" => CommentState::Done,
            _ => CommentState::Started,
        }))
    }

    /// Marks a comment as about to be posted, or as posted.
    pub async fn github_set_comment(
        &self,
        key: &str,
        incident_id: i64,
        number: u64,
        state: CommentState,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let state = match state {
            CommentState::Started => "started",
            CommentState::Done => "done",
        };
        sqlx::query(
            "INSERT INTO github_comments (event_key, incident_id, issue_number, state, at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (event_key) DO UPDATE SET state = excluded.state",
        )
        .bind(key)
        .bind(incident_id)
        .bind(number as i64)
        .bind(state)
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every incident's link (tests and diagnostics).
    pub async fn github_links(&self) -> anyhow::Result<Vec<Link>> {
        let rows = sqlx::query("SELECT * FROM github_issues ORDER BY incident_id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(link).collect())
    }
}
