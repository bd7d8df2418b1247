//! Replayed requests: a signed Slack request is acted on once.
//!
//! The signature check lets a request through for 5 minutes after its timestamp, so a
//! captured request could be sent again within that window and act again (a second
//! silence, a second resolve). The guard records each verified request's
//! `(timestamp, signature)` in the state store before it is acted on; a second arrival
//! is refused with 401, except when it is Slack's own retry (`X-Slack-Retry-Num`), which
//! is answered 200 with an empty body so Slack stops retrying, and does nothing.

use super::signature::MAX_SKEW_SECS;
use crate::store::{Seen, SeenLimits, Store};
use chrono::{DateTime, Utc};

/// The most requests remembered within the window; past it requests answer 503.
pub const MAX_SEEN: i64 = 100_000;

/// The header Slack sets on a retried request (with `X-Slack-Retry-Reason`).
pub const RETRY_HEADER: &str = "x-slack-retry-num";

/// What to do with a verified request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// First arrival: act on it.
    Act,
    /// Seen before and not Slack's retry: refuse (401).
    Replayed,
    /// Slack retrying a request already acted on: answer 200, empty, do nothing.
    Retried,
    /// Too many requests remembered, or the store failed: answer 503, do nothing.
    Unavailable,
}

/// Remembers the requests acted on, in the state store.
#[derive(Clone)]
pub struct ReplayGuard {
    store: Store,
    limits: SeenLimits,
}

impl ReplayGuard {
    /// A guard over the state store, remembering for the signature window.
    pub fn new(store: Store) -> ReplayGuard {
        Self::with_cap(store, MAX_SEEN)
    }

    /// A guard that remembers at most `cap` requests (tests of the cap).
    pub fn with_cap(store: Store, cap: i64) -> ReplayGuard {
        let limits = SeenLimits {
            window_secs: MAX_SKEW_SECS,
            cap,
        };
        ReplayGuard { store, limits }
    }

    /// Records a verified request and says whether to act on it. `ts` and `signature`
    /// are the headers the signature check accepted.
    pub async fn check(
        &self,
        ts: &str,
        signature: &str,
        retry: bool,
        now: DateTime<Utc>,
    ) -> Verdict {
        let Ok(ts) = ts.trim().parse::<i64>() else {
            return Verdict::Replayed;
        };
        match self
            .store
            .see_request(ts, signature, now, self.limits)
            .await
        {
            Ok(seen) => verdict(seen, retry),
            Err(e) => {
                tracing::error!(error = %e, "cannot record a Slack request; refused");
                Verdict::Unavailable
            }
        }
    }
}

fn verdict(seen: Seen, retry: bool) -> Verdict {
    match (seen, retry) {
        (Seen::First, _) => Verdict::Act,
        (Seen::Again, true) => Verdict::Retried,
        (Seen::Again, false) => Verdict::Replayed,
        (Seen::Full, _) => {
            tracing::warn!("Slack request refused: the record of seen requests is full");
            Verdict::Unavailable
        }
    }
}
