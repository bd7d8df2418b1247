//! The BigQuery warehouse against the real local emulator (PyPI `bqemulator`), which
//! `./scripts/test` installs, starts on a free loopback port and stops afterwards. Without
//! it these tests fail, saying so: they never pass silently.

use super::support::{Harness, repo, t0};
use ripple::app::App;
use ripple::clock::{ManualClock, SystemClock};
use ripple::config::Config;
use ripple::console::ConsoleNotifier;
use ripple::monitor::runner::run_params;
use ripple::rules::Check;
use ripple::warehouse::bigquery::{BigQueryWarehouse, NoAuth, Settings, Tuning};
use ripple::warehouse::{MonitorQuery, QueryError, Warehouse};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The emulator's base URL, seeded once per test process with the demo's tables.
fn emulator() -> &'static str {
    static SEEDED: OnceLock<String> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let url = std::env::var("RIPPLE_BQ_EMULATOR").unwrap_or_else(|_| {
            panic!(
                "RIPPLE_BQ_EMULATOR is not set: the BigQuery emulator tests run through \
                 ./scripts/test, which installs and starts the emulator (by hand: \
                 eval \"$(scripts/bq-emulator start)\" before cargo test)"
            )
        });
        let out = std::process::Command::new(repo().join("scripts/bq-emulator"))
            .args(["seed", &url])
            .arg(repo().join("fixtures/bigquery/seed.sql"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "seeding the emulator failed: {stderr}"
        );
        url
    })
}

async fn warehouse() -> BigQueryWarehouse {
    BigQueryWarehouse::build(Settings {
        project: "test-project".into(),
        location: "US".into(),
        api_url: format!("{}/bigquery/v2", emulator()),
        iam_url: "http://127.0.0.1:9/unused".into(),
        auth: Arc::new(NoAuth),
        grants: BTreeMap::new(),
        clock: Arc::new(SystemClock),
        tuning: Tuning::default(),
    })
    .await
    .unwrap()
}

fn rows(sql: &str) -> MonitorQuery {
    MonitorQuery {
        monitor_id: "it".into(),
        team: "commerce".into(),
        check: Check::Rows { sql: sql.into() },
        sample: 0,
        timeout: Duration::from_secs(60),
        service_account: None,
        params: run_params(t0()),
    }
}

const ORDERS_WITHOUT_PAYMENT: &str = "SELECT o.id FROM shop.orders AS o \
    LEFT JOIN finance.payments AS p ON p.order_id = o.id \
    WHERE o.status = 'paid' AND p.id IS NULL";

#[tokio::test]
async fn failing_and_passing_monitors_report_exact_row_counts() {
    let wh = warehouse().await;
    let fail = wh.run(&rows(ORDERS_WITHOUT_PAYMENT)).await.unwrap();
    assert_eq!(
        (fail.rows, fail.sample.len()),
        (3, 0),
        "count only, no data"
    );
    let pass = wh
        .run(&rows("SELECT id FROM shop.orders WHERE amount <= 0"))
        .await
        .unwrap();
    assert_eq!(pass.rows, 0);
}

#[tokio::test]
async fn a_sample_brings_back_at_most_the_rows_asked_for() {
    let wh = warehouse().await;
    let q = MonitorQuery {
        sample: 2,
        ..rows(&format!("{ORDERS_WITHOUT_PAYMENT} ORDER BY o.id"))
    };
    let r = wh.run(&q).await.unwrap();
    assert_eq!(r.rows, 3);
    assert_eq!(
        r.sample,
        [
            serde_json::json!({"id": "57"}),
            serde_json::json!({"id": "131"})
        ]
    );
}

