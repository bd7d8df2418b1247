//! The runner on the SQLite warehouse: timeouts and query errors are outcomes, and one
//! bad monitor never stops the others.

use super::support::config;
use ripple::clock::ManualClock;
use ripple::monitor::Outcome;
use ripple::monitor::runner::run_all;
use ripple::warehouse::sqlite::SqliteWarehouse;

const RULES: &str = r#"
monitors:
  - id: endless
    team: commerce
    timeout: 300ms
    schedule: { cron: "0 * * * *" }
    sql: |
      WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
      SELECT x FROM c WHERE x < 0
  - id: broken
    team: commerce
    schedule: { cron: "0 * * * *" }
    sql: SELECT nope FROM shop.orders
  - id: healthy
    team: commerce
    schedule: { cron: "0 * * * *" }
    sql: SELECT id FROM shop.orders WHERE amount < 0
  - id: sampled
    team: commerce
    sample: 2
    schedule: { cron: "0 * * * *" }
    sql: SELECT id FROM shop.orders WHERE id <= 5 ORDER BY id
"#;

#[tokio::test]
async fn timeouts_and_errors_are_reported_and_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    super::support::seed(dir.path());
    let file = dir.path().join("r.yaml");
    std::fs::write(&file, RULES).unwrap();
    let (monitors, problems) = ripple::rules::load_file(&file, &cfg);
    assert!(problems.is_empty(), "{problems:?}");
    let wh = SqliteWarehouse::open(&dir.path().join("wh")).unwrap();
    let clock = ManualClock::new(super::support::t0());

    let started = std::time::Instant::now();
    let reports = run_all(&wh, &monitors, 4, &clock).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the timeout must stop the query"
    );

    let by_id = |id: &str| {
        reports
            .iter()
            .find(|r| r.monitor_id == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        by_id("endless"),
        Outcome::Error {
            message: "timed out after 300ms".into()
        }
    );
    assert_eq!(
        by_id("broken"),
        Outcome::Error {
            message: "no such column: nope (line 1, column 8 of the monitor SQL)".into()
        }
    );
    assert_eq!(by_id("healthy"), Outcome::Pass);
    let Outcome::Fail { rows, sample, .. } = by_id("sampled") else {
        panic!("sampled should fail")
    };
    assert_eq!(rows, 5);
    assert_eq!(
        sample,
        vec![serde_json::json!({"id": 1}), serde_json::json!({"id": 2})]
    );
}

#[tokio::test]
async fn monitors_cannot_write_even_if_validation_is_bypassed() {
    let dir = tempfile::tempdir().unwrap();
    super::support::seed(dir.path());
    let wh = SqliteWarehouse::open(&dir.path().join("wh")).unwrap();
    let conn = wh.connect().unwrap();
    let err = conn.execute("DELETE FROM shop.orders", []).unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
}

/// Durations no rule can pass `ripple check` with (u64::MAX seconds of timeout, grace
/// and freshness age) still never panic the runner, the scheduler or the dead-man's
/// switch: every sum is checked or saturating.
#[tokio::test]
async fn extreme_durations_never_panic_the_runner_or_the_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    super::support::seed(dir.path());
    let file = dir.path().join("r.yaml");
    std::fs::write(
        &file,
        "monitors:\n  - id: fresh\n    team: commerce\n    schedule: { cron: \"0 * * * *\" }\n    \
         freshness: { table: shop.orders, column: ordered_at, max_age: 6h }\n  - id: plain\n    \
         team: commerce\n    schedule: { cron: \"0 * * * *\" }\n    sql: SELECT id FROM shop.orders WHERE amount < 0\n",
    )
    .unwrap();
    let (mut monitors, problems) = ripple::rules::load_file(&file, &cfg);
    assert!(problems.is_empty(), "{problems:?}");
    let huge = std::time::Duration::from_secs(u64::MAX);
    for m in &mut monitors {
        m.timeout = huge;
        m.grace = huge;
        if let ripple::rules::Check::Freshness { spec, .. } = &mut m.check {
            spec.max_age = huge;
        }
    }
    let wh = SqliteWarehouse::open(&dir.path().join("wh")).unwrap();
    let clock = ManualClock::new(super::support::t0());
    let reports = run_all(&wh, &monitors, 2, &clock).await;
    assert_eq!(reports.len(), 2);
    assert!(
        reports
            .iter()
            .all(|r| !matches!(r.outcome, Outcome::Error { .. })),
        "{reports:?}"
    );
    let t0 = super::support::t0();
    let later = t0 + chrono::Duration::days(1);
    for m in &monitors {
        assert_eq!(
            ripple::monitor::deadman::missed(&m.schedule, m.grace, None, t0, later),
            None
        );
    }
    let s = ripple::app::scheduler::Scheduler::new(t0).with_jitter(huge);
    let _ = s.due_jittered(&monitors, t0, later);
    let _ = s.next_run(&monitors, t0);
}
