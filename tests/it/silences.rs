//! Silences: the monitor runs and its incident tracks the truth; nobody is told until the
//! silence ends, and then they are told at once.

use super::support::Harness;
use chrono::Duration;
use std::time::Duration as Std;

#[tokio::test]
async fn a_silenced_failure_opens_quietly_and_is_announced_when_the_silence_ends() {
    let demo = Harness::new().await;
    let s = demo
        .app
        .silence(
            "orders_without_payment",
            Std::from_secs(3600),
            "backfill",
            "ana",
        )
        .await
        .unwrap();
    assert_eq!(s.until, demo.clock_now() + Duration::hours(1));
    demo.app.run_once().await.unwrap();
    let open = demo
        .app
        .store
        .open_incident_for("orders_without_payment")
        .await
        .unwrap()
        .unwrap();
    let console = demo.take_console();
    assert!(!console.contains("orders_without_payment"), "{console}");
    assert_eq!(
        console.matches("OPENED").count(),
        2,
        "the other failures are still told"
    );
    let kinds = demo.timeline_kinds(open.id).await;
    assert_eq!(kinds, ["opened (silenced)"]);

    demo.clock.advance(Duration::minutes(30));
    demo.app.run_once().await.unwrap();
    assert_eq!(demo.take_console(), "", "still silenced");

    demo.clock.advance(Duration::minutes(31));
    demo.app.run_once().await.unwrap();
    let console = demo.take_console();
    assert!(
        console.contains(&format!(
            "incident #{} REMINDER commerce/orders_without_payment",
            open.id
        )),
        "{console}"
    );
    assert_eq!(console.matches("incident #").count(), 1, "{console}");
}

#[tokio::test]
async fn silences_are_listed_lifted_and_validated() {
    let demo = Harness::new().await;
    demo.app
        .silence("orders_without_payment", Std::from_secs(600), "", "ana")
        .await
        .unwrap();
    let list = demo.app.silences().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reason, "no reason given");
    assert_eq!(
        demo.app.unsilence("orders_without_payment").await.unwrap(),
        1
    );
    assert!(demo.app.silences().await.unwrap().is_empty());

    let typo = demo
        .app
        .silence("orders_without_paymnt", Std::from_secs(60), "x", "ana")
        .await
        .unwrap_err();
    assert_eq!(
        typo.to_string(),
        "no monitor `orders_without_paymnt`; did you mean `orders_without_payment`?"
    );
    let long = demo
        .app
        .silence(
            "orders_without_payment",
            Std::from_secs(90 * 86400),
            "x",
            "ana",
        )
        .await
        .unwrap_err();
    assert!(
        long.to_string().contains("at most") || long.to_string().contains("between"),
        "{long}"
    );
}
