//! The outbound heartbeat: Ripple pings a URL each cycle (at most once per interval) so
//! something outside (Healthchecks.io, Cronitor, a Dead Man's Snitch) notices when
//! Ripple itself stops. A failed ping is logged and never stops the scheduler.

use crate::config::HeartbeatConfig;
use chrono::{DateTime, Duration, Utc};

/// Pings when due.
pub struct Heartbeat {
    url: String,
    interval: Duration,
    last: Option<DateTime<Utc>>,
    client: reqwest::Client,
}

impl Heartbeat {
    pub fn new(cfg: &HeartbeatConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Heartbeat {
            url: cfg.url.clone(),
            interval: Duration::from_std(cfg.interval).unwrap_or(Duration::minutes(1)),
            last: None,
            client,
        }
    }

    /// Pings if an interval has passed since the last attempt; None when not due.
    pub async fn beat(&mut self, now: DateTime<Utc>) -> Option<Result<(), String>> {
        if self.last.is_some_and(|l| now - l < self.interval) {
            return None;
        }
        self.last = Some(now);
        let result = match self.client.get(&self.url).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("heartbeat answered {}", r.status())),
            Err(e) => Err(format!("heartbeat failed: {e}")),
        };
        if let Err(e) = &result {
            tracing::warn!(url = %self.url, error = %e, "heartbeat not delivered");
        }
        Some(result)
    }
}
