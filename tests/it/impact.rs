//! Impact ranking on the demo: usage statistics from the JOBS-shaped history.

use super::support::Demo;
use chrono::Duration;

#[tokio::test]
async fn the_demo_history_yields_realistic_usage() {
    let demo = Demo::new().await;
    let tables = demo.app.refresh_usage().await.unwrap();
    let idx = demo.app.usage_index().await.unwrap();
    assert_eq!(idx.len(), tables);
    let daily = idx.get("marts.daily_revenue").unwrap();
    let kpis = idx.get("reporting.exec_kpis").unwrap();
    assert!(daily.usage.users >= 10, "{daily:?}");
    assert!(daily.reads_rank > idx.get("marts.points_liability").unwrap().reads_rank);
    // Failed jobs and Ripple's own monitor jobs do not count; service accounts do read.
    assert!(
        kpis.usage
            .top_consumers
            .iter()
            .any(|c| c.user.ends_with("gserviceaccount.com"))
    );
    // Some tables are never read.
    assert!(idx.get("finance.expense_settlements").is_none());
    assert!(idx.get("shop.customers").is_none());
}

#[tokio::test]
async fn usage_is_refreshed_on_the_interval_only() {
    let demo = Demo::new().await;
    assert!(demo.app.refresh_usage_if_stale().await.unwrap());
    demo.clock.advance(Duration::hours(1));
    assert!(!demo.app.refresh_usage_if_stale().await.unwrap());
    demo.clock.advance(Duration::hours(6));
    assert!(demo.app.refresh_usage_if_stale().await.unwrap());
}
