//! The intent journal: a row before each call that creates something remote, so a
//! crash or a lost response is reconciled (looked up) instead of repeated. One table
//! (`intents`, schema v7) for every destination, keyed by (scope, event key).

use super::{Store, ms};
use chrono::{DateTime, Utc};

/// Where a remote create stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Written before the call: the thing may or may not exist.
    Started,
    /// The thing exists.
    Done,
}

impl Intent {
    fn as_str(self) -> &'static str {
        match self {
            Intent::Started => "started",
            Intent::Done => "done",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Intent> {
        match s {
            "started" => Ok(Intent::Started),
            "done" => Ok(Intent::Done),
            other => anyhow::bail!("unknown intent state `{other}` in the state store"),
        }
    }
}

impl Store {
    /// The journal's entry for `key` in `scope` (`slack`, `github`).
    pub async fn intent(&self, scope: &str, key: &str) -> anyhow::Result<Option<Intent>> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT state FROM intents WHERE scope = $1 AND event_key = $2")
                .bind(scope)
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        s.as_deref().map(Intent::parse).transpose()
    }

    /// Records (or advances) an intent.
    pub async fn set_intent(
        &self,
        scope: &str,
        key: &str,
        incident_id: i64,
        state: Intent,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO intents (scope, event_key, incident_id, state, at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (scope, event_key) DO UPDATE SET state = excluded.state",
        )
        .bind(scope)
        .bind(key)
        .bind(incident_id)
        .bind(state.as_str())
        .bind(ms(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
