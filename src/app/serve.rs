//! The long-running service behind `ripple serve`: one cycle = reload if the rules
//! changed, hand what is due to the run engine, check for silence, send due digests,
//! ping the heartbeat, record the cycle. [`run`] loops cycles until shutdown;
//! [`Service::cycle`] is what tests drive with a manual clock ([`Service::settle`]
//! waits for the runs and deliveries a cycle started).
//!
//! Nothing slow sits on the cycle: runs are engine tasks, delivery and the impact
//! refresh are single-flight background jobs, kicked by each cycle and by each run that
//! finishes. The first cycle stores a downtime notice when ticks passed since the last
//! recorded cycle, and plans catch-up runs (again on every reload).
//!
//! Shutdown: stop scheduling, let the runs in flight finish (bounded by
//! `serve.shutdown_timeout`), then one last delivery round. Notifications are in the
//! store's outbox from the moment their incident changed, so whatever is not delivered
//! by then is sent by the next process.

use super::App;
use super::background::SingleFlight;
use super::engine::Engine;
use super::live::Live;
use super::reload::{self, RulesWatch};
use super::scheduler::Scheduler;
use crate::app::heartbeat::Heartbeat;
pub use crate::config::ServeConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The scheduler's state between cycles.
pub struct Service {
    live: Arc<Live>,
    scheduler: Scheduler,
    engine: Engine,
    delivery: Arc<SingleFlight>,
    refresh: Arc<SingleFlight>,
    heartbeat: Option<Heartbeat>,
    watch: RulesWatch,
    /// Downtime noted and catch-up planned (the first cycle does both).
    started: bool,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub struct Reloaded {
    pub monitors: usize,
    /// Problems found; files with problems kept their last good version.
    pub problems: Vec<crate::diag::Diagnostic>,
}

impl Service {
    pub fn new(live: Arc<Live>) -> Self {
        let app = live.app();
        let cfg = &app.config.serve;
        let scheduler = Scheduler::new(app.clock.now()).with_jitter(cfg.jitter);
        Service {
            heartbeat: cfg.heartbeat.as_ref().map(Heartbeat::new),
            watch: RulesWatch::new(&app.config.resolve(&app.config.rules)),
            engine: Engine::new(app.config.defaults.concurrency),
            delivery: Arc::default(),
            refresh: Arc::default(),
            started: false,
            scheduler,
            live,
        }
    }

    /// The run engine (tests look at what is in flight).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Waits until the runs, deliveries and refreshes started so far are done, then
    /// delivers once more (tests; time stands still on a manual clock meanwhile).
    pub async fn settle(&self) {
        self.engine.idle().await;
        self.refresh.idle().await;
        self.delivery.idle().await;
        if let Err(e) = self.live.app().deliver().await {
            tracing::warn!(error = %e, "delivery failed; the outbox keeps it");
        }
    }

    /// Waits for the background delivery, then delivers once more (tests).
    pub async fn flush(&self) {
        self.delivery.idle().await;
        if let Err(e) = self.live.app().deliver().await {
            tracing::warn!(error = %e, "delivery failed; the outbox keeps it");
        }
    }

    /// Delivers in the background: one round at a time, one more after a kick.
    pub fn kick_delivery(&self) {
        let live = self.live.clone();
        self.delivery.kick(move || {
            let app = live.app();
            async move {
                if let Err(e) = app.deliver().await {
                    tracing::warn!(error = %e, "delivery failed; the outbox keeps it");
                }
            }
        });
    }

