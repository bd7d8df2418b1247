//! Metadata and parameters on the embedded SQLite warehouse: the same trait the BigQuery
//! warehouse implements, so lineage and portable monitors work on the demo too.

use super::support::{Harness, t0};
use ripple::monitor::runner::run_params;
use ripple::rules::Check;
use ripple::warehouse::sqlite::SqliteWarehouse;
use ripple::warehouse::{MonitorQuery, Warehouse};
use std::time::Duration;

fn rows(sql: &str) -> MonitorQuery {
    MonitorQuery {
        monitor_id: "it".into(),
        team: "commerce".into(),
        check: Check::Rows { sql: sql.into() },
        sample: 0,
        timeout: Duration::from_secs(10),
        service_account: None,
        params: run_params(t0()),
    }
}

#[tokio::test]
async fn sqlite_views_are_read_with_their_select() {
    let demo = Harness::new().await;
    let wh = SqliteWarehouse::open(&demo.dir.path().join("wh")).unwrap();
    let views = wh.views().await.unwrap();
    assert_eq!(views.len(), 1, "{views:#?}");
    let v = &views[0];
    assert_eq!((v.project.as_deref(), v.dataset.as_str()), (None, "marts"));
    assert_eq!(v.name, "v_revenue_last_7d");
    assert!(
        v.sql
            .starts_with("SELECT day, revenue FROM marts.daily_revenue"),
        "{}",
        v.sql
    );
    assert!(
        wh.jobs(t0()).await.unwrap().is_empty(),
        "SQLite keeps no job history"
    );
}

#[tokio::test]
async fn sqlite_binds_run_time_and_dry_runs() {
    let demo = Harness::new().await;
    let wh = SqliteWarehouse::open(&demo.dir.path().join("wh")).unwrap();
    let sql = "SELECT id FROM shop.orders WHERE ordered_at >= @run_time";
    let expected = (1..=400).filter(|i| i * 13 % 20 == 19).count() as u64;
    assert_eq!(wh.run(&rows(sql)).await.unwrap().rows, expected);
    let unknown = wh.run(&rows("SELECT @nope")).await.unwrap_err();
    assert!(
        unknown.to_string().contains("unknown parameter @nope"),
        "{unknown}"
    );
    assert!(
        wh.dry_run(&rows("SELECT id FROM shop.orders"))
            .await
            .is_ok()
    );
    let err = wh
        .dry_run(&rows("SELECT nope FROM shop.orders"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no such column: nope"), "{err}");
}
