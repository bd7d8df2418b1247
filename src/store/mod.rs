//! Durable state: monitor runs, incidents with their timelines, and the notification
//! outbox, in SQLite through sqlx.
//!
//! The SQL is written to run on PostgreSQL too (`$n` placeholders, `RETURNING`, partial
//! unique indexes, epoch-millisecond BIGINTs instead of dialect-specific time types), so
//! several replicas can later share one database. The partial unique index
//! `incidents_one_open` is what makes "one open incident per fingerprint" true even if
//! two processes race.

mod digests;
mod file;
mod history;
mod incidents;
mod journal;
mod manual;
mod outbox;
mod seen;
mod service;
mod silences;
mod timeline;
mod usage;

pub use digests::{DigestSend, DigestState};
pub use incidents::{Applied, IncidentRow, MonitorInfo, Planner, RunKey, Status, StoredEvent};
pub use journal::Intent;
pub use outbox::{Lease, OutboxItem};
pub use seen::{Seen, SeenLimits};
pub use silences::Silence;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Ordered schema migrations; each runs once, in its own transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("schema_v1.sql")),
    (2, include_str!("schema_v2_github.sql")),
    (3, include_str!("schema_v3_impact.sql")),
    (4, include_str!("schema_v4_slack.sql")),
    (5, include_str!("schema_v5_digests_history.sql")),
    (6, include_str!("schema_v6_silences.sql")),
    (7, include_str!("schema_v7_intents.sql")),
    (8, include_str!("schema_v8_leases.sql")),
    (9, include_str!("schema_v9_id_floor.sql")),
    (10, include_str!("schema_v10_seen_requests.sql")),
    (11, include_str!("schema_v11_service.sql")),
];

/// The state store.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating when missing) the SQLite store at `path` and migrates it.
    pub async fn open(path: &Path) -> anyhow::Result<Store> {
        Self::open_with(path, crate::config::Synchronous::Full).await
    }

    /// [`Store::open`] with the configured `state.synchronous`.
    pub async fn open_with(path: &Path, sync: crate::config::Synchronous) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the state folder {}", dir.display()))?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match sync {
                crate::config::Synchronous::Full => SqliteSynchronous::Full,
                crate::config::Synchronous::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10));
        Self::connect(opts, 4).await
    }

    /// A private in-memory store (tests).
    pub async fn memory() -> anyhow::Result<Store> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?;
        // One connection: every connection to `:memory:` is a different database.
        Self::connect(opts, 1).await
    }

    /// Two processes starting on a new file race to switch it to WAL and create the
    /// tables; the loser sees "database is locked" even with a busy timeout (a journal
    /// mode change does not wait). It tries again shortly instead of dying.
    async fn connect(opts: SqliteConnectOptions, max: u32) -> anyhow::Result<Store> {
        let mut attempt = 0;
        loop {
            match Self::try_connect(opts.clone(), max).await {
                Err(e) if attempt < 50 && is_busy(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt.min(10))).await;
                }
                other => return other,
            }
        }
    }

    async fn try_connect(opts: SqliteConnectOptions, max: u32) -> anyhow::Result<Store> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(opts)
            .await
            .context("cannot open the state store")?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY)")
            .execute(&self.pool)
            .await?;
        for (version, sql) in MIGRATIONS {
            let mut tx = self.write().await?;
            let done = sqlx::query("SELECT 1 FROM schema_version WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
            if done.is_some() {
                continue;
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Whether the store answers (`/readyz`).
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction that reads, then writes. `BEGIN IMMEDIATE` takes the write lock
    /// at the start: a deferred transaction that read first and then wants to write
    /// fails at once with "database is locked" when another process wrote in between
    /// (SQLite cannot wait for it), whereas this one waits its turn (busy timeout).
    pub(crate) async fn write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED anywhere in the chain.
fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| match c.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(d)) => {
            // Extended result codes keep the primary code in the low byte.
            let primary = d
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                .map(|c| c & 0xff);
            matches!(primary, Some(5 | 6))
        }
        _ => false,
    })
}

/// Timestamps are stored as epoch milliseconds: portable and sortable.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}
