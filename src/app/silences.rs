//! Silences from the app's side: who may silence what, and for how long.

use super::App;
use crate::bounds;
use crate::diag::did_you_mean;
use crate::store::Silence;
use chrono::Duration;

/// The longest silence Ripple accepts: a silence is a pause, not a way to delete a monitor.
pub const MAX_SILENCE: Duration = Duration::seconds(bounds::SILENCE.1.as_secs() as i64);

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
        // Out of range is refused, never clamped: `99999999999999d` is not 30 days.
        let duration =
            bounds::duration("a silence", duration, bounds::SILENCE).map_err(SilenceError)?;
        let duration = Duration::from_std(duration)?;
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
