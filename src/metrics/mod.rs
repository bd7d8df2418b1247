//! Metrics in Prometheus' text format, written by hand: a few gauges per monitor and
//! counters per notifier do not need a registry crate.
//!
//! The app records each applied run and each delivery attempt here; `/metrics` renders
//! a snapshot. Everything is in memory: a restart starts the counters at zero, as
//! Prometheus expects of counters.

mod engine;

pub use engine::EngineMetrics;

use crate::monitor::Outcome;
use crate::monitor::runner::RunReport;
use crate::notify::dispatch::DeliveryObserver;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// The latest facts about one monitor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorStat {
    pub outcome: &'static str,
    pub rows: Option<u64>,
    pub duration_secs: f64,
    pub last_success: Option<DateTime<Utc>>,
    pub runs: u64,
}

/// Delivery counters of one destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifierStat {
    pub sends: u64,
    pub retries: u64,
    pub failures: u64,
}

/// Everything `/metrics` shows.
#[derive(Debug, Default)]
pub struct Metrics {
    monitors: Mutex<BTreeMap<String, MonitorStat>>,
    notifiers: Mutex<BTreeMap<String, NotifierStat>>,
    ticks: Mutex<u64>,
    reload_errors: Mutex<u64>,
    /// The run engine's in-flight, queued, skipped and lateness figures.
    pub engine: EngineMetrics,
}

const OUTCOMES: [&str; 4] = ["pass", "fail", "error", "missed"];

impl Metrics {
    /// Records one run (a Missed report too: it has no duration and no rows).
    pub fn observe_run(&self, r: &RunReport) {
        let mut all = self.monitors.lock().expect("metrics lock");
        let s = all.entry(r.monitor_id.clone()).or_default();
        s.outcome = r.outcome.label();
        s.runs += 1;
        match &r.outcome {
            Outcome::Missed { .. } => return,
            Outcome::Pass => {
                s.rows = Some(0);
                s.last_success = Some(r.finished_at);
            }
            Outcome::Fail { rows, .. } => s.rows = Some(*rows),
            Outcome::Error { .. } => s.rows = None,
        }
        s.duration_secs = (r.finished_at - r.started_at).as_seconds_f64();
    }

    /// Registers a monitor with its last outcome from the store, so `/metrics` lists
    /// every monitor from the start, not only those that ran in this process.
    pub fn seed_monitor(&self, id: &str, last_outcome: Option<&str>) {
        let mut all = self.monitors.lock().expect("metrics lock");
        let s = all.entry(id.to_string()).or_default();
        if s.runs == 0 {
            let known = OUTCOMES.iter().find(|o| Some(**o) == last_outcome);
            s.outcome = known.copied().unwrap_or("");
        }
    }

    pub fn observe_tick(&self) {
        *self.ticks.lock().expect("metrics lock") += 1;
    }

    pub fn observe_reload_error(&self) {
        *self.reload_errors.lock().expect("metrics lock") += 1;
    }

    pub fn monitor(&self, id: &str) -> Option<MonitorStat> {
        self.monitors.lock().expect("metrics lock").get(id).cloned()
    }

    pub fn notifier(&self, destination: &str) -> NotifierStat {
        let all = self.notifiers.lock().expect("metrics lock");
        all.get(destination).copied().unwrap_or_default()
    }

    fn count(&self, destination: &str, f: impl FnOnce(&mut NotifierStat)) {
        let mut all = self.notifiers.lock().expect("metrics lock");
        f(all.entry(destination.to_string()).or_default());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_monitors(&mut out);
        self.render_notifiers(&mut out);
        let ticks = *self.ticks.lock().expect("metrics lock");
        let reloads = *self.reload_errors.lock().expect("metrics lock");
        family(
            &mut out,
            "ripple_scheduler_ticks_total",
            "counter",
            "Scheduler ticks.",
        );
        let _ = writeln!(out, "ripple_scheduler_ticks_total {ticks}");
        family(
            &mut out,
            "ripple_rules_reload_errors_total",
            "counter",
            "Rule reloads that kept a last good version.",
        );
        let _ = writeln!(out, "ripple_rules_reload_errors_total {reloads}");
        self.engine.render(&mut out, esc);
        out
    }

