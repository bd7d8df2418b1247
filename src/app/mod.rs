//! The one place that sequences IO: load rules, run monitors, apply outcomes to
//! incidents, deliver notifications.
//!
//! Everything here is orchestration; decisions live in `incident`, rendering in
//! `render`, persistence in `store`.

use crate::clock::Clock;
use crate::config::{Config, Secrets, WarehouseConfig};
use crate::console::ConsoleNotifier;
use crate::diag::Diagnostic;
use crate::digest::sink::DigestSink;
use crate::github::GithubNotifier;
use crate::incident::Policy;
use crate::metrics::Metrics;
use crate::monitor::runner::{self, RunReport};
use crate::notify::Notifier;
use crate::notify::dispatch::{self, Delivered};
use crate::rules::{self, Monitor, RuleSet};
use crate::slack::SlackNotifier;
use crate::store::{Applied, RunKey, Store};
use crate::warehouse::Warehouse;
use crate::warehouse::bigquery::BigQueryWarehouse;
use crate::warehouse::sqlite::SqliteWarehouse;
use std::sync::Arc;

pub use manual::IncidentError;
pub use silences::{MAX_SILENCE, SilenceError};

mod background;
mod commands;
pub mod digests;
pub mod downtime;
pub mod engine;
pub mod heartbeat;
mod impact;
mod kinds;
mod lineage;
pub mod live;
mod manual;
mod planner;
pub mod reload;
pub mod scheduler;
pub mod serve;
mod silences;
pub mod state;
mod subset;
mod usage;

/// A configured Ripple: rules loaded, warehouse and store open.
pub struct App {
    pub config: Config,
    pub rules: RuleSet,
    pub warehouse: Arc<dyn Warehouse>,
    pub store: Store,
    pub notifiers: Vec<Arc<dyn Notifier>>,
    pub clock: Arc<dyn Clock>,
    /// Per-monitor and per-notifier figures for `/metrics`; shared across reloads.
    pub metrics: Arc<Metrics>,
    /// The process's one Slack notifier (also among `notifiers`): what `/ripple
    /// incident` escalates through. None without a bot token.
    pub slack: Option<Arc<SlackNotifier>>,
    /// Where digests go: the console unless a Slack sink is set.
    pub digest_sink: Arc<dyn DigestSink>,
    /// Where notices about Ripple itself go: `serve.ops_channel`, else the console.
    pub ops: Arc<dyn crate::notify::ops::OpsSink>,
    /// The lineage graph, built on first use and on each refresh.
    lineage: tokio::sync::RwLock<Option<Arc<crate::lineage::graph::LineageGraph>>>,
    /// The ranked usage statistics, loaded on first use and swapped on each refresh.
    usage: tokio::sync::RwLock<Option<Arc<crate::impact::UsageIndex>>>,
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
    /// Builds an app from config, with the default notifiers and credentials from the
    /// environment.
    pub async fn from_config(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        Self::from_config_with_secrets(config, clock, &Secrets::from_env()).await
    }

    /// Builds an app from config with the given credentials (tests, embedding).
    pub async fn from_config_with_secrets(
        config: Config,
        clock: Arc<dyn Clock>,
        secrets: &Secrets,
    ) -> anyhow::Result<App> {
        let rules = rules::load_dir(&config.resolve(&config.rules), &config);
        let warehouse = open_warehouse(&config, clock.clone()).await?;
        let state = &config.state;
        let store = Store::open_with(&config.resolve(&state.path), state.synchronous).await?;
        let Assembled { notifiers, slack } =
            default_notifiers(&config, &store, secrets, clock.clone())?;
        let digest_sink = digests::default_sink(&config)?;
        let ops = ops_sink(&config, slack.as_ref());
        Ok(App {
            config,
            rules,
            warehouse,
            store,
            notifiers,
            slack,
            clock,
            metrics: Default::default(),
            digest_sink,
            ops,
            lineage: Default::default(),
            usage: Default::default(),
        })
    }

    /// The same deployment with another rule set (a reload): warehouse, store,
    /// notifiers, metrics, the lineage graph and usage statistics are shared, nothing is
    /// reopened.
    pub fn with_rules(&self, rules: RuleSet) -> App {
        let graph = self.lineage.try_read().ok().and_then(|g| g.clone());
        let usage = self.usage.try_read().ok().and_then(|u| u.clone());
        App {
            config: self.config.clone(),
            rules,
            warehouse: self.warehouse.clone(),
            store: self.store.clone(),
            notifiers: self.notifiers.clone(),
            slack: self.slack.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            digest_sink: self.digest_sink.clone(),
            ops: self.ops.clone(),
            lineage: tokio::sync::RwLock::new(graph),
            usage: tokio::sync::RwLock::new(usage),
        }
    }

