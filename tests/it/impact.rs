//! Impact ranking on the demo: usage statistics from the JOBS-shaped history.

use super::support::{Harness, decision};
use chrono::Duration;
use ripple::incident::Decision;

#[tokio::test]
async fn the_demo_history_yields_realistic_usage() {
    let demo = Harness::new().await;
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
    let demo = Harness::new().await;
    assert!(demo.app.refresh_usage_if_stale().await.unwrap());
    demo.clock.advance(Duration::hours(1));
    assert!(!demo.app.refresh_usage_if_stale().await.unwrap());
    demo.clock.advance(Duration::hours(6));
    assert!(demo.app.refresh_usage_if_stale().await.unwrap());
}

#[tokio::test]
async fn the_demo_ranking_is_pinned() {
    let demo = Harness::new().await;
    demo.app.refresh_usage().await.unwrap();
    let report = demo
        .app
        .impact_report(&["shop.orders".to_string()], Some(10))
        .await
        .unwrap();
    insta::assert_snapshot!(
        "demo_impact_shop_orders",
        ripple::impact::render::text(&report)
    );
    insta::assert_snapshot!(
        "demo_impact_shop_orders_mermaid",
        ripple::impact::render::mermaid(&report)
    );
}

#[tokio::test]
async fn a_downstream_monitor_failing_with_its_upstream_joins_its_incident() {
    let demo = Harness::new().await;
    // marts.daily_revenue is built from shop.orders: break it too.
    demo.warehouse_exec("marts", "DELETE FROM daily_revenue");
    let s = demo.app.run_once().await.unwrap();
    let decision = |id: &str| decision(&s, id);
    let upstream = demo
        .app
        .store
        .open_incident_for("orders_without_payment")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        decision("daily_revenue_not_empty"),
        ripple::incident::Decision::Joined {
            incident_id: upstream.id
        }
    );
    assert!(
        demo.app
            .store
            .open_incident_for("daily_revenue_not_empty")
            .await
            .unwrap()
            .is_none()
    );
    let kinds = demo.timeline_kinds(upstream.id).await;
    assert_eq!(kinds, ["opened", "also_affected"]);
    let console = demo.take_console();
    assert_eq!(console.matches("ALSO AFFECTED").count(), 1, "{console}");

    // Still failing together: no second note, no own incident.
    demo.clock.advance(Duration::minutes(30));
    demo.app.run_once().await.unwrap();
    assert_eq!(demo.take_console(), "");
    assert_eq!(demo.app.store.incidents(true).await.unwrap().len(), 3);
}

#[tokio::test]
async fn once_the_upstream_recovers_a_still_failing_downstream_opens_its_own() {
    let demo = Harness::new().await;
    demo.warehouse_exec("marts", "DELETE FROM daily_revenue");
    demo.app.run_once().await.unwrap();
    // Recover both monitors that read shop.orders (payments and point grants).
    demo.warehouse_exec(
        "finance",
        "INSERT INTO payments (id, order_id, amount, method, paid_at)
         SELECT id, id, amount, 'card', processed_at FROM shop.orders WHERE id IN (57, 131, 288)",
    );
    demo.warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
    demo.clock.advance(Duration::minutes(30));
    let s = demo.app.run_once().await.unwrap();
    let decision = |id: &str| decision(&s, id);
    assert_eq!(decision("orders_without_payment"), Decision::Resolve);
    assert_eq!(decision("point_grants_reference_orders"), Decision::Resolve);
    let d = decision("daily_revenue_not_empty");
    assert!(matches!(d, Decision::Open(_)), "{d:?}");
}
