//! The one place that sequences IO: load rules, run monitors, apply outcomes to
//! incidents, deliver notifications.
//!
//! Everything here is orchestration; decisions live in `incident`, rendering in
//! `render`, persistence in `store`.

use crate::clock::Clock;
use crate::config::{Config, WarehouseConfig};
use crate::diag::Diagnostic;
use crate::incident::Policy;
use crate::monitor::runner::{self, RunReport};
use crate::notify::Notifier;
use crate::notify::console::ConsoleNotifier;
use crate::notify::dispatch::{self, Delivered};
use crate::rules::{self, Monitor, RuleSet};
use crate::store::{Applied, Store};
use crate::warehouse::Warehouse;
use crate::warehouse::bigquery::BigQueryWarehouse;
use crate::warehouse::sqlite::SqliteWarehouse;
use std::sync::Arc;

pub mod scheduler;

/// A configured Ripple: rules loaded, warehouse and store open.
pub struct App {
    pub config: Config,
    pub rules: RuleSet,
    pub warehouse: Arc<dyn Warehouse>,
    pub store: Store,
    pub notifiers: Vec<Arc<dyn Notifier>>,
    pub clock: Arc<dyn Clock>,
}

/// One monitor's run and what it did to its incident.
#[derive(Debug, Clone)]
pub struct MonitorResult {
    pub report: RunReport,
    pub applied: Applied,
}

/// What `run --once` did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub results: Vec<MonitorResult>,
    pub delivered: Delivered,
    /// Rule problems: those monitors did not run, the others did.
    pub rule_problems: Vec<Diagnostic>,
}

impl App {
    /// Builds an app from config, with the default notifiers.
    pub async fn from_config(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let rules = rules::load_dir(&config.resolve(&config.rules), &config);
        let warehouse = open_warehouse(&config, clock.clone()).await?;
        let store = Store::open(&config.resolve(&config.state.path)).await?;
        let notifiers = default_notifiers(&config)?;
        Ok(App {
            config,
            rules,
            warehouse,
            store,
            notifiers,
            clock,
        })
    }

    /// Replaces the notifiers (tests, embedding).
    pub fn set_notifiers(&mut self, notifiers: Vec<Arc<dyn Notifier>>) {
        self.notifiers = notifiers;
    }

    /// Runs every valid monitor once, applies the outcomes, delivers what is due.
    pub async fn run_once(&self) -> anyhow::Result<RunSummary> {
        let results = self.run_monitors(&self.rules.monitors).await?;
        let delivered = self.deliver().await?;
        Ok(RunSummary {
            results,
            delivered,
            rule_problems: self.rules.problems.clone(),
        })
    }

    /// Runs the given monitors and applies each outcome to its incident.
    pub async fn run_monitors(&self, monitors: &[Monitor]) -> anyhow::Result<Vec<MonitorResult>> {
        let concurrency = self.config.defaults.concurrency;
        let reports = runner::run_all(&*self.warehouse, monitors, concurrency, &*self.clock).await;
        let mut out = Vec::with_capacity(reports.len());
        for (m, report) in monitors.iter().zip(reports) {
            let applied = self.apply(m, &report).await?;
            out.push(MonitorResult { report, applied });
        }
        Ok(out)
    }

    /// Records one report and applies it to the monitor's incident.
    pub async fn apply(&self, m: &Monitor, report: &RunReport) -> anyhow::Result<Applied> {
        let destinations: Vec<&str> = self.notifiers.iter().map(|n| n.destination()).collect();
        self.store
            .process_run(m, &self.policy(m), report, &destinations)
            .await
    }

    /// Delivers every notification that is due now.
    pub async fn deliver(&self) -> anyhow::Result<Delivered> {
        dispatch::deliver_due(&self.store, &self.notifiers, self.clock.now()).await
    }

    fn policy(&self, m: &Monitor) -> Policy {
        Policy {
            min_consecutive_failures: m.min_consecutive_failures,
            repeat_interval: self.config.defaults.repeat_interval,
        }
    }
}

/// Opens the configured warehouse; `clock` bounds BigQuery's per-monitor deadlines.
pub async fn open_warehouse(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn Warehouse>> {
    match &config.warehouse {
        WarehouseConfig::Sqlite { path, .. } => {
            Ok(Arc::new(SqliteWarehouse::open(&config.resolve(path))?))
        }
        WarehouseConfig::Bigquery { .. } => {
            Ok(Arc::new(BigQueryWarehouse::open(config, clock).await?))
        }
    }
}

/// The console notifier stands in for whichever of Slack and GitHub is not configured.
fn default_notifiers(config: &Config) -> anyhow::Result<Vec<Arc<dyn Notifier>>> {
    let mut out: Vec<Arc<dyn Notifier>> = Vec::new();
    if config.slack.is_none() || config.github.is_none() {
        let console = match config.notify.console.as_str() {
            "stdout" => ConsoleNotifier::stdout(),
            path => ConsoleNotifier::file(&config.resolve(path.as_ref()))?,
        };
        out.push(Arc::new(console));
    }
    Ok(out)
}