    /// Replaces the operations destination (tests, embedding).
    pub fn set_ops(&mut self, ops: Arc<dyn crate::notify::ops::OpsSink>) {
        self.ops = ops;
    }

    /// Replaces the digest sink (tests, a Slack sink).
    pub fn set_digest_sink(&mut self, sink: Arc<dyn DigestSink>) {
        self.digest_sink = sink;
    }

    /// Sets the Slack notifier commands escalate through (tests, embedding); it is
    /// not added to the notifiers.
    pub fn set_slack(&mut self, slack: Arc<SlackNotifier>) {
        self.slack = Some(slack);
    }

    /// Replaces the notifiers (tests, embedding).
    pub fn set_notifiers(&mut self, notifiers: Vec<Arc<dyn Notifier>>) {
        self.notifiers = notifiers;
    }

    /// Runs every valid monitor once, applies the outcomes, delivers what is due.
    pub async fn run_once(&self) -> anyhow::Result<RunSummary> {
        self.refresh_impact_if_stale().await?;
        let results = self.run_monitors(&self.rules.monitors).await?;
        let delivered = self.deliver().await?;
        Ok(RunSummary {
            results,
            delivered,
            rule_problems: self.rules.problems.clone(),
        })
    }

    /// Rebuilds usage statistics and the lineage graph when `impact.refresh_interval`
    /// has passed: on an interval, never because of an incident.
    pub async fn refresh_impact_if_stale(&self) -> anyhow::Result<()> {
        if self.refresh_usage_if_stale().await? {
            // The graph ages with the statistics: rebuild both on the same interval.
            if let Err(e) = self.refresh_lineage().await {
                tracing::warn!(error = %e, "lineage not refreshed");
            }
        }
        Ok(())
    }

    /// Runs the given monitors and applies each outcome to its incident.
    pub async fn run_monitors(&self, monitors: &[Monitor]) -> anyhow::Result<Vec<MonitorResult>> {
        let concurrency = self.config.defaults.concurrency;
        let mut reports =
            runner::run_all(&*self.warehouse, monitors, concurrency, &*self.clock).await;
        let raised = self.judge_kinds(monitors, &mut reports).await?;
        let ctx = self.impact_context().await;
        let mut applied: Vec<Option<Applied>> = vec![None; monitors.len()];
        for i in self.upstream_first(ctx.as_ref(), monitors, &reports) {
            // A breached deadline applies with its raised severity.
            let m = raised[i].as_ref().unwrap_or(&monitors[i]);
            applied[i] = Some(self.apply_in(ctx.as_ref(), m, &reports[i]).await?);
        }
        Ok(reports
            .into_iter()
            .zip(applied)
            .map(|(report, applied)| MonitorResult {
                report,
                applied: applied.expect("every run applied"),
            })
            .collect())
    }

    /// Runs one monitor and applies its outcome (the run engine's task body).
    pub async fn run_monitor(&self, m: &Monitor) -> anyhow::Result<MonitorResult> {
        let one = std::slice::from_ref(m);
        let mut reports = vec![runner::run_one(&*self.warehouse, m, &*self.clock).await];
        let raised = self.judge_kinds(one, &mut reports).await?;
        let ctx = self.impact_context().await;
        let judged = raised[0].as_ref().unwrap_or(m);
        let applied = self.apply_in(ctx.as_ref(), judged, &reports[0]).await?;
        let report = reports.remove(0);
        Ok(MonitorResult { report, applied })
    }

    /// Records one report and applies it to the monitor's incident.
    pub async fn apply(&self, m: &Monitor, report: &RunReport) -> anyhow::Result<Applied> {
        let ctx = self.impact_context().await;
        self.apply_in(ctx.as_ref(), m, report).await
    }

