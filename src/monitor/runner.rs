//! Runs monitors against a warehouse with bounded concurrency.
//!
//! Each run is isolated: an error, a timeout or even a panic in one monitor becomes
//! that monitor's `Error` outcome and never stops the others.

use super::Outcome;
use crate::clock::Clock;
use crate::rules::Monitor;
use crate::warehouse::{MonitorQuery, ParamValue, QueryError, Warehouse};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// One finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub monitor_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// A warehouse that ignores its own timeout still gets cut off this much later.
const BACKSTOP: Duration = Duration::from_secs(5);

/// Runs every monitor once, at most `concurrency` at a time; reports come back in the
/// order of `monitors` so output is stable.
pub async fn run_all(
    warehouse: &dyn Warehouse,
    monitors: &[Monitor],
    concurrency: usize,
    clock: &dyn Clock,
) -> Vec<RunReport> {
    let runs = monitors
        .iter()
        .enumerate()
        .map(|(i, m)| async move { (i, run_one(warehouse, m, clock).await) });
    let mut done: Vec<(usize, RunReport)> = futures::stream::iter(runs)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Runs one monitor and turns whatever happens into an outcome.
pub async fn run_one(warehouse: &dyn Warehouse, m: &Monitor, clock: &dyn Clock) -> RunReport {
    let started_at = clock.now();
    let query = MonitorQuery {
        monitor_id: m.id.clone(),
        team: m.team.clone(),
        check: m.check.clone(),
        sample: m.sample.max(super::kinds::min_sample(&m.check)),
        timeout: m.timeout,
        service_account: m.service_account.clone(),
        params: params_for(m, started_at),
    };
    // Saturating: `ripple check` bounds timeouts, but no value may panic the runner.
    let result = tokio::time::timeout(m.timeout.saturating_add(BACKSTOP), warehouse.run(&query))
        .await
        .unwrap_or(Err(QueryError::Timeout(m.timeout)));
    tracing::debug!(monitor = %m.id, ok = result.is_ok(), "monitor run finished");
    RunReport {
        monitor_id: m.id.clone(),
        started_at,
        finished_at: clock.now(),
        outcome: Outcome::from_result(result),
    }
}

/// Every named parameter of a monitor's run: `@run_time` and its kind's own.
pub fn params_for(m: &Monitor, started_at: DateTime<Utc>) -> BTreeMap<String, ParamValue> {
    let mut p = run_params(started_at);
    p.extend(super::kinds::params(&m.check, started_at));
    p
}

/// The named parameters every run offers its SQL: `@run_time`, when the run started, so a
/// monitor can say "orders older than an hour at run time" without reading the clock.
pub fn run_params(started_at: DateTime<Utc>) -> BTreeMap<String, ParamValue> {
    BTreeMap::from([("run_time".to_string(), ParamValue::Timestamp(started_at))])
}
