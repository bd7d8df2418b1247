//! The run engine's figures for `/metrics`: runs in flight and waiting for a slot,
//! ticks skipped because the previous run was still going, and how late runs start
//! (start − tick − jitter offset) as a Prometheus histogram.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// Upper bounds of the lateness histogram, in seconds.
const BUCKETS: [f64; 9] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Debug, Default)]
pub struct EngineMetrics {
    in_flight: AtomicI64,
    queued: AtomicI64,
    skipped: Mutex<BTreeMap<String, u64>>,
    lateness: Mutex<Histogram>,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl EngineMetrics {
    /// A run was handed to the pool (it waits for a slot until [`Self::started`]).
    pub fn queued(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.queued.fetch_add(1, Ordering::SeqCst);
    }

    /// A queued run got its slot, `late_secs` after its tick and offset.
    pub fn started(&self, late_secs: f64) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let mut h = self.lateness.lock().expect("metrics lock");
        let late = late_secs.max(0.0);
        for (i, b) in BUCKETS.iter().enumerate() {
            if late <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += late;
    }

    pub fn finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn skipped(&self, monitor: &str) {
        let mut all = self.skipped.lock().expect("metrics lock");
        *all.entry(monitor.to_string()).or_default() += 1;
    }

    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub fn waiting(&self) -> i64 {
        self.queued.load(Ordering::SeqCst)
    }

    pub fn skipped_of(&self, monitor: &str) -> u64 {
        let all = self.skipped.lock().expect("metrics lock");
        all.get(monitor).copied().unwrap_or(0)
    }

    pub fn render(&self, out: &mut String, esc: impl Fn(&str) -> String) {
        let gauges = [
            (
                "ripple_runs_in_flight",
                "Monitor runs started and not finished (waiting included).",
                self.in_flight(),
            ),
            (
                "ripple_runs_queued",
                "Monitor runs waiting for a slot of defaults.concurrency.",
                self.waiting(),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let name = "ripple_runs_skipped_total";
        let _ = writeln!(
            out,
            "# HELP {name} Ticks skipped because the monitor's previous run was still going.\n# TYPE {name} counter"
        );
        for (id, n) in self.skipped.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "{name}{{monitor=\"{}\"}} {n}", esc(id));
        }
        let h = self.lateness.lock().expect("metrics lock").clone();
        let name = "ripple_run_lateness_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} How late runs start after their tick and jitter offset.\n# TYPE {name} histogram"
        );
        for (b, c) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {c}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}",
            h.count, h.sum, h.count
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_buckets_are_cumulative_and_gauges_follow_runs() {
        let m = EngineMetrics::default();
        m.queued();
        m.queued();
        m.started(0.2);
        m.started(3.0);
        m.finished();
        m.skipped("a\"b");
        let mut out = String::new();
        m.render(&mut out, |s| s.replace('"', "\\\""));
        assert!(out.contains("ripple_runs_in_flight 1\n"), "{out}");
        assert!(out.contains("ripple_runs_queued 0\n"), "{out}");
        assert!(
            out.contains("ripple_run_lateness_seconds_bucket{le=\"0.25\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("ripple_run_lateness_seconds_bucket{le=\"5\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("ripple_run_lateness_seconds_count 2\n"),
            "{out}"
        );
        assert!(
            out.contains("ripple_runs_skipped_total{monitor=\"a\\\"b\"} 1\n"),
            "{out}"
        );
    }
}
