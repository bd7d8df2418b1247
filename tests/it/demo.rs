//! The demo's incident lifecycle: open, stay quiet, remind, resolve, survive restarts.

use super::support::{Harness, decision, repo};
use chrono::Duration;
use ripple::incident::{Condition, Decision, UpdateReason};

fn outcomes(s: &ripple::app::RunSummary) -> Vec<(String, &'static str)> {
    let mut v: Vec<_> = s
        .results
        .iter()
        .map(|r| (r.report.monitor_id.clone(), r.report.outcome.label()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_demo_fails_in_three_different_ways() {
    let demo = Harness::new().await;
    let s = demo.app.run_once().await.unwrap();
    let failing: Vec<_> = outcomes(&s)
        .into_iter()
        .filter(|(_, o)| *o != "pass")
        .collect();
    assert_eq!(
        failing,
        [
            ("expense_settlements_unapproved".to_string(), "error"),
            ("orders_without_payment".to_string(), "fail"),
            ("point_grants_reference_orders".to_string(), "fail"),
        ]
    );
    assert_eq!(s.results.len(), 13);
    assert_eq!(demo.app.store.incidents(true).await.unwrap().len(), 3);
    assert_eq!(s.delivered.sent, 3);
    let console = demo
        .take_console()
        .replace(&repo().display().to_string(), "<repo>");
    insta::assert_snapshot!("demo_first_run_console", console);
}

#[tokio::test]
async fn a_second_run_opens_nothing_and_says_nothing() {
    let demo = Harness::new().await;
    demo.app.run_once().await.unwrap();
    demo.take_console();
    demo.clock.advance(Duration::minutes(30));
    let s = demo.app.run_once().await.unwrap();
    assert_eq!(demo.app.store.incidents(false).await.unwrap().len(), 3);
    assert_eq!(s.delivered.sent, 0);
    assert_eq!(demo.take_console(), "");
    let quiet = Decision::Update {
        condition: Condition::Failing,
        notify: None,
    };
    assert_eq!(decision(&s, "orders_without_payment"), quiet);
}

#[tokio::test]
async fn a_restart_never_duplicates_an_incident() {
    let mut demo = Harness::new().await;
    demo.app.run_once().await.unwrap();
    let before = demo.app.store.incidents(true).await.unwrap();
    demo.restart().await;
    demo.clock.advance(Duration::minutes(5));
    demo.app.run_once().await.unwrap();
    let after = demo.app.store.incidents(true).await.unwrap();
    let ids = |v: &[ripple::store::IncidentRow]| v.iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(demo.take_console(), "", "a restart must not re-announce");
}

#[tokio::test]
async fn still_failing_after_the_repeat_interval_reminds_once() {
    let demo = Harness::new().await;
    demo.app.run_once().await.unwrap();
    demo.take_console();
    demo.clock.advance(Duration::hours(4));
    let s = demo.app.run_once().await.unwrap();
    let reminded = s
        .results
        .iter()
        .filter(|r| {
            matches!(
                r.applied.decision,
                Decision::Update {
                    notify: Some(UpdateReason::Reminder),
                    ..
                }
            )
        })
        .count();
    assert_eq!(reminded, 3);
    assert_eq!(demo.take_console().matches("REMINDER").count(), 3);
    demo.clock.advance(Duration::minutes(30));
    demo.app.run_once().await.unwrap();
    assert_eq!(demo.take_console(), "");
}

#[tokio::test]
async fn fixing_the_data_resolves_and_a_relapse_opens_a_new_incident() {
    let demo = Harness::new().await;
    demo.app.run_once().await.unwrap();
    let first = demo
        .app
        .store
        .open_incident_for("point_grants_reference_orders")
        .await
        .unwrap()
        .unwrap();
    demo.take_console();

    demo.warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
    demo.clock.advance(Duration::minutes(30));
    let s = demo.app.run_once().await.unwrap();
    assert_eq!(
        decision(&s, "point_grants_reference_orders"),
        Decision::Resolve
    );
    let console = demo.take_console();
    assert!(
        console.contains(&format!(
            "incident #{} RESOLVED loyalty/point_grants_reference_orders: recovered",
            first.id
        )),
        "{console}"
    );
    assert!(
        demo.app
            .store
            .open_incident_for("point_grants_reference_orders")
            .await
            .unwrap()
            .is_none()
    );
    let timeline = demo.timeline_kinds(first.id).await;
    assert_eq!(timeline, ["opened", "resolved"]);

    demo.warehouse_exec(
        "loyalty",
        "INSERT INTO point_grants VALUES (9003, 1, 9003, 10, '2026-11-20')",
    );
    demo.clock.advance(Duration::minutes(30));
    demo.app.run_once().await.unwrap();
    let second = demo
        .app
        .store
        .open_incident_for("point_grants_reference_orders")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(first.id, second.id);
}

#[tokio::test]
async fn a_change_of_condition_is_announced() {
    let demo = Harness::new().await;
    demo.app.run_once().await.unwrap();
    demo.take_console();
    // Upstream drops the column the monitor reads: failing becomes erroring.
    demo.warehouse_exec(
        "shop",
        "ALTER TABLE orders RENAME COLUMN status TO order_status",
    );
    demo.clock.advance(Duration::minutes(30));
    demo.app.run_once().await.unwrap();
    let console = demo.take_console();
    assert!(
        console
            .contains("CHANGED commerce/orders_without_payment: error: no such column: o.status"),
        "{console}"
    );
}
