//! The kinds beyond rows: freshness, row counts, null-ratio shifts, deadlines (at risk,
//! then a breach that escalates), and flap damping, on the seeded demo.

use super::support::Harness;
use chrono::{DateTime, Duration, Utc};
use ripple::monitor::Outcome;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

async fn run(demo: &Harness, id: &str) -> Outcome {
    let m = demo.app.rules.get(id).unwrap().clone();
    let r = demo.app.run_monitors(&[m]).await.unwrap();
    demo.app.deliver().await.unwrap();
    r[0].report.outcome.clone()
}

#[tokio::test]
async fn freshness_fails_when_the_pipeline_goes_silent() {
    let demo = Harness::new().await;
    assert_eq!(run(&demo, "orders_fresh").await, Outcome::Pass);
    demo.clock.advance(Duration::days(2));
    let o = run(&demo, "orders_fresh").await;
    assert!(
        o.summary()
            .contains("shop.orders is stale: newest ordered_at is 2026-11-20"),
        "{}",
        o.summary()
    );
}

#[tokio::test]
async fn row_count_fails_out_of_bounds() {
    let demo = Harness::new().await;
    assert_eq!(run(&demo, "customer_ltv_row_count").await, Outcome::Pass);
    demo.warehouse_exec("marts", "DELETE FROM customer_ltv WHERE customer_id > 50");
    let o = run(&demo, "customer_ltv_row_count").await;
    assert!(
        o.summary()
            .contains("marts.customer_ltv has 50 rows, outside [100, 1000000]"),
        "{}",
        o.summary()
    );
}

#[tokio::test]
async fn a_sudden_null_ratio_shift_fails_after_the_history_is_learnt() {
    let demo = Harness::new().await;
    for _ in 0..3 {
        assert_eq!(run(&demo, "orders_processed_at_nulls").await, Outcome::Pass);
        demo.clock.advance(Duration::hours(1));
    }
    demo.warehouse_exec(
        "shop",
        "UPDATE orders SET processed_at = NULL WHERE id % 2 = 0",
    );
    let o = run(&demo, "orders_processed_at_nulls").await;
    assert!(
        o.summary().contains(
            "null ratio of shop.orders.processed_at is 0.50, against 0.00 on average over 7d"
        ),
        "{}",
        o.summary()
    );
    assert!(demo.take_console().contains("OPENED"));
}

#[tokio::test]
async fn a_deadline_is_at_risk_before_and_breached_at_it_which_escalates() {
    let demo = Harness::new().await;
    demo.warehouse_exec(
        "shop",
        "UPDATE orders SET processed_at = NULL WHERE id IN (1, 2, 3)",
    );
    // 20:00 in Tokyo: three paid orders unprocessed, four hours to go.
    demo.clock.set(t("2026-11-20T11:00:00Z"));
    let o = run(&demo, "orders_processed_by_midnight").await;
    assert!(
        o.summary()
            .contains("deadline at risk: 3 unfinished, due 2026-11-20 23:59:59 JST (in 3h 59m)"),
        "{}",
        o.summary()
    );
    let open = demo
        .app
        .store
        .open_incident_for("orders_processed_by_midnight")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.severity.as_str(), "medium");
    assert!(demo.take_console().contains("OPENED"));
    // 00:00:00 in Tokyo: the deadline passed a second ago.
    demo.clock.set(t("2026-11-20T15:00:00Z"));
    let o = run(&demo, "orders_processed_by_midnight").await;
    assert!(
        o.summary()
            .contains("deadline breached: 3 unfinished at 2026-11-20 23:59:59 JST"),
        "{}",
        o.summary()
    );
    let after = demo
        .app
        .store
        .open_incident_for("orders_processed_by_midnight")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((after.id, after.severity.as_str()), (open.id, "high"));
    let console = demo.take_console();
    assert!(
        console.contains("deadline breached"),
        "people hear of the breach at once: {console}"
    );
}

#[tokio::test]
async fn a_flapping_monitor_is_held_open_instead_of_resolving_again() {
    let demo = Harness::new().await;
    let id = "orders_negative_amount";
    let (bad, good) = (
        "UPDATE orders SET amount = -1 WHERE id = 7",
        "UPDATE orders SET amount = 10 WHERE id = 7",
    );
    for _ in 0..2 {
        demo.warehouse_exec("shop", bad);
        run(&demo, id).await;
        demo.clock.advance(Duration::minutes(5));
        demo.warehouse_exec("shop", good);
        run(&demo, id).await;
        demo.clock.advance(Duration::minutes(5));
    }
    demo.warehouse_exec("shop", bad);
    run(&demo, id).await; // the third opening within the hour
    demo.clock.advance(Duration::minutes(5));
    demo.warehouse_exec("shop", good);
    demo.take_console();
    assert_eq!(run(&demo, id).await, Outcome::Pass);
    assert!(
        demo.app
            .store
            .open_incident_for(id)
            .await
            .unwrap()
            .is_some(),
        "held open"
    );
    assert_eq!(demo.take_console(), "", "quietly");
    // Once the window slides past the bounces, the next pass resolves.
    demo.clock.advance(Duration::hours(1));
    run(&demo, id).await;
    assert!(
        demo.app
            .store
            .open_incident_for(id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(demo.take_console().contains("RESOLVED"));
}
