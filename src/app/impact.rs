//! Impact in the incident flow: each failing run carries its impact report, and a
//! monitor whose tables lie downstream of another open incident joins it.

use super::App;
use crate::impact::{ImpactReport, ReportOptions, UsageIndex};
use crate::lineage::graph::LineageGraph;
use crate::monitor::runner::RunReport;
use crate::rules::Monitor;
use chrono::Duration;
use std::collections::HashSet;
use std::sync::Arc;

/// Graph and usage, loaded once per batch of runs.
pub struct ImpactContext {
    pub graph: Arc<LineageGraph>,
    pub usage: Arc<UsageIndex>,
}

impl App {
    /// Best-effort: impact must never stop a run, so failures are logged and skipped.
    pub async fn impact_context(&self) -> Option<ImpactContext> {
        let graph = self.lineage_graph().await;
        let usage = self.usage_index().await;
        match (graph, usage) {
            (Ok(graph), Ok(usage)) => Some(ImpactContext { graph, usage }),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "impact analysis unavailable for this run");
                None
            }
        }
    }

    /// The impact report of a monitor's broken tables.
    pub fn report_for(&self, ctx: &ImpactContext, m: &Monitor) -> ImpactReport {
        let opts = ReportOptions {
            top: self.config.impact.top,
            weights: self.config.impact.weights,
            exclude_users: self.config.impact.exclude_users.clone(),
            today: self.clock.now().date_naive(),
        };
        crate::impact::report::build(&self.broken_tables(m), &*ctx.graph, &ctx.usage, &opts)
    }

    /// An open incident, failing within the group window, whose monitor's tables are
    /// upstream of `m`'s: the incident `m` should join instead of opening its own.
    pub async fn upstream_incident(
        &self,
        ctx: &ImpactContext,
        m: &Monitor,
    ) -> anyhow::Result<Option<i64>> {
        if self.store.open_incident_for(&m.id).await?.is_some() {
            return Ok(None);
        }
        let mine: HashSet<String> = self.broken_tables(m).into_iter().collect();
        let since = self.clock.now() - Duration::from_std(self.config.impact.group_window)?;
        for inc in self.store.incidents(true).await? {
            let Some(other) = self.rules.get(&inc.monitor_id) else {
                continue;
            };
            if inc.monitor_id == m.id || inc.updated_at < since {
                continue;
            }
            if self.feeds(ctx, &self.broken_tables(other), &mine) {
                return Ok(Some(inc.id));
            }
        }
        Ok(None)
    }

    /// Whether any of `tables` is upstream of any of `targets`.
    fn feeds(&self, ctx: &ImpactContext, tables: &[String], targets: &HashSet<String>) -> bool {
        let mut hit = false;
        for t in tables.iter().filter(|t| !targets.contains(*t)) {
            ctx.graph
                .for_each_downstream(t, None, |d, _| hit |= targets.contains(d));
            if hit {
                return true;
            }
        }
        false
    }

    /// Processing order for a batch: passing runs first (a recovered upstream resolves
    /// before a still-failing downstream decides), then failing monitors on tables with
    /// fewer ancestors first, so an upstream incident exists before its downstream
    /// monitors are applied.
    pub fn upstream_first(
        &self,
        ctx: Option<&ImpactContext>,
        monitors: &[Monitor],
        reports: &[RunReport],
    ) -> Vec<usize> {
        let mut order: Vec<usize> = (0..monitors.len()).collect();
        let Some(ctx) = ctx else { return order };
        let ancestors = |m: &Monitor| {
            let tables = self.broken_tables(m);
            tables
                .iter()
                .map(|t| ctx.graph.upstream(t, None).len())
                .min()
                .unwrap_or(0)
        };
        let keys: Vec<(bool, usize)> = monitors
            .iter()
            .zip(reports)
            .map(|(m, r)| {
                let failing = r.outcome.is_failure();
                (failing, if failing { ancestors(m) } else { 0 })
            })
            .collect();
        order.sort_by_key(|&i| keys[i]);
        order
    }
}
