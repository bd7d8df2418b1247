//! Delivers due outbox rows to their notifiers.
//!
//! Order matters to people ("resolved" must not arrive before "opened"), so once a
//! delivery for an (incident, destination) fails, later ones for the same pair wait
//! for the next round. Back-off doubles per attempt, capped, and a service's own
//! `Retry-After` wins when it asks for longer.

use super::{Notification, Notifier};
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use std::sync::Arc;

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
    /// Held back behind an earlier failure for the same incident and destination.
    pub held: usize,
}

const BATCH: i64 = 500;

/// Hears about every delivery attempt (metrics: sends, retries, failures).
pub trait DeliveryObserver: Send + Sync {
    /// `attempts_before` > 0 means this attempt is a retry.
    fn attempted(&self, destination: &str, attempts_before: i64, ok: bool);
}

/// Observes nothing.
pub struct NoObserver;

impl DeliveryObserver for NoObserver {
    fn attempted(&self, _: &str, _: i64, _: bool) {}
}

/// Delivers everything due at `now` once.
pub async fn deliver_due(
    store: &Store,
    notifiers: &[Arc<dyn Notifier>],
    now: DateTime<Utc>,
) -> anyhow::Result<Delivered> {
    deliver_due_observed(store, notifiers, now, &NoObserver).await
}

/// [`deliver_due`], telling `observer` about each attempt.
pub async fn deliver_due_observed(
    store: &Store,
    notifiers: &[Arc<dyn Notifier>],
    now: DateTime<Utc>,
    observer: &dyn DeliveryObserver,
) -> anyhow::Result<Delivered> {
    let mut stats = Delivered::default();
    let mut blocked: HashSet<(i64, String)> = HashSet::new();
    for item in store.due_outbox(now, BATCH).await? {
        let key = (item.incident_id, item.destination.clone());
        if blocked.contains(&key) {
            stats.held += 1;
            continue;
        }
        let Some(notifier) = notifiers
            .iter()
            .find(|n| n.destination() == item.destination)
        else {
            // Destination removed from config: keep the row (nothing lost) and retry later.
            let msg = format!("no notifier `{}` is configured", item.destination);
            store
                .mark_failed(item.id, now + backoff(item.attempts), &msg)
                .await?;
            blocked.insert(key);
            stats.failed += 1;
            continue;
        };
        let n = match Notification::from_payload(&item.payload, item.incident_id) {
            Ok(n) => n,
            Err(e) => {
                // Kept, never dropped: a payload this version cannot read waits for one
                // that can (or for a person) instead of vanishing.
                let msg = format!("unreadable outbox payload: {e}");
                store
                    .mark_failed(item.id, now + backoff(item.attempts), &msg)
                    .await?;
                blocked.insert(key);
                stats.failed += 1;
                continue;
            }
        };
        let result = notifier.deliver(&n).await;
        observer.attempted(&item.destination, item.attempts, result.is_ok());
        match result {
            Ok(()) => {
                store.mark_delivered(item.id, now).await?;
                stats.sent += 1;
            }
            Err(e) => {
                let wait = e
                    .retry_after
                    .map(|d| Duration::from_std(d).unwrap_or(Duration::hours(1)));
                let wait = wait.unwrap_or_default().max(backoff(item.attempts));
                tracing::warn!(outbox = item.id, destination = %item.destination, error = %e, "delivery failed; will retry");
                store.mark_failed(item.id, now + wait, &e.message).await?;
                blocked.insert(key);
                stats.failed += 1;
            }
        }
    }
    Ok(stats)
}

/// 30 s, 1 min, 2 min, … capped at 30 min.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(0, 6) as u32;
    (Duration::seconds(30) * 2i32.pow(exp)).min(Duration::minutes(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(20), Duration::minutes(30));
    }
}
