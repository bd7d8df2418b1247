//! The lineage graph of the deployment: SQL files, view definitions and job history,
//! rebuilt on the impact refresh interval and shared read-only between runs.

use super::App;
use crate::config::WarehouseConfig;
use crate::impact::{ImpactReport, ReportOptions};
use crate::lineage::graph::LineageGraph;
use crate::lineage::{
    ExtractOptions, GraphBuild, JobRecord, SourceConfig, SourcesConfig, ViewDefinition, build_graph,
};
use crate::rules::Monitor;
use crate::warehouse::Rows;
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
        match &self.config.warehouse {
            WarehouseConfig::Sqlite { .. } => sqlite_views(self).await,
        }
    }

    async fn fetch_jobs(&self, days: u32) -> anyhow::Result<Vec<JobRecord>> {
        match &self.config.warehouse {
            WarehouseConfig::Sqlite { .. } => sqlite_jobs(self, days).await,
        }
    }
}

/// Views of every attached dataset, named `dataset.view`.
async fn sqlite_views(app: &App) -> anyhow::Result<Vec<ViewDefinition>> {
    let list = "SELECT name FROM pragma_database_list WHERE name NOT IN ('main', 'temp')";
    let datasets = app.warehouse.query_rows(list, &[], 10_000).await?;
    let mut views = Vec::new();
    for ds in strings(&datasets, 0) {
        let sql = format!("SELECT name, sql FROM \"{ds}\".sqlite_master WHERE type = 'view'");
        let rows = app.warehouse.query_rows(&sql, &[], 100_000).await?;
        for (name, sql) in strings(&rows, 0).into_iter().zip(strings(&rows, 1)) {
            let sql = view_body(&sql);
            views.push(ViewDefinition {
                name: format!("{ds}.{name}"),
                sql,
            });
        }
    }
    Ok(views)
}

/// Distinct (query, destination) pairs from the demo's JOBS-shaped history.
async fn sqlite_jobs(app: &App, days: u32) -> anyhow::Result<Vec<JobRecord>> {
    let since = app.clock.now() - Duration::days(i64::from(days));
    let sql = "SELECT DISTINCT query, destination_table FROM region_us.jobs_by_project
               WHERE destination_table IS NOT NULL AND state = 'DONE' AND error_result IS NULL
                 AND creation_time >= @since";
    let params = [("since", since.format("%Y-%m-%d %H:%M:%S").to_string())];
    let rows = match app.warehouse.query_rows(sql, &params, MAX_JOBS).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "no job history for lineage");
            return Ok(vec![]);
        }
    };
    let pairs: BTreeSet<(String, String)> = strings(&rows, 0)
        .into_iter()
        .zip(strings(&rows, 1))
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

/// SQLite keeps a view as its whole `CREATE VIEW` text, with the schema stripped from the
/// name; BigQuery's `VIEWS.view_definition` is the SELECT alone. Hand lineage the SELECT,
/// as BigQuery does, so the view's known name is its target.
fn view_body(create: &str) -> String {
    use sqlparser::ast::Statement;
    let dialect = sqlparser::dialect::SQLiteDialect {};
    match sqlparser::parser::Parser::parse_sql(&dialect, create).as_deref() {
        Ok([Statement::CreateView(v)]) => v.query.to_string(),
        _ => create.to_string(),
    }
}

fn strings(rows: &Rows, col: usize) -> Vec<String> {
    rows.rows
        .iter()
        .map(|r| {
            r.get(col)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}
