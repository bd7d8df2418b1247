//! The app's half of applying a run: `incident::decide` for the decision and the
//! notification each told event carries. The store calls both inside the run's
//! transaction and persists what they return.

use crate::impact::ImpactReport;
use crate::incident::{self, Condition, Facts, Plan, Policy};
use crate::monitor::runner::RunReport;
use crate::notify::Notification;
use crate::rules::Monitor;
use crate::store::{Planner, StoredEvent};

/// Everything known about one run before the store is consulted.
pub(super) struct RunPlanner<'a> {
    pub monitor: &'a Monitor,
    pub policy: Policy,
    pub report: &'a RunReport,
    /// An open incident upstream of this monitor's tables (lineage inhibition).
    pub upstream: Option<i64>,
    /// The impact of the monitor's broken tables, when known.
    pub impact: Option<&'a ImpactReport>,
}

impl Planner for RunPlanner<'_> {
    fn plan(&self, facts: &Facts) -> Plan {
        let now = self.report.finished_at;
        incident::decide(
            facts,
            &self.report.outcome,
            &self.policy,
            self.upstream,
            now,
        )
    }

    fn payload(&self, e: &StoredEvent) -> anyhow::Result<String> {
        Ok(serde_json::to_string(&self.notification(e))?)
    }
}

impl RunPlanner<'_> {
    /// What destinations render, frozen at the time of the event.
    fn notification(&self, e: &StoredEvent) -> Notification {
        let m = self.monitor;
        Notification {
            incident_id: e.incident_id,
            event: e.kind,
            at: e.at,
            opened_at: e.opened_at,
            monitor_id: m.id.clone(),
            team: m.team.clone(),
            severity: m.severity.as_str().to_string(),
            description: m.description.clone(),
            condition: Condition::of(&self.report.outcome),
            outcome: self.report.outcome.clone(),
            owners: m.owners.clone(),
            labels: m.labels.clone(),
            sql: m.check.sql().to_string(),
            source: format!("{}:{}", m.file.display(), m.line),
            impact: self.impact.cloned(),
        }
    }
}
