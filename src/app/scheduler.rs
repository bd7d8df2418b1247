//! The scheduler: runs each monitor at its cron ticks (in its own time zone, shifted by
//! a stable per-monitor jitter) and raises Missed for silence.
//!
//! Time comes from the injected clock; nothing here sleeps, so a test calls
//! [`Scheduler::tick`] with a manual clock instead of waiting.
//!
//! Two ways to run what is due: [`Scheduler::dispatch`] (what `serve` does) hands each
//! run to the [`Engine`] and returns at once, so a slow query never delays another
//! monitor, and the dead-man's check that follows sees the clock as it is, runs still
//! going included; [`Scheduler::tick`] runs them inline and waits (`run`-like, tests,
//! the benchmark). Catch-up ([`Scheduler::plan_catch_up`]) runs at once, spread by their
//! offsets, the monitors whose latest tick has no completed run, within
//! `serve.catch_up`, so a start or deploy never leaves a monitor dark.

use super::App;
use super::engine::{Engine, Started};
use crate::monitor::Outcome;
use crate::monitor::deadman;
use crate::monitor::runner::RunReport;
use crate::rules::Monitor;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// Which monitors are due, remembered between ticks.
pub struct Scheduler {
    last_tick: DateTime<Utc>,
    started: DateTime<Utc>,
    jitter: Duration,
    /// The `expected_by` of the Missed last recorded per monitor: one record per miss.
    missed: HashMap<String, DateTime<Utc>>,
    /// When this scheduler first checked each monitor (ticks before are not held
    /// against it).
    watching: HashMap<String, DateTime<Utc>>,
    /// Catch-up runs not started yet: (monitor id, when).
    catch_up: Vec<(String, DateTime<Utc>)>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub ran: usize,
    pub missed: usize,
    /// Due, but the previous run was still going.
    pub skipped: usize,
}

impl Scheduler {
    pub fn new(now: DateTime<Utc>) -> Self {
        Scheduler {
            last_tick: now,
            started: now,
            jitter: Duration::zero(),
            missed: HashMap::new(),
            watching: HashMap::new(),
            catch_up: vec![],
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
            skipped: 0,
        })
    }

    /// Hands what is due (and due catch-up runs) to the engine, then checks for silence
    /// at the clock's now. Never waits for a run.
    pub async fn dispatch(
        &mut self,
        app: &Arc<App>,
        engine: &Engine,
    ) -> anyhow::Result<TickReport> {
        let now = app.clock.now();
        let due = self.due_jittered(&app.rules.monitors, self.last_tick, now);
        self.last_tick = now;
        let mut report = TickReport::default();
        // A catch-up run of a monitor due anyway is that run.
        let mut caught: Vec<&Monitor> = self.due_catch_up(&app.rules.monitors, now);
        caught.retain(|c| !due.iter().any(|d| d.id == c.id));
        for m in due.into_iter().chain(caught) {
            let off = self.offset(&m.id);
            let tick = deadman::previous_tick(&m.schedule, now - off).unwrap_or(now);
            match engine.start(app, m, tick, off) {
                Started::Queued => report.ran += 1,
                Started::Skipped => report.skipped += 1,
            }
        }
        report.missed = self.check_missed(app, app.clock.now()).await?;
        app.metrics.observe_tick();
        Ok(report)
    }

    /// Plans a run at `now + offset` for every monitor whose latest tick (within
    /// `window`) has no completed run and is not going already: start and reload.
    pub async fn plan_catch_up(
        &mut self,
        app: &App,
        engine: &Engine,
        window: std::time::Duration,
    ) -> anyhow::Result<usize> {
        let now = app.clock.now();
        let window = Duration::from_std(window).unwrap_or(Duration::MAX);
        let infos = app.store.monitor_infos().await?;
        self.catch_up.clear();
        for m in &app.rules.monitors {
            let off = self.offset(&m.id);
            let Some(tick) = deadman::previous_tick(&m.schedule, now - off) else {
                continue;
            };
            let last = infos.get(&m.id).and_then(|i| i.last_completed_at);
            let covered = last.is_some_and(|done| done >= tick);
            if covered || engine.is_running(&m.id) || now - tick > window {
                continue;
            }
            self.catch_up.push((m.id.clone(), now + off));
        }
        if !self.catch_up.is_empty() {
            tracing::info!(
                monitors = self.catch_up.len(),
                "catching up: latest ticks without a completed run"
            );
        }
        Ok(self.catch_up.len())
    }

    /// Catch-up runs whose time has come, taken off the plan.
    fn due_catch_up<'m>(
        &mut self,
        monitors: &'m [Monitor],
        now: DateTime<Utc>,
    ) -> Vec<&'m Monitor> {
        let (ready, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.catch_up)
            .into_iter()
            .partition(|(_, at)| *at <= now);
        self.catch_up = later;
        ready
            .iter()
            .filter_map(|(id, _)| monitors.iter().find(|m| &m.id == id))
            .collect()
    }

    /// The next moment something happens: a run, a catch-up run, or a grace running
    /// out (the dead-man's switch must look then, not a minute later).
    pub fn next_wake(&self, monitors: &[Monitor], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let deadlines = monitors.iter().filter_map(|m| {
            let grace = Duration::from_std(m.grace).ok()?;
            let g = grace.checked_add(&self.offset(&m.id))?;
            let t = deadman::next_tick(&m.schedule, now.checked_sub_signed(g)?)?;
            t.checked_add_signed(g)
        });
        let catch_up = self.catch_up.iter().map(|(_, at)| *at);
        deadlines
            .chain(catch_up)
            .chain(self.next_run(monitors, now))
            .min()
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
        // The first check watches every monitor from the start; later ones are new.
        let seen_from = if self.watching.is_empty() {
            self.started
        } else {
            now
        };
        let mut count = 0;
        for m in &app.rules.monitors {
            let info = infos.get(&m.id);
            let last = info.and_then(|i| i.last_completed_at);
            // Watched since this scheduler first saw the monitor (start, or the reload
            // that added it). Not the store's first record: for a monitor silent from
            // the start that is its first Missed, which would forgive the next tick.
            let since = *self.watching.entry(m.id.clone()).or_insert(seen_from);
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
