//! The scheduler: runs each monitor at its cron ticks (in its own time zone, shifted by
//! a stable per-monitor jitter) and raises Missed for silence.
//!
//! Time comes from the injected clock; nothing here sleeps, so a test calls
//! [`Scheduler::tick`] with a manual clock instead of waiting. Concurrency is bounded
//! by the runner (`defaults.concurrency`).

use super::App;
use crate::monitor::Outcome;
use crate::monitor::deadman;
use crate::monitor::runner::RunReport;
use crate::rules::Monitor;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// Which monitors are due, remembered between ticks.
pub struct Scheduler {
    last_tick: DateTime<Utc>,
    started: DateTime<Utc>,
    jitter: Duration,
    /// The `expected_by` of the Missed last recorded per monitor: one record per miss.
    missed: HashMap<String, DateTime<Utc>>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub ran: usize,
    pub missed: usize,
}

impl Scheduler {
    pub fn new(now: DateTime<Utc>) -> Self {
        Scheduler {
            last_tick: now,
            started: now,
            jitter: Duration::zero(),
            missed: HashMap::new(),
        }
    }

    /// Spreads runs over `jitter` after each tick, so monitors sharing a cron line do
    /// not hit the warehouse in the same second.
    pub fn with_jitter(mut self, jitter: std::time::Duration) -> Self {
        self.jitter = Duration::from_std(jitter).unwrap_or(Duration::zero());
        self
    }

    /// A monitor's offset from its ticks: stable across restarts and replicas (a hash
    /// of its id), so the dead-man's switch and people can predict it.
    pub fn offset(&self, id: &str) -> Duration {
        let ms = self.jitter.num_milliseconds();
        if ms <= 0 {
            return Duration::zero();
        }
        Duration::milliseconds((fnv1a(id) % ms as u64) as i64)
    }

    /// Monitors with a scheduled tick in `(last, now]` (no jitter).
    pub fn due(monitors: &[Monitor], last: DateTime<Utc>, now: DateTime<Utc>) -> Vec<&Monitor> {
        Scheduler::new(last).due_jittered(monitors, last, now)
    }

    /// Monitors whose tick plus offset falls in `(last, now]`.
    pub fn due_jittered<'m>(
        &self,
        monitors: &'m [Monitor],
        last: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<&'m Monitor> {
        monitors
            .iter()
            .filter(|m| {
                let off = self.offset(&m.id);
                let from = last.checked_sub_signed(off);
                let next = from.and_then(|f| deadman::next_tick(&m.schedule, f));
                next.and_then(|t| t.checked_add_signed(off))
                    .is_some_and(|t| t <= now)
            })
            .collect()
    }

    /// Runs what is due, records Missed for overdue monitors, delivers notifications.
    /// Returns how many monitors ran.
    pub async fn tick(&mut self, app: &App) -> anyhow::Result<usize> {
        Ok(self.tick_report(app).await?.ran)
    }

    /// [`Scheduler::tick`], saying how many ran and how many were found missed.
    pub async fn tick_report(&mut self, app: &App) -> anyhow::Result<TickReport> {
        let now = app.clock.now();
        let due = self.due_jittered(&app.rules.monitors, self.last_tick, now);
        // When everything is due (a busy minute), run the rule set itself: no copies.
        let due: std::borrow::Cow<'_, [Monitor]> = if due.len() == app.rules.monitors.len() {
            std::borrow::Cow::Borrowed(&app.rules.monitors)
        } else {
            due.into_iter().cloned().collect::<Vec<_>>().into()
        };
        self.last_tick = now;
        app.run_monitors(&due).await?;
        let missed = self.check_missed(app, now).await?;
        app.deliver().await?;
        app.metrics.observe_tick();
        Ok(TickReport {
            ran: due.len(),
            missed,
        })
    }

    /// The dead-man's check alone, at the clock's now (a starved scheduler, tests).
    pub async fn check_missed_only(&mut self, app: &App) -> anyhow::Result<usize> {
        let now = app.clock.now();
        self.check_missed(app, now).await
    }

    /// One Missed per overdue tick: a monitor still silent at the next check is not
    /// recorded again until a later tick is missed too.
    async fn check_missed(&mut self, app: &App, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let infos = app.store.monitor_infos().await?;
        let mut count = 0;
        for m in &app.rules.monitors {
            let info = infos.get(&m.id);
            let last = info.and_then(|i| i.last_completed_at);
            let since = info.map_or(self.started, |i| i.first_seen_at.max(self.started));
            // A jittered run is late by its offset on purpose: that is not silence.
            let offset = self.offset(&m.id).to_std().unwrap_or_default();
            let grace = m.grace.saturating_add(offset);
            let Some(expected_by) = deadman::missed(&m.schedule, grace, last, since, now) else {
                continue;
            };
            if self.missed.get(&m.id) == Some(&expected_by) {
                continue;
            }
            self.missed.insert(m.id.clone(), expected_by);
            let report = RunReport {
                monitor_id: m.id.clone(),
                started_at: now,
                finished_at: now,
                outcome: Outcome::Missed { expected_by },
            };
            app.apply(m, &report).await?;
            count += 1;
        }
        Ok(count)
    }

    /// When the next monitor is due after `now` (None when there are no monitors).
    pub fn next_due(monitors: &[Monitor], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Scheduler::new(now).next_run(monitors, now)
    }

    /// When the next run (tick plus offset) falls after `now`.
    pub fn next_run(&self, monitors: &[Monitor], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        monitors
            .iter()
            .filter_map(|m| {
                let off = self.offset(&m.id);
                let next = deadman::next_tick(&m.schedule, now.checked_sub_signed(off)?)?;
                next.checked_add_signed(off)
            })
            .min()
    }
}

/// FNV-1a: a tiny stable hash (std's hasher may change between releases).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_stable_and_within_the_jitter() {
        let s = Scheduler::new(DateTime::default()).with_jitter(std::time::Duration::from_secs(30));
        let a = s.offset("orders_without_payment");
        assert_eq!(a, s.offset("orders_without_payment"));
        assert!(a >= Duration::zero() && a < Duration::seconds(30));
        assert_ne!(a, s.offset("payments_duplicated"));
        let none = Scheduler::new(DateTime::default());
        assert_eq!(none.offset("x"), Duration::zero());
    }
}
