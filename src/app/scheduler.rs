//! The scheduler: runs each monitor at its cron ticks and raises Missed for silence.
//!
//! Time comes from the injected clock; the loop only sleeps between ticks, so a test
//! can call [`Scheduler::tick`] with a manual clock instead of waiting.

use super::App;
use crate::monitor::Outcome;
use crate::monitor::deadman;
use crate::monitor::runner::RunReport;
use crate::rules::Monitor;
use chrono::{DateTime, Utc};

/// Which monitors are due, remembered between ticks.
pub struct Scheduler {
    last_tick: DateTime<Utc>,
    started: DateTime<Utc>,
}

impl Scheduler {
    pub fn new(now: DateTime<Utc>) -> Self {
        Scheduler {
            last_tick: now,
            started: now,
        }
    }

    /// Monitors with a scheduled tick in `(last, now]`.
    pub fn due(monitors: &[Monitor], last: DateTime<Utc>, now: DateTime<Utc>) -> Vec<&Monitor> {
        monitors
            .iter()
            .filter(|m| deadman::next_tick(&m.schedule, last).is_some_and(|t| t <= now))
            .collect()
    }

    /// Runs what is due, records Missed for overdue monitors, delivers notifications.
    pub async fn tick(&mut self, app: &App) -> anyhow::Result<usize> {
        let now = app.clock.now();
        let due: Vec<Monitor> = Self::due(&app.rules.monitors, self.last_tick, now)
            .into_iter()
            .cloned()
            .collect();
        self.last_tick = now;
        app.run_monitors(&due).await?;
        self.check_missed(app, now).await?;
        app.deliver().await?;
        Ok(due.len())
    }

    async fn check_missed(&self, app: &App, now: DateTime<Utc>) -> anyhow::Result<()> {
        for m in &app.rules.monitors {
            let info = app.store.monitor_info(&m.id).await?;
            let last = info.as_ref().and_then(|i| i.last_completed_at);
            let since = info
                .map(|i| i.first_seen_at.max(self.started))
                .unwrap_or(self.started);
            if let Some(expected_by) = deadman::missed(&m.schedule, m.grace, last, since, now) {
                let outcome = Outcome::Missed { expected_by };
                let report = RunReport {
                    monitor_id: m.id.clone(),
                    started_at: now,
                    finished_at: now,
                    outcome,
                };
                app.apply(m, &report).await?;
            }
        }
        Ok(())
    }

    /// When the next monitor is due after `now` (None when there are no monitors).
    pub fn next_due(monitors: &[Monitor], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        monitors
            .iter()
            .filter_map(|m| deadman::next_tick(&m.schedule, now))
            .min()
    }
}
