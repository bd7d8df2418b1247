//! Scheduler benchmark (plain `Instant`; run with `cargo bench --bench scheduler`).
//!
//! 10,000 monitors due at the same minute against the seeded SQLite demo, dispatched by
//! one scheduler tick: due selection, runs (bounded concurrency), triage and the store
//! transaction per run, the dead-man's check, delivery. The named baseline, measured in
//! the same run on its own fresh store, is the same tick with a zero-cost warehouse:
//! its time per monitor is the scheduler's overhead (everything but the warehouse),
//! gated with `state.synchronous: normal`; the default `full` (an fsync per run's
//! transaction) is measured and printed beside it.
//! Peak resident memory is `VmHWM` from /proc/self/status. Exits non-zero when the
//! overhead is 1 ms per monitor or more, or the peak is 150 MB or more.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use ripple::app::App;
use ripple::app::scheduler::Scheduler;
use ripple::clock::ManualClock;
use ripple::config::Config;
use ripple::warehouse::{MonitorQuery, QueryError, QueryResult, Warehouse};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const MONITORS: usize = 10_000;
const TARGET_MS_PER_MONITOR: f64 = 1.0;
const TARGET_PEAK_MB: f64 = 150.0;

/// Answers every monitor at once with zero rows: the baseline's warehouse.
struct ZeroCost;

#[async_trait]
impl Warehouse for ZeroCost {
    async fn run(&self, _q: &MonitorQuery) -> Result<QueryResult, QueryError> {
        Ok(QueryResult::default())
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("scheduler benchmark: run it with `cargo bench --bench scheduler`");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let failed = rt.block_on(bench());
    if failed {
        std::process::exit(1);
    }
}

async fn bench() -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let t0: DateTime<Utc> = "2026-11-20T00:00:30Z".parse().expect("time");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    ripple::demo::seed_warehouse(
        &dir.path().join("wh"),
        &repo.join("fixtures/demo/seed.sql"),
        t0,
    )
    .expect("seed");
    write_rules(&dir.path().join("rules"));
    let setup = Instant::now();
    let zero_full = tick(dir.path(), "zero-full", t0, true, "full").await;
    let zero = tick(dir.path(), "zero", t0, true, "normal").await;
    let real = tick(dir.path(), "sqlite", t0, false, "normal").await;
    let peak_mb = peak_rss_kb() as f64 / 1024.0;
    let per = zero.as_secs_f64() * 1000.0 / MONITORS as f64;
    let real_per = real.as_secs_f64() * 1000.0 / MONITORS as f64;
    println!("monitors due at one minute: {MONITORS}");
    println!(
        "baseline, state.synchronous: full (fsync per run): dispatch {:.2} s = {:.3} ms/monitor",
        zero_full.as_secs_f64(),
        zero_full.as_secs_f64() * 1000.0 / MONITORS as f64
    );
    println!(
        "baseline (zero-cost warehouse, state.synchronous: normal): dispatch {:.2} s = {per:.3} ms/monitor scheduler overhead",
        zero.as_secs_f64()
    );
    println!(
        "SQLite demo warehouse (normal): dispatch {:.2} s = {real_per:.3} ms/monitor (warehouse included)",
        real.as_secs_f64()
    );
    println!(
        "peak RSS (VmHWM): {peak_mb:.1} MB; whole run {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let mut failed = false;
    if per >= TARGET_MS_PER_MONITOR {
        eprintln!("TARGET MISSED: overhead {per:.3} ms/monitor >= {TARGET_MS_PER_MONITOR} ms");
        failed = true;
    }
    if peak_mb >= TARGET_PEAK_MB {
        eprintln!("TARGET MISSED: peak RSS {peak_mb:.1} MB >= {TARGET_PEAK_MB} MB");
        failed = true;
    }
    if !failed {
        println!("scheduler targets met");
    }
    failed
}

/// One tick dispatching every monitor, on its own fresh store; returns its wall time.
async fn tick(
    dir: &Path,
    name: &str,
    t0: DateTime<Utc>,
    zero: bool,
    sync: &str,
) -> std::time::Duration {
    let cfg = config(dir, name, sync);
    let clock = ManualClock::new(t0);
    let mut app = App::from_config(cfg, Arc::new(clock.clone()))
        .await
        .expect("app");
    assert_eq!(
        app.rules.monitors.len(),
        MONITORS,
        "{:?}",
        app.rules.problems.first()
    );
    if zero {
        app.warehouse = Arc::new(ZeroCost);
    }
    let mut scheduler = Scheduler::new(t0);
    clock.advance(Duration::seconds(30)); // 00:01:00: every monitor's tick
    let started = Instant::now();
    let ran = scheduler.tick(&app).await.expect("tick");
    let took = started.elapsed();
    assert_eq!(ran, MONITORS);
    took
}

fn config(dir: &Path, name: &str, sync: &str) -> Config {
    let text = format!(
        "warehouse: {{ kind: sqlite, path: {wh} }}\nstate: {{ path: {state}, synchronous: {sync} }}\nrules: {rules}\n\
         teams: [{{ name: commerce }}]\ndefaults: {{ concurrency: 8 }}\nnotify: {{ console: {out} }}\n",
        wh = dir.join("wh").display(),
        state = dir.join(format!("{name}.db")).display(),
        rules = dir.join("rules").display(),
        out = dir.join(format!("{name}.log")).display(),
    );
    Config::parse(&dir.join("ripple.yaml"), &text).expect("config")
}

/// 10,000 every-minute monitors over the demo's tables, passing (healthy data), in
/// files of 100 as a large deployment would keep them (one file per team or domain).
fn write_rules(dir: &Path) {
    std::fs::create_dir_all(dir).expect("rules dir");
    for file in 0..MONITORS / 100 {
        let mut text = String::from("monitors:\n");
        for i in file * 100..(file + 1) * 100 {
            text.push_str(&format!(
                "  - id: bench_{i:05}\n    team: commerce\n    schedule: {{ cron: \"* * * * *\" }}\n    sql: SELECT id FROM shop.orders WHERE amount <= 0 AND id > {}\n",
                i % 400
            ));
        }
        std::fs::write(dir.join(format!("bench_{file:03}.yaml")), text).expect("rules file");
    }
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
