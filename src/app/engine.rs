//! The run engine: every due run is its own task on a bounded pool, so the tick loop
//! never waits for a query. `defaults.concurrency` slots are shared by all runs (one
//! deployment has one warehouse, so it is also the per-warehouse limit); a run waits
//! for a slot in the queue, counted in `/metrics`. A monitor never runs twice at once:
//! a tick that comes while its previous run is still going is skipped and counted, not
//! queued behind it.
//!
//! A run that finishes records its outcome through the app as `run --once` does, then
//! wakes the serve loop ([`Engine::finished`]) so notifications go out at once.

use super::App;
use crate::rules::Monitor;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, Semaphore};

/// What [`Engine::start`] did with a due run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Queued,
    /// The previous run of the monitor is still going.
    Skipped,
}

#[derive(Clone)]
pub struct Engine {
    slots: Arc<Semaphore>,
    /// Monitor id → the tick its run is for.
    in_flight: Arc<Mutex<HashMap<String, DateTime<Utc>>>>,
    finished: Arc<Notify>,
    idle: Arc<Notify>,
}

impl Engine {
    pub fn new(concurrency: usize) -> Engine {
        Engine {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            in_flight: Arc::default(),
            finished: Arc::default(),
            idle: Arc::default(),
        }
    }

    /// Starts the run of `m` for `tick` (due at `tick + offset`) unless one is going.
    pub fn start(
        &self,
        app: &Arc<App>,
        m: &Monitor,
        tick: DateTime<Utc>,
        offset: Duration,
    ) -> Started {
        {
            let mut going = self.in_flight.lock().expect("engine lock");
            if going.contains_key(&m.id) {
                app.metrics.engine.skipped(&m.id);
                tracing::warn!(monitor = %m.id, %tick, "previous run still going; this tick is skipped");
                return Started::Skipped;
            }
            going.insert(m.id.clone(), tick);
        }
        app.metrics.engine.queued();
        let (app, m, engine) = (app.clone(), m.clone(), self.clone());
        tokio::spawn(async move { engine.run(app, m, tick + offset).await });
        Started::Queued
    }

    async fn run(self, app: Arc<App>, m: Monitor, due: DateTime<Utc>) {
        let slot = self.slots.clone().acquire_owned().await;
        let late = (app.clock.now() - due).as_seconds_f64();
        app.metrics.engine.started(late);
        if let Err(e) = app.run_monitor(&m).await {
            tracing::error!(monitor = %m.id, error = %e, "run not recorded; the dead-man's switch will notice");
        }
        drop(slot);
        app.metrics.engine.finished();
        let empty = {
            let mut going = self.in_flight.lock().expect("engine lock");
            going.remove(&m.id);
            going.is_empty()
        };
        self.finished.notify_one();
        if empty {
            self.idle.notify_waiters();
        }
    }

    /// Whether the monitor has a run going (or waiting for a slot).
    pub fn is_running(&self, id: &str) -> bool {
        self.in_flight.lock().expect("engine lock").contains_key(id)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().expect("engine lock").len()
    }

    /// Resolves when a run finished since the last call (the serve loop delivers then).
    pub async fn finished(&self) {
        self.finished.notified().await;
    }

    /// Resolves when no run is going (tests, shutdown drain).
    pub async fn idle(&self) {
        loop {
            let wait = self.idle.notified();
            if self.in_flight() == 0 {
                return;
            }
            wait.await;
        }
    }
}
