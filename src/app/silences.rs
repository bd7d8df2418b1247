//! Silences from the app's side: who may silence what, and for how long.

use super::App;
use crate::diag::did_you_mean;
use crate::store::Silence;
use chrono::Duration;

/// The longest silence Ripple accepts: a silence is a pause, not a way to delete a monitor.
pub const MAX_SILENCE: Duration = Duration::days(30);

/// A mistake in a silence request, in words for the person who made it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SilenceError(pub String);

impl App {
    /// Silences a monitor for `duration`; returns the silence.
    pub async fn silence(
        &self,
        monitor_id: &str,
        duration: std::time::Duration,
        reason: &str,
        by: &str,
    ) -> anyhow::Result<Silence> {
        self.known_monitor(monitor_id)?;
        let duration = Duration::from_std(duration).unwrap_or(MAX_SILENCE);
        if duration <= Duration::zero() || duration > MAX_SILENCE {
            return Err(SilenceError(format!(
                "a silence lasts between 1 minute and {} days",
                MAX_SILENCE.num_days()
            ))
            .into());
        }
        let now = self.clock.now();
        let reason = if reason.trim().is_empty() {
            "no reason given"
        } else {
            reason.trim()
        };
        let id = self
            .store
            .add_silence(monitor_id, now + duration, reason, by, now)
            .await?;
        let silence = self.store.silence_for(monitor_id, now).await?;
        silence
            .filter(|s| s.id == id)
            .ok_or_else(|| anyhow::anyhow!("silence {id} vanished"))
    }

    /// Ends a monitor's silences now; returns how many were in force.
    pub async fn unsilence(&self, monitor_id: &str) -> anyhow::Result<u64> {
        self.known_monitor(monitor_id)?;
        self.store.lift_silences(monitor_id, self.clock.now()).await
    }

    /// Silences in force now.
    pub async fn silences(&self) -> anyhow::Result<Vec<Silence>> {
        self.store.active_silences(self.clock.now()).await
    }

    fn known_monitor(&self, monitor_id: &str) -> Result<(), SilenceError> {
        if self.rules.get(monitor_id).is_some() {
            return Ok(());
        }
        let ids: Vec<&str> = self.rules.monitors.iter().map(|m| m.id.as_str()).collect();
        let hint = did_you_mean(monitor_id, &ids)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Err(SilenceError(format!("no monitor `{monitor_id}`{hint}")))
    }
}
