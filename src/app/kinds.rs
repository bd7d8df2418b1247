//! The kinds' judgement in the run flow: null ratios against their stored history,
//! deadlines' phase and escalation, and readable failures for freshness and row counts.

use super::App;
use crate::monitor::kinds;
use crate::monitor::runner::RunReport;
use crate::rules::{Check, Monitor};
use chrono::{DateTime, Duration, Utc};

impl App {
    /// Rewrites each report's outcome as its kind means it; returns, per monitor, a
    /// copy with a raised severity where a deadline was breached.
    pub(super) async fn judge_kinds(
        &self,
        monitors: &[Monitor],
        reports: &mut [RunReport],
    ) -> anyhow::Result<Vec<Option<Monitor>>> {
        let mut raised = Vec::with_capacity(monitors.len());
        for (m, r) in monitors.iter().zip(reports.iter_mut()) {
            raised.push(self.judge_one(m, r).await?);
        }
        Ok(raised)
    }

    async fn judge_one(&self, m: &Monitor, r: &mut RunReport) -> anyhow::Result<Option<Monitor>> {
        let outcome = std::mem::replace(&mut r.outcome, crate::monitor::Outcome::Pass);
        match &m.check {
            Check::NullRatio { spec, .. } => {
                r.outcome = outcome.clone();
                if let Some(ratio) = kinds::measured_null_ratio(&outcome) {
                    // Checked: a window beyond chrono's range reads all history.
                    let since = Duration::from_std(spec.window)
                        .ok()
                        .and_then(|w| r.started_at.checked_sub_signed(w))
                        .unwrap_or(DateTime::<Utc>::MIN_UTC);
                    let history = self.store.check_values(&m.id, since).await?;
                    r.outcome = kinds::judge_null_ratio(spec, ratio, &history);
                    self.store
                        .add_check_value(&m.id, r.started_at, ratio)
                        .await?;
                }
                Ok(None)
            }
            Check::Deadline { spec, .. } => {
                let (o, severity) = kinds::judge_deadline(spec, m.severity, outcome, r.started_at);
                r.outcome = o;
                Ok((severity != m.severity).then(|| Monitor {
                    severity,
                    ..m.clone()
                }))
            }
            check => {
                r.outcome = kinds::describe(check, outcome);
                Ok(None)
            }
        }
    }
}
