//! Delivers due outbox rows to their notifiers.
//!
//! Order matters to people ("resolved" must not arrive before "opened"), so once a
//! delivery for an (incident, destination) fails, later ones for the same pair wait
//! for the next round; and each pair is delivered under a lease in the store, so two
//! rounds at once (a command's round beside the serve loop's, or two processes) never
//! deliver the same row twice. Back-off doubles per attempt, capped, and a service's own
//! `Retry-After` wins when it asks for longer.

use super::{Notification, Notifier, holder};
use crate::store::{Lease, OutboxItem, Store};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
    /// Not delivered this round: behind an earlier failure or a row not yet due in
    /// the same (incident, destination) queue, or in a queue another round holds.
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
///
/// Each (incident, destination) queue with something due is delivered under its lease:
/// a queue another round holds (here, or in another process on the same state) is left
/// alone and counted as held, so however many rounds run at once, one delivery happens
/// at a time per queue and in order.
pub async fn deliver_due_observed(
    store: &Store,
    notifiers: &[Arc<dyn Notifier>],
    now: DateTime<Utc>,
    observer: &dyn DeliveryObserver,
) -> anyhow::Result<Delivered> {
    let mut stats = Delivered::default();
    let mut queues: Vec<(i64, String)> = Vec::new();
    for item in store.due_outbox(now, BATCH).await? {
        let key = (item.incident_id, item.destination);
        if !queues.contains(&key) {
            queues.push(key);
        }
    }
    for (incident_id, destination) in queues {
        let Some(lease) = lease(store, incident_id, &destination, now).await? else {
            stats.held += 1;
            continue;
        };
        let queue = Queue {
            store,
            notifiers,
            now,
            observer,
            lease: &lease,
        };
        let result = queue.deliver(&mut stats).await;
        store.release_outbox(&lease).await?;
        result?;
    }
    Ok(stats)
}

/// How long a round holds a queue before someone else may take it over. A holder that
/// died on this host is taken over at once; one elsewhere, or a hung one, delays its
/// queues by at most this; a live one renews it while a delivery runs.
const LEASE: Duration = Duration::seconds(30);
/// How often a running delivery renews its lease, and by how much.
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The queue's lease: free or expired, or held by a process of this host that no
/// longer exists ([`holder::is_dead`]: a SIGKILLed round, whose lease would otherwise
/// hold the queue until it expires). The takeover names the dead holder's token, so of
/// two rounds that found it dead only one gets it.
async fn lease(
    store: &Store,
    incident_id: i64,
    destination: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Lease>> {
    let me = holder::me();
    let until = now + LEASE;
    if let Some(lease) = store
        .lease_outbox(incident_id, destination, me, now, until)
        .await?
    {
        return Ok(Some(lease));
    }
    let Some((token, held_by)) = store
        .outbox_lease_holder(incident_id, destination, now)
        .await?
    else {
        return Ok(None);
    };
    if !holder::is_dead(&held_by) {
        return Ok(None);
    }
    let lease = store
        .take_over_outbox(incident_id, destination, token, me, until)
        .await?;
    if lease.is_some() {
        tracing::info!(incident = incident_id, %destination, dead = %held_by, "took over a dead holder's delivery lease");
    }
    Ok(lease)
}

/// One leased (incident, destination) queue being delivered.
struct Queue<'a> {
    store: &'a Store,
    notifiers: &'a [Arc<dyn Notifier>],
    now: DateTime<Utc>,
    observer: &'a dyn DeliveryObserver,
    lease: &'a Lease,
}

impl Queue<'_> {
    /// Delivers the queue's rows in order, stopping at the first that is not due or
    /// fails (what comes after it waits: "resolved" never overtakes "opened").
    async fn deliver(&self, stats: &mut Delivered) -> anyhow::Result<()> {
        let rows = self.store.leased_outbox(self.lease).await?;
        let mut rows = rows.into_iter();
        while let Some((item, due_at)) = rows.next() {
            if due_at > self.now {
                stats.held += 1 + rows.len();
                return Ok(());
            }
            match self.attempt(&item).await? {
                Attempt::Delivered => stats.sent += 1,
                Attempt::Failed => {
                    stats.failed += 1;
                    stats.held += rows.len();
                    return Ok(());
                }
                Attempt::LeaseLost => return Ok(()),
            }
        }
        Ok(())
    }

    async fn attempt(&self, item: &OutboxItem) -> anyhow::Result<Attempt> {
        let Some(notifier) = self
            .notifiers
            .iter()
            .find(|n| n.destination() == item.destination)
        else {
            // Destination removed from config: keep the row (nothing lost) and retry later.
            let msg = format!("no notifier `{}` is configured", item.destination);
            return self.failed(item, backoff(item.attempts), &msg).await;
        };
        let n = match Notification::from_payload(&item.payload, item.incident_id) {
            Ok(n) => n,
            Err(e) => {
                // Kept, never dropped: a payload this version cannot read waits for one
                // that can (or for a person) instead of vanishing.
                let msg = format!("unreadable outbox payload: {e}");
                return self.failed(item, backoff(item.attempts), &msg).await;
            }
        };
        let result = self.renewing(notifier.deliver(&n)).await?;
        self.observer
            .attempted(&item.destination, item.attempts, result.is_ok());
        match result {
            Ok(()) => {
                if self
                    .store
                    .mark_delivered(item.id, self.now, self.lease)
                    .await?
                {
                    Ok(Attempt::Delivered)
                } else {
                    Ok(self.lost(item))
                }
            }
            Err(e) => {
                let wait = e
                    .retry_after
                    .map(|d| Duration::from_std(d).unwrap_or(Duration::hours(1)));
                let wait = wait.unwrap_or_default().max(backoff(item.attempts));
                tracing::warn!(outbox = item.id, destination = %item.destination, error = %e, "delivery failed; will retry");
                self.failed(item, wait, &e.message).await
            }
        }
    }

    /// Runs a delivery while renewing the lease every [`RENEW_EVERY`] of real time, so a
    /// slow destination keeps its queue and a dead process loses it within [`LEASE`].
    async fn renewing<T>(
        &self,
        delivery: impl std::future::Future<Output = T>,
    ) -> anyhow::Result<T> {
        tokio::pin!(delivery);
        loop {
            tokio::select! {
                out = &mut delivery => return Ok(out),
                _ = tokio::time::sleep(RENEW_EVERY) => {
                    let by = Duration::from_std(RENEW_EVERY).unwrap_or_default();
                    self.store.extend_outbox(self.lease, by).await?;
                }
            }
        }
    }

    async fn failed(
        &self,
        item: &OutboxItem,
        wait: Duration,
        msg: &str,
    ) -> anyhow::Result<Attempt> {
        let retry_at = self.now + wait;
        if self
            .store
            .mark_failed(item.id, retry_at, msg, self.lease)
            .await?
        {
            Ok(Attempt::Failed)
        } else {
            Ok(self.lost(item))
        }
    }

    fn lost(&self, item: &OutboxItem) -> Attempt {
        // Outlived its lease: another round owns the queue now and will record the
        // outcome itself (the notifiers' own markers keep the remote side single).
        tracing::warn!(outbox = item.id, destination = %item.destination, "delivery lease lost; the new holder decides");
        Attempt::LeaseLost
    }
}

enum Attempt {
    Delivered,
    Failed,
    LeaseLost,
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