    fn kick_refresh(&self, app: &Arc<App>) {
        let app = app.clone();
        self.refresh.kick(move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.refresh_impact_if_stale().await {
                    tracing::warn!(error = %e, "impact statistics not refreshed");
                }
            }
        });
    }

    /// The first cycle's work: one downtime notice, catch-up runs planned.
    async fn start(&mut self, app: &Arc<App>) -> anyhow::Result<()> {
        if let Err(e) = app.note_downtime().await {
            tracing::warn!(error = %e, "downtime not checked");
        }
        self.plan_catch_up(app).await;
        self.started = true;
        Ok(())
    }

    async fn plan_catch_up(&mut self, app: &App) {
        let window = app.config.serve.catch_up;
        if let Err(e) = self
            .scheduler
            .plan_catch_up(app, &self.engine, window)
            .await
        {
            tracing::warn!(error = %e, "catch-up not planned");
        }
    }

    /// One cycle; `reload` forces a rule reload (SIGHUP).
    pub async fn cycle(&mut self, reload: bool) -> anyhow::Result<()> {
        let app = self.live.app();
        let dir = app.config.resolve(&app.config.rules);
        if reload || (app.config.serve.watch_rules && self.watch.changed(&dir)) {
            self.reload();
            let app = self.live.app();
            self.plan_catch_up(&app).await;
        }
        let app = self.live.app();
        if !self.started {
            self.start(&app).await?;
        }
        self.kick_refresh(&app);
        self.scheduler.dispatch(&app, &self.engine).await?;
        self.kick_delivery();
        if let Err(e) = app.send_due_digests().await {
            tracing::error!(error = %e, "digests not sent");
        }
        if let Some(hb) = &mut self.heartbeat {
            hb.beat(app.clock.now()).await;
        }
        app.store.beat(app.clock.now()).await?;
        if let Err(e) = app.send_ops_notices().await {
            tracing::warn!(error = %e, "ops notices not sent");
        }
        self.live.set_ready(true);
        Ok(())
    }

    /// Reloads the rules folder; a broken file keeps its last good version.
    pub fn reload(&mut self) -> Reloaded {
        let app = self.live.app();
        let fresh = crate::rules::load_dir(&app.config.resolve(&app.config.rules), &app.config);
        let merged = reload::merge(&app.rules, fresh);
        for p in &merged.problems {
            tracing::error!(problem = %p, "rule problem; the file keeps its last good version");
        }
        if !merged.problems.is_empty() {
            app.metrics.observe_reload_error();
        }
        let report = Reloaded {
            monitors: merged.monitors.len(),
            problems: merged.problems.clone(),
        };
        tracing::info!(monitors = report.monitors, "rules reloaded");
        self.live.replace(app.with_rules(merged));
        report
    }

    /// How long to sleep before the next cycle: until the next run, but at least once
    /// a minute (dead-man's switch, digests, heartbeat) and once per rules poll.
    pub fn wait(&self) -> Duration {
        let app = self.live.app();
        let now = app.clock.now();
        let mut cap = Duration::from_secs(60);
        if app.config.serve.watch_rules {
            cap = cap.min(app.config.serve.reload_poll);
        }
        // A wake exactly at the moment can land a hair early: never sleep less than
        // the tick resolution below, nor busy-loop.
        self.scheduler
            .next_wake(&app.rules.monitors, now)
            .and_then(|t| (t - now).to_std().ok())
            .map_or(cap, |d| d.min(cap))
            .max(Duration::from_millis(50))
    }
}

/// Runs cycles until `shutdown` turns true, then drains (see the module docs).
pub async fn run(live: Arc<Live>, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    seed_metrics(&live).await;
    let mut service = Service::new(live.clone());
    let mut hup = hangups();
    let mut reload = false;
    loop {
        if let Err(e) = service.cycle(std::mem::take(&mut reload)).await {
            tracing::error!(error = %e, "scheduler cycle failed; retrying next cycle");
        }
        if *shutdown.borrow() {
            break;
        }
        let sleep = tokio::time::sleep(service.wait());
        tokio::pin!(sleep);
        // Runs that finish while the loop sleeps are told at once.
        let stop = loop {
            tokio::select! {
                _ = &mut sleep => break false,
                _ = hup.recv() => { reload = true; break false }
                _ = shutdown.changed() => break true,
                _ = service.engine.finished() => service.kick_delivery(),
            }
        };
        if stop {
            break;
        }
    }
    drain(&live, service.engine.idle()).await;
    service.delivery.idle().await;
    flush(&live).await;
    Ok(())
}

/// Every monitor in `/metrics` from the start, with its last outcome from the store.
async fn seed_metrics(live: &Live) {
    let app = live.app();
    let infos = app.store.monitor_infos().await.unwrap_or_default();
    for m in &app.rules.monitors {
        let last = infos.get(&m.id).map(|i| i.last_outcome.as_str());
        app.metrics.seed_monitor(&m.id, last);
    }
}

/// Lets the runs in flight finish, within the shutdown timeout.
async fn drain(live: &Live, runs: impl std::future::Future<Output = ()>) {
    live.set_ready(false);
    let limit = live.app().config.serve.shutdown_timeout;
    match tokio::time::timeout(limit, runs).await {
        Ok(_) => tracing::info!("in-flight runs finished"),
        Err(_) => tracing::warn!(?limit, "in-flight runs cut off at the shutdown timeout"),
    }
}

/// One last delivery round; what is left stays in the outbox for the next start.
async fn flush(live: &Live) {
    let app = live.app();
    let limit = app.config.serve.shutdown_timeout;
    match tokio::time::timeout(limit, app.deliver()).await {
        Ok(Ok(d)) => tracing::info!(sent = d.sent, failed = d.failed, "notifications flushed"),
        Ok(Err(e)) => tracing::warn!(error = %e, "final delivery failed; the outbox keeps them"),
        Err(_) => tracing::warn!("final delivery timed out; the outbox keeps the rest"),
    }
}

/// SIGHUP as a stream of wake-ups (never fires off Unix).
fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        Hangups(signal(SignalKind::hangup()).ok())
    }
    #[cfg(not(unix))]
    Hangups(())
}

#[cfg(unix)]
struct Hangups(Option<tokio::signal::unix::Signal>);
#[cfg(not(unix))]
struct Hangups(());

impl Hangups {
    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.0 {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    }
}
