//! The lineage graph of the deployment: SQL files, view definitions and job history,
//! rebuilt on the impact refresh interval and shared read-only between runs.

use super::App;
use crate::impact::{ImpactReport, ReportOptions};
use crate::lineage::graph::LineageGraph;
use crate::lineage::{
    ExtractOptions, GraphBuild, JobRecord, SourceConfig, SourcesConfig, ViewDefinition, build_graph,
};
use crate::rules::Monitor;
use chrono::Duration;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Job-history rows read for lineage at most (distinct query/destination pairs).
const MAX_JOBS: usize = 200_000;

impl App {
    /// The configured sources, or none (an empty graph) when `lineage:` is absent.
    pub fn lineage_config(&self) -> SourcesConfig {
        self.config.lineage.clone().unwrap_or_default()
    }

    /// Views and job history for the configured `views` / `jobs` sources.
    pub async fn lineage_inputs(&self) -> anyhow::Result<(Vec<ViewDefinition>, Vec<JobRecord>)> {
        let cfg = self.lineage_config();
        let mut views = Vec::new();
        let mut jobs = Vec::new();
        for src in &cfg.sources {
            match src {
                SourceConfig::Views(_) => views = self.fetch_views().await?,
                SourceConfig::Jobs(j) => jobs = self.fetch_jobs(j.days).await?,
                SourceConfig::SqlFiles(_) => {}
            }
        }
        Ok((views, jobs))
    }

    /// Builds the graph from every configured source.
    pub async fn build_lineage(&self) -> anyhow::Result<GraphBuild> {
        let (views, jobs) = self.lineage_inputs().await?;
        let cfg = self.lineage_config();
        let base = self.config.base_dir.clone();
        let build =
            tokio::task::spawn_blocking(move || build_graph(&cfg, &base, &views, &jobs)).await?;
        for p in build.problems.iter().take(20) {
            tracing::debug!(problem = ?p, "lineage source problem");
        }
        Ok(build)
    }

    /// The current graph, building it on first use.
    pub async fn lineage_graph(&self) -> anyhow::Result<Arc<LineageGraph>> {
        if let Some(g) = self.lineage.read().await.clone() {
            return Ok(g);
        }
        self.refresh_lineage().await
    }

    /// Rebuilds the graph and swaps it in.
    pub async fn refresh_lineage(&self) -> anyhow::Result<Arc<LineageGraph>> {
        let graph = Arc::new(self.build_lineage().await?.graph);
        *self.lineage.write().await = Some(graph.clone());
        Ok(graph)
    }

    /// The tables a monitor reads: the broken tables when it fails.
    pub fn broken_tables(&self, m: &Monitor) -> Vec<String> {
        let cfg = self.lineage_config();
        let opts = ExtractOptions {
            dialect: cfg.dialect,
            default_project: cfg.default_project.clone(),
            default_dataset: cfg.default_dataset.clone(),
        };
        crate::lineage::extract(m.check.sql(), &opts)
            .reads
            .into_iter()
            .collect()
    }

    /// The impact report for a set of broken tables, from the cached usage statistics.
    pub async fn impact_report(
        &self,
        broken: &[String],
        top: Option<usize>,
    ) -> anyhow::Result<ImpactReport> {
        let graph = self.lineage_graph().await?;
        let usage = self.usage_index().await?;
        let opts = ReportOptions {
            top: top.unwrap_or(self.config.impact.top),
            weights: self.config.impact.weights,
            exclude_users: self.config.impact.exclude_users.clone(),
            today: self.clock.now().date_naive(),
        };
        Ok(crate::impact::report::build(broken, &*graph, &usage, &opts))
    }

    async fn fetch_views(&self) -> anyhow::Result<Vec<ViewDefinition>> {
        let views = self.warehouse.views().await?;
        Ok(views
            .into_iter()
            .map(|v| {
                let name = match &v.project {
                    Some(p) => format!("{p}.{}.{}", v.dataset, v.name),
                    None => format!("{}.{}", v.dataset, v.name),
                };
                ViewDefinition { name, sql: v.sql }
            })
            .collect())
    }

    /// Distinct (query, destination) pairs of successful jobs that wrote a table, not run
    /// by Ripple: a scheduled query that runs daily is one piece of lineage, not thirty.
    async fn fetch_jobs(&self, days: u32) -> anyhow::Result<Vec<JobRecord>> {
        let since = self.clock.now() - Duration::days(i64::from(days));
        let jobs = match self.warehouse.jobs(since).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "no job history for lineage");
                return Ok(vec![]);
            }
        };
        let pairs: BTreeSet<(String, String)> = jobs
            .into_iter()
            .filter(|j| j.error.is_none() && !j.is_ripple())
            .filter_map(|j| Some((j.query, j.destination?)))
            .take(MAX_JOBS)
            .collect();
        Ok(pairs
            .into_iter()
            .map(|(query, dest)| JobRecord {
                query,
                destination: Some(dest),
                user: None,
            })
            .collect())
    }
}
