//! Cron deployments without `serve`: `ripple run MONITOR... [--team T]` runs a subset
//! once, and `ripple run --check-missed` raises Missed from the store alone, so a
//! crontab still alerts on absence.

use super::{App, MonitorResult};
use crate::diag::did_you_mean;
use crate::monitor::Outcome;
use crate::monitor::deadman;
use crate::monitor::runner::RunReport;
use crate::rules::Monitor;

impl App {
    /// The monitors named (all when none), of `team` when given; an unknown id or team
    /// is an error with a did-you-mean.
    pub fn select(&self, ids: &[String], team: Option<&str>) -> Result<Vec<Monitor>, String> {
        let known: Vec<&str> = self.rules.monitors.iter().map(|m| m.id.as_str()).collect();
        if let Some(id) = ids.iter().find(|id| self.rules.get(id).is_none()) {
            let hint = did_you_mean(id, &known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(format!(
                "no monitor `{id}`{hint} (`ripple check` lists the rules)"
            ));
        }
        if let Some(t) = team.filter(|t| !self.config.teams.iter().any(|c| c.name == *t)) {
            let teams: Vec<&str> = self.config.teams.iter().map(|c| c.name.as_str()).collect();
            let hint = did_you_mean(t, &teams)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(format!("no team `{t}`{hint}"));
        }
        Ok(self
            .rules
            .monitors
            .iter()
            .filter(|m| ids.is_empty() || ids.contains(&m.id))
            .filter(|m| team.is_none_or(|t| m.team == t))
            .cloned()
            .collect())
    }

    /// Missed for every monitor whose latest tick plus grace has passed with no
    /// completed run since, judged from the store alone. A monitor Ripple has never
    /// seen is not held to ticks before it was first seen.
    pub async fn raise_missed(&self, monitors: &[Monitor]) -> anyhow::Result<Vec<MonitorResult>> {
        let now = self.clock.now();
        let infos = self.store.monitor_infos().await?;
        let mut out = vec![];
        for m in monitors {
            let Some(info) = infos.get(&m.id) else {
                continue;
            };
            let last = info.last_completed_at;
            let since = info.first_seen_at;
            let Some(expected_by) = deadman::missed(&m.schedule, m.grace, last, since, now) else {
                continue;
            };
            let report = RunReport {
                monitor_id: m.id.clone(),
                started_at: now,
                finished_at: now,
                outcome: Outcome::Missed { expected_by },
            };
            let applied = self.apply(m, &report).await?;
            out.push(MonitorResult { report, applied });
        }
        Ok(out)
    }
}