    async fn apply_in(
        &self,
        ctx: Option<&impact::ImpactContext>,
        m: &Monitor,
        report: &RunReport,
    ) -> anyhow::Result<Applied> {
        let destinations: Vec<&str> = self.notifiers.iter().map(|n| n.destination()).collect();
        let failing = report.outcome.is_failure();
        let impact = ctx.filter(|_| failing).map(|c| self.report_for(c, m));
        let upstream = match ctx.filter(|_| failing) {
            Some(c) => self.upstream_incident(c, m).await?,
            None => None,
        };
        let planner = planner::RunPlanner {
            monitor: m,
            policy: self.policy(m),
            report,
            upstream,
            impact: impact.as_ref(),
        };
        let key = RunKey {
            monitor_id: &m.id,
            team: &m.team,
            fingerprint: crate::incident::fingerprint(&m.id),
            severity: m.severity,
            flap_window: Some(self.config.defaults.flap_window),
            destinations: &destinations,
        };
        self.metrics.observe_run(report);
        let applied = self.store.apply_run(report, &key, &planner).await?;
        tracing::info!(
            monitor = %m.id,
            incident = ?applied.incident_id,
            outcome = report.outcome.label(),
            decision = ?applied.decision,
            "run applied"
        );
        Ok(applied)
    }

    /// Delivers every notification that is due now.
    pub async fn deliver(&self) -> anyhow::Result<Delivered> {
        let now = self.clock.now();
        dispatch::deliver_due_observed(&self.store, &self.notifiers, now, &*self.metrics).await
    }

    fn policy(&self, m: &Monitor) -> Policy {
        Policy {
            severity: m.severity,
            min_consecutive_failures: m.min_consecutive_failures,
            repeat_interval: self.config.defaults.repeat_interval,
            flap: Some(crate::incident::Flap {
                threshold: self.config.defaults.flap_threshold,
                window: self.config.defaults.flap_window,
            }),
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

/// The notifiers of one process, and the Slack one again when configured: commands
/// that post (`/ripple digest`) reach it without a second client.
struct Assembled {
    notifiers: Vec<Arc<dyn Notifier>>,
    slack: Option<Arc<SlackNotifier>>,
}

/// The console notifier stands in for whichever of Slack and GitHub is not configured.
fn default_notifiers(
    config: &Config,
    store: &Store,
    secrets: &Secrets,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Assembled> {
    let mut out: Vec<Arc<dyn Notifier>> = Vec::new();
    // Slack needs its section and a bot token; with the section alone the console
    // shows the Block Kit it would post.
    let slack_ready = config.slack.is_some() && secrets.slack_bot_token.is_some();
    if !slack_ready || config.github.is_none() {
        let mut console = match config.notify.console.as_str() {
            "stdout" => ConsoleNotifier::stdout(),
            path => ConsoleNotifier::file(&config.resolve(path.as_ref()))?,
        };
        if config.github.is_none() {
            console = console.with_preview(github_preview(&config.teams));
        }
        if let Some(slack) = config.slack.as_ref().filter(|_| !slack_ready) {
            let top = slack.impact_top;
            console = console.with_preview(Box::new(move |n| {
                Some(crate::slack::blocks::preview(n, top))
            }));
        }
        out.push(Arc::new(console));
    }
    let mut slack = None;
    if slack_ready {
        let s = Arc::new(SlackNotifier::from_config(
            config,
            secrets,
            store.clone(),
            clock.clone(),
        )?);
        out.push(s.clone());
        slack = Some(s);
    }
    if config.github.is_some() {
        let gh = GithubNotifier::from_config(config, secrets, store.clone(), clock)?;
        out.push(Arc::new(gh));
    }
    Ok(Assembled {
        notifiers: out,
        slack,
    })
}

/// The issue each opened incident would get, when GitHub is not configured: team →
/// (repo, Slack channel) from the teams.
pub fn github_preview(teams: &[crate::config::TeamConfig]) -> crate::console::Preview {
    let teams = teams.to_vec();
    Box::new(move |n| {
        if n.event != crate::notify::EventKind::Opened {
            return None;
        }
        let team = teams.iter().find(|t| t.name == n.team);
        let repo = team.and_then(|t| t.github_repo.as_deref());
        let slack = team.and_then(|t| t.slack_channel.as_deref());
        Some(crate::github::body::preview(n, repo, slack))
    })
}

/// `serve.ops_channel` through the Slack notifier when both are there, else stdout.
fn ops_sink(
    config: &Config,
    slack: Option<&Arc<SlackNotifier>>,
) -> Arc<dyn crate::notify::ops::OpsSink> {
    match (&config.serve.ops_channel, slack) {
        (Some(channel), Some(slack)) => Arc::new(crate::slack::ops::SlackOps {
            slack: slack.clone(),
            channel: channel.clone(),
        }),
        _ => Arc::new(crate::console::ConsoleNotifier::stdout()),
    }
}
