//! Backoff with full jitter for transient BigQuery failures.
//!
//! Only transport trouble is retried (5xx, `rateLimitExceeded`, `backendError`, a dropped
//! connection): a query that BigQuery rejected fails the same way every time, and retrying
//! it would only bill it again.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The ceiling of the first wait; it doubles per retry up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(16),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): uniform in `[0, ceiling]` ("full
    /// jitter"), so many monitors hitting one rate limit do not come back in lockstep.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(random_below(millis.saturating_add(1)))
    }
}

/// A random number in `[0, n)` (`n > 0`).
fn random_below(n: u64) -> u64 {
    if n == 0 { 0 } else { random_u64() % n }
}

/// A random number from the standard library's randomly seeded hasher: good enough to
/// spread retries and name requests, and no extra dependency.
pub fn random_u64() -> u64 {
    RandomState::new().hash_one(std::time::Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for retry in 1..10 {
            let ceiling = (100u64 << (retry - 1)).min(1000);
            assert!(
                p.delay(retry) <= Duration::from_millis(ceiling),
                "retry {retry}"
            );
        }
    }

    #[test]
    fn zero_base_never_waits() {
        let p = RetryPolicy {
            attempts: 3,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        assert_eq!(p.delay(1), Duration::ZERO);
    }
}
