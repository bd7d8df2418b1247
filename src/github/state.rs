//! What Ripple remembers about GitHub: which issue serves which incident
//! (`store/schema_v2_github.sql`), reached through [`IssueLinks`]. Comments go through
//! the shared intent journal (`notify::once`, scope `github`).
//!
//! Every API call that creates something (an issue, a comment) is preceded by a
//! persisted intent, so a crash or a lost response is reconciled (find by marker)
//! instead of repeated. States carry their data (an open issue *has* a number); an
//! unknown stored state, or one missing its number, is an error.

use crate::store::{Store, from_ms, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Where an incident's issue is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Intent to create persisted; the issue may or may not exist yet.
    Creating,
    /// Attached to an existing open issue; the "failing again" comment may be pending.
    Adopting {
        number: u64,
    },
    /// Attached to an issue that was closed; reopen and comment may be pending.
    Reopening {
        number: u64,
    },
    Open {
        number: u64,
    },
    /// Recovered; the issue was left open (`on_recovery: comment`).
    Resolved {
        number: u64,
        at: DateTime<Utc>,
    },
    Closed {
        number: u64,
        at: DateTime<Utc>,
    },
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Creating => "creating",
            LinkState::Adopting { .. } => "adopting",
            LinkState::Reopening { .. } => "reopening",
            LinkState::Open { .. } => "open",
            LinkState::Resolved { .. } => "resolved",
            LinkState::Closed { .. } => "closed",
        }
    }

    /// The issue's number, once there is one.
    pub fn number(self) -> Option<u64> {
        match self {
            LinkState::Creating => None,
            LinkState::Adopting { number }
            | LinkState::Reopening { number }
            | LinkState::Open { number }
            | LinkState::Resolved { number, .. }
            | LinkState::Closed { number, .. } => Some(number),
        }
    }

    /// When the incident recovered (and the issue was closed or left open).
    pub fn closed_at(self) -> Option<DateTime<Utc>> {
        match self {
            LinkState::Resolved { at, .. } | LinkState::Closed { at, .. } => Some(at),
            _ => None,
        }
    }

    /// Opening has finished (open, or already recovered).
    pub fn settled(self) -> bool {
        matches!(
            self,
            LinkState::Open { .. } | LinkState::Resolved { .. } | LinkState::Closed { .. }
        )
    }

    fn parse(s: &str, number: Option<u64>, at: Option<DateTime<Utc>>) -> anyhow::Result<Self> {
        Ok(match (s, number, at) {
            ("creating", _, _) => LinkState::Creating,
            ("adopting", Some(number), _) => LinkState::Adopting { number },
            ("reopening", Some(number), _) => LinkState::Reopening { number },
            ("open", Some(number), _) => LinkState::Open { number },
            ("resolved", Some(number), Some(at)) => LinkState::Resolved { number, at },
            ("closed", Some(number), Some(at)) => LinkState::Closed { number, at },
            (s, _, _) => anyhow::bail!(
                "GitHub link state `{s}` is unknown or misses its issue number or time"
            ),
        })
    }
}

/// An incident's issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub incident_id: i64,
    pub repo: String,
    pub state: LinkState,
}

impl Link {
    pub fn number(&self) -> Option<u64> {
        self.state.number()
    }
}

fn link(r: &sqlx::sqlite::SqliteRow) -> anyhow::Result<Link> {
    let number = r.get::<Option<i64>, _>("issue_number").map(|n| n as u64);
    let at = r.get::<Option<i64>, _>("closed_at").map(from_ms);
    Ok(Link {
        incident_id: r.get("incident_id"),
        repo: r.get("repo"),
        state: LinkState::parse(r.get("state"), number, at)?,
    })
}

/// The `github_issues` table.
#[derive(Clone)]
pub struct IssueLinks {
    store: Store,
}

impl IssueLinks {
    pub fn new(store: Store) -> IssueLinks {
        IssueLinks { store }
    }

    pub async fn get(&self, incident_id: i64) -> anyhow::Result<Option<Link>> {
        let row = sqlx::query("SELECT * FROM github_issues WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(link).transpose()
    }

    /// The most recent earlier incident of this fingerprint that had an issue in `repo`.
    pub async fn previous(
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
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(link).transpose()
    }

    /// Whether a later incident has taken the issue over (its recovery must not close it).
    pub async fn taken_over(&self, l: &Link) -> anyhow::Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM github_issues WHERE repo = $1 AND issue_number = $2
               AND incident_id > $3",
        )
        .bind(&l.repo)
        .bind(l.number().map(|n| n as i64))
        .bind(l.incident_id)
        .fetch_one(self.store.pool())
        .await?;
        Ok(n > 0)
    }

    /// Records the intent (or the attachment); a second insert for one incident is a no-op.
    pub async fn insert(
        &self,
        fingerprint: &str,
        l: &Link,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO github_issues (incident_id, fingerprint, repo, issue_number, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id) DO NOTHING",
        )
        .bind(l.incident_id)
        .bind(fingerprint)
        .bind(&l.repo)
        .bind(l.number().map(|n| n as i64))
        .bind(l.state.as_str())
        .bind(ms(now))
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    pub async fn update(&self, l: &Link) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE github_issues SET issue_number = $2, state = $3, closed_at = $4
             WHERE incident_id = $1",
        )
        .bind(l.incident_id)
        .bind(l.number().map(|n| n as i64))
        .bind(l.state.as_str())
        .bind(l.state.closed_at().map(ms))
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Every incident's link (digests, tests and diagnostics).
    pub async fn all(&self) -> anyhow::Result<Vec<Link>> {
        let rows = sqlx::query("SELECT * FROM github_issues ORDER BY incident_id")
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(link).collect()
    }
}
