//! Requests already seen: "act on this once" for signed requests that could be replayed.
//!
//! A request is named by its timestamp and signature. [`Store::see_request`] records it
//! if it is new, inside one write transaction, so two arrivals of the same request (in
//! one process or two on the same file) cannot both be first. Rows whose timestamp fell
//! out of the window are pruned on the way; the table is capped so a flood of distinct
//! valid requests cannot grow it without bound.

use super::{Store, ms};
use chrono::{DateTime, Utc};

/// What the store says of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Recorded now: act on it.
    First,
    /// Recorded before, within the window: do not act on it again.
    Again,
    /// Not recorded: the table holds its cap of requests within the window.
    Full,
}

/// How many requests may be remembered at once.
#[derive(Debug, Clone, Copy)]
pub struct SeenLimits {
    /// Rows with a timestamp older than `now - window_secs` are forgotten.
    pub window_secs: i64,
    /// The most rows kept; past it a new request is [`Seen::Full`].
    pub cap: i64,
}

impl Store {
    /// Records the request `(ts, signature)` unless it was already seen.
    pub async fn see_request(
        &self,
        ts: i64,
        signature: &str,
        now: DateTime<Utc>,
        limits: SeenLimits,
    ) -> anyhow::Result<Seen> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM seen_requests WHERE ts < $1")
            .bind(now.timestamp() - limits.window_secs)
            .execute(&mut *tx)
            .await?;
        let seen = if already_seen(&mut tx, ts, signature).await? {
            Seen::Again
        } else if count(&mut tx).await? >= limits.cap {
            Seen::Full
        } else {
            insert(&mut tx, ts, signature, now).await?;
            Seen::First
        };
        tx.commit().await?;
        Ok(seen)
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

async fn already_seen(tx: &mut Tx, ts: i64, signature: &str) -> sqlx::Result<bool> {
    let row = sqlx::query("SELECT 1 FROM seen_requests WHERE ts = $1 AND signature = $2")
        .bind(ts)
        .bind(signature)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

async fn count(tx: &mut Tx) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM seen_requests")
        .fetch_one(&mut **tx)
        .await
}

async fn insert(tx: &mut Tx, ts: i64, signature: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO seen_requests (ts, signature, seen_at) VALUES ($1, $2, $3)")
        .bind(ts)
        .bind(signature)
        .bind(ms(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SeenLimits = SeenLimits {
        window_secs: 300,
        cap: 2,
    };

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[tokio::test]
    async fn a_request_is_first_once_and_forgotten_after_the_window() {
        let store = Store::memory().await.unwrap();
        let see = |ts, sig: &'static str, now| {
            let store = store.clone();
            async move { store.see_request(ts, sig, at(now), LIMITS).await.unwrap() }
        };
        assert_eq!(see(1000, "v0=a", 1000).await, Seen::First);
        assert_eq!(see(1000, "v0=a", 1200).await, Seen::Again);
        assert_eq!(
            see(1001, "v0=a", 1200).await,
            Seen::First,
            "another timestamp"
        );
        assert_eq!(see(1002, "v0=b", 1200).await, Seen::Full, "the cap holds");
        // Past the window both rows are pruned and there is room again.
        assert_eq!(see(1400, "v0=c", 1400).await, Seen::First);
        assert_eq!(see(1400, "v0=c", 1401).await, Seen::Again);
    }
}