    fn render_monitors(&self, out: &mut String) {
        let all = self.monitors.lock().expect("metrics lock");
        family(
            out,
            "ripple_monitor_outcome",
            "gauge",
            "1 for the monitor's latest outcome.",
        );
        for (id, s) in all.iter() {
            for o in OUTCOMES {
                let v = u8::from(s.outcome == o);
                let _ = writeln!(
                    out,
                    "ripple_monitor_outcome{{monitor=\"{}\",outcome=\"{o}\"}} {v}",
                    esc(id)
                );
            }
        }
        family(
            out,
            "ripple_monitor_rows",
            "gauge",
            "Rows the latest completed run returned.",
        );
        for (id, s) in all.iter() {
            if let Some(rows) = s.rows {
                let _ = writeln!(out, "ripple_monitor_rows{{monitor=\"{}\"}} {rows}", esc(id));
            }
        }
        family(
            out,
            "ripple_monitor_run_duration_seconds",
            "gauge",
            "Duration of the latest run.",
        );
        for (id, s) in all.iter() {
            let _ = writeln!(
                out,
                "ripple_monitor_run_duration_seconds{{monitor=\"{}\"}} {}",
                esc(id),
                s.duration_secs
            );
        }
        family(
            out,
            "ripple_monitor_last_success_timestamp_seconds",
            "gauge",
            "When the monitor last passed.",
        );
        for (id, s) in all.iter() {
            if let Some(t) = s.last_success {
                let secs = t.timestamp_millis() as f64 / 1000.0;
                let _ = writeln!(
                    out,
                    "ripple_monitor_last_success_timestamp_seconds{{monitor=\"{}\"}} {secs}",
                    esc(id)
                );
            }
        }
        family(
            out,
            "ripple_monitor_runs_total",
            "counter",
            "Runs recorded since start.",
        );
        for (id, s) in all.iter() {
            let _ = writeln!(
                out,
                "ripple_monitor_runs_total{{monitor=\"{}\"}} {}",
                esc(id),
                s.runs
            );
        }
    }

    fn render_notifiers(&self, out: &mut String) {
        let all = self.notifiers.lock().expect("metrics lock");
        let series: [Series; 3] = [
            (
                "ripple_notifier_sends_total",
                "Notifications delivered.",
                |s| s.sends,
            ),
            (
                "ripple_notifier_retries_total",
                "Deliveries attempted again after a failure.",
                |s| s.retries,
            ),
            (
                "ripple_notifier_failures_total",
                "Delivery attempts that failed.",
                |s| s.failures,
            ),
        ];
        for (name, help, get) in series {
            family(out, name, "counter", help);
            for (dest, s) in all.iter() {
                let _ = writeln!(out, "{name}{{destination=\"{}\"}} {}", esc(dest), get(s));
            }
        }
    }
}

impl DeliveryObserver for Metrics {
    fn attempted(&self, destination: &str, attempts_before: i64, ok: bool) {
        self.count(destination, |s| {
            s.retries += u64::from(attempts_before > 0);
            if ok {
                s.sends += 1;
            } else {
                s.failures += 1;
            }
        });
    }
}

/// A counter family: name, help, and how to read it from a notifier's counters.
type Series = (&'static str, &'static str, fn(&NotifierStat) -> u64);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Label values escape `\`, `"` and newlines.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_monitors_and_notifiers() {
        let m = Metrics::default();
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        m.observe_run(&RunReport {
            monitor_id: "a".into(),
            started_at: t,
            finished_at: t + chrono::Duration::milliseconds(1500),
            outcome: Outcome::Pass,
        });
        m.attempted("console", 0, true);
        m.attempted("slack", 0, false);
        m.attempted("slack", 1, true);
        let text = m.render();
        assert!(
            text.contains("ripple_monitor_outcome{monitor=\"a\",outcome=\"pass\"} 1"),
            "{text}"
        );
        assert!(text.contains("ripple_monitor_outcome{monitor=\"a\",outcome=\"fail\"} 0"));
        assert!(text.contains("ripple_monitor_rows{monitor=\"a\"} 0"));
        assert!(text.contains("ripple_monitor_run_duration_seconds{monitor=\"a\"} 1.5"));
        assert!(
            text.contains(
                "ripple_monitor_last_success_timestamp_seconds{monitor=\"a\"} 1800000001.5"
            )
        );
        assert!(text.contains("ripple_notifier_sends_total{destination=\"slack\"} 1"));
        assert!(text.contains("ripple_notifier_retries_total{destination=\"slack\"} 1"));
        assert!(text.contains("ripple_notifier_failures_total{destination=\"slack\"} 1"));
    }
}