#[tokio::test]
async fn a_query_error_carries_bigquerys_message() {
    let wh = warehouse().await;
    let err = wh
        .run(&rows("SELECT approved_by FROM finance.expense_settlements"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, QueryError::Sql(m) if m.contains("approved_by")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_monitor_past_its_timeout_stops_waiting() {
    let wh = warehouse().await;
    // About a second and a half of DuckDB work on the emulator.
    let slow = "SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 10000)) AS a \
                CROSS JOIN UNNEST(GENERATE_ARRAY(1, 10000)) AS b WHERE MOD(a * b, 7) = 3";
    let q = MonitorQuery {
        timeout: Duration::from_millis(300),
        ..rows(slow)
    };
    let started = Instant::now();
    let err = wh.run(&q).await.unwrap_err();
    assert_eq!(err, QueryError::Timeout(Duration::from_millis(300)));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn named_parameters_are_bound() {
    let wh = warehouse().await;
    // Orders placed on or after the run time (2026-11-20): day offset 19 of the seed.
    let sql = "SELECT id FROM shop.orders WHERE TIMESTAMP(ordered_at) >= @run_time";
    let expected = (1..=400).filter(|i| i * 13 % 20 == 19).count() as u64;
    assert_eq!(wh.run(&rows(sql)).await.unwrap().rows, expected);
}

#[tokio::test]
async fn a_script_with_declare_counts_its_last_statement() {
    let wh = warehouse().await;
    let sql = "DECLARE cutoff INT64 DEFAULT 300;\n\
               SELECT id FROM shop.orders WHERE id > cutoff AND status = 'cancelled';";
    // 325, 350, 375, 400.
    assert_eq!(wh.run(&rows(sql)).await.unwrap().rows, 4);
}

#[tokio::test]
async fn views_are_read_for_lineage() {
    let wh = warehouse().await;
    let views = wh.views().await.unwrap();
    let v = views
        .iter()
        .find(|v| v.name == "v_revenue_last_7d")
        .unwrap_or_else(|| panic!("{views:#?}"));
    assert_eq!(v.project.as_deref(), Some("test-project"));
    assert_eq!(v.dataset, "marts");
    assert!(v.sql.contains("marts.daily_revenue"), "{}", v.sql);
}

/// `fixtures/bigquery/ripple.yaml`, pointed at this run's emulator and a state in `dir`.
fn emulator_config(dir: &Path) -> (std::path::PathBuf, String) {
    let fixture = repo().join("fixtures/bigquery/ripple.yaml");
    let text = std::fs::read_to_string(&fixture)
        .unwrap()
        .replace("http://127.0.0.1:9050", emulator())
        .replace(
            "../../.ripple/bigquery/state.db",
            &dir.join("state.db").display().to_string(),
        );
    (fixture, text)
}

fn outcomes(s: &ripple::app::RunSummary) -> BTreeMap<String, (&'static str, String)> {
    s.results
        .iter()
        .map(|r| {
            let o = &r.report.outcome;
            (r.report.monitor_id.clone(), (o.label(), o.summary()))
        })
        .collect()
}

#[tokio::test]
async fn the_demo_rules_give_the_sqlite_outcomes_where_the_sql_is_portable() {
    let dir = tempfile::tempdir().unwrap();
    let (fixture, text) = emulator_config(dir.path());
    let cfg = Config::parse(&fixture, &text).unwrap();
    let mut app = App::from_config(cfg, Arc::new(ManualClock::new(t0())))
        .await
        .unwrap();
    app.set_notifiers(vec![Arc::new(ConsoleNotifier::buffer().0)]);
    let on_bigquery = outcomes(&app.run_once().await.unwrap());
    let sqlite = Harness::new().await;
    let on_sqlite = outcomes(&sqlite.app.run_once().await.unwrap());
    assert_eq!(on_bigquery.len(), 13);
    for (id, (label, summary)) in &on_sqlite {
        let (bq_label, bq_summary) = &on_bigquery[id];
        let is_assert = matches!(app.rules.get(id).unwrap().check, Check::Assert { .. });
        if is_assert {
            // The emulator has no ASSERT: its parser rejects the statement.
            assert_eq!(*bq_label, "error", "{id}: {bq_summary}");
            assert!(bq_summary.contains("ASSERT"), "{id}: {bq_summary}");
        } else if *label == "error" {
            // Both warehouses refuse the renamed column, each in its own words.
            assert_eq!(bq_label, label, "{id}: {bq_summary}");
            assert!(bq_summary.contains("approved_by"), "{id}: {bq_summary}");
        } else {
            assert_eq!((bq_label, bq_summary), (label, summary), "{id}");
        }
    }
}

fn ripple(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(repo())
        .env_remove("RIPPLE_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn ripple_run_once_works_on_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let (fixture, text) = emulator_config(dir.path());
    // Beside the fixture, so its relative `rules:` path still points at the demo's rules.
    let cfg = fixture.with_file_name(format!(
        "ripple-it-{}.yaml",
        dir.path().file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&cfg, text).unwrap();
    let out = ripple(&["run", "--once", "--config", cfg.to_str().unwrap()]);
    let dry = ripple(&["check", "--dry-run", "--config", cfg.to_str().unwrap()]);
    std::fs::remove_file(&cfg).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("orders_without_payment "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains(" fail ") && line.contains("3 rows"), "{line}");

    let (stdout, stderr) = (
        String::from_utf8_lossy(&dry.stdout),
        String::from_utf8_lossy(&dry.stderr),
    );
    assert_eq!(dry.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("dry run: orders_without_payment ok, 0 B would be processed"),
        "{stderr}"
    );
    assert!(
        stdout.contains("monitor `expense_settlements_unapproved` fails a dry run"),
        "{stdout}"
    );
}
