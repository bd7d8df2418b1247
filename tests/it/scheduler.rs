//! The minimal scheduler: monitors run at their cron ticks in their own time zones, and
//! silence past schedule + grace becomes a Missed incident.

use super::support::{Harness, t0};
use chrono::Duration;
use ripple::app::scheduler::Scheduler;
use ripple::incident::Condition;
use ripple::monitor::Outcome;
use ripple::monitor::runner::RunReport;

fn ids(v: Vec<&ripple::rules::Monitor>) -> Vec<&str> {
    let mut ids: Vec<&str> = v.into_iter().map(|m| m.id.as_str()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn monitors_are_due_at_their_own_ticks() {
    let demo = Harness::new().await;
    let monitors = &demo.app.rules.monitors;
    // 2026-11-20 00:00 UTC is 09:00 in Tokyo and 01:00 in Paris (a Friday).
    let due = Scheduler::due(monitors, t0(), t0() + Duration::minutes(5));
    assert_eq!(ids(due), ["point_grants_reference_orders"]); // "5 * * * *" Tokyo
    let due = Scheduler::due(
        monitors,
        t0() + Duration::minutes(5),
        t0() + Duration::minutes(30),
    );
    assert_eq!(
        ids(due),
        [
            "orders_fresh",
            "orders_without_payment",
            "payments_duplicated"
        ]
    );
    let paris_9am = t0() + Duration::hours(8);
    let due = Scheduler::due(monitors, paris_9am - Duration::minutes(1), paris_9am);
    assert!(ids(due).contains(&"expense_settlements_unapproved"));
}

#[tokio::test]
async fn a_tick_runs_what_is_due_and_records_it() {
    let demo = Harness::new().await;
    let mut s = Scheduler::new(ripple::clock::Clock::now(&demo.clock));
    demo.clock.advance(Duration::minutes(30));
    let ran = s.tick(&demo.app).await.unwrap();
    // :05 point grants; :15 and :30 orders_fresh (once); :30 orders and payments.
    assert_eq!(ran, 4);
    assert_eq!(
        demo.app
            .store
            .run_count("orders_without_payment")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        demo.app
            .store
            .run_count("customer_ltv_unique")
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_missed_run_opens_an_incident_and_a_real_run_resolves_it() {
    let demo = Harness::new().await;
    let m = demo.app.rules.get("customer_ltv_unique").unwrap().clone();
    let now = t0();
    let missed = RunReport {
        monitor_id: m.id.clone(),
        started_at: now,
        finished_at: now,
        outcome: Outcome::Missed { expected_by: now },
    };
    demo.app.apply(&m, &missed).await.unwrap();
    let open = demo
        .app
        .store
        .open_incident_for(&m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.condition, Condition::Missed);
    let info = demo.app.store.monitor_info(&m.id).await.unwrap().unwrap();
    assert_eq!(
        info.last_completed_at, None,
        "missed is not a completed run"
    );

    demo.clock.advance(Duration::minutes(1));
    demo.app
        .run_monitors(std::slice::from_ref(&m))
        .await
        .unwrap();
    assert!(
        demo.app
            .store
            .open_incident_for(&m.id)
            .await
            .unwrap()
            .is_none()
    );
}
