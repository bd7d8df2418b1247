//! Outages delay notifications; they never drop or duplicate them.

use super::support::Harness;
use async_trait::async_trait;
use chrono::Duration;
use ripple::clock::Clock;
use ripple::notify::dispatch::deliver_due;
use ripple::notify::{Notification, Notifier, NotifyError};
use std::sync::{Arc, Mutex};

/// A destination that is down until told otherwise, then records what it receives.
#[derive(Default)]
struct Flaky {
    down: Mutex<bool>,
    received: Mutex<Vec<(i64, String)>>,
}

#[async_trait]
impl Notifier for Flaky {
    fn destination(&self) -> &str {
        "console"
    }
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        if *self.down.lock().unwrap() {
            return Err(NotifyError {
                message: "503 from upstream".into(),
                retry_after: Some(std::time::Duration::from_secs(120)),
            });
        }
        self.received
            .lock()
            .unwrap()
            .push((n.incident_id, n.event.as_str().to_string()));
        Ok(())
    }
}

#[tokio::test]
async fn an_outage_delays_then_delivers_each_message_once_in_order() {
    let mut demo = Harness::new().await;
    let flaky = Arc::new(Flaky::default());
    *flaky.down.lock().unwrap() = true;
    demo.app.set_notifiers(vec![flaky.clone()]);

    let s = demo.app.run_once().await.unwrap();
    assert_eq!((s.delivered.sent, s.delivered.failed), (0, 3));
    let mut opened = vec![];
    for m in [
        "expense_settlements_unapproved",
        "point_grants_reference_orders",
        "orders_without_payment",
    ] {
        opened.push(demo.incident(m).await);
    }
    let loyalty = opened[1];
    // Resolve one incident while the destination is still down.
    demo.warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
    demo.clock.advance(Duration::minutes(1));
    demo.app.run_once().await.unwrap();
    assert_eq!(demo.app.store.pending_outbox().await.unwrap(), 4);

    // Back up, but Retry-After (120 s) has not passed: nothing is sent yet.
    *flaky.down.lock().unwrap() = false;
    let early = deliver_due(&demo.app.store, &demo.app.notifiers, demo.clock.now())
        .await
        .unwrap();
    assert_eq!(early.sent, 0);

    demo.clock.advance(Duration::minutes(5));
    let later = deliver_due(&demo.app.store, &demo.app.notifiers, demo.clock.now())
        .await
        .unwrap();
    assert_eq!(later.sent, 4);
    let again = deliver_due(&demo.app.store, &demo.app.notifiers, demo.clock.now())
        .await
        .unwrap();
    assert_eq!(again.sent, 0, "delivered rows are never sent again");

    // Exactly the three openings and the one resolve, of the loyalty incident, after
    // its opening.
    let got = flaky.received.lock().unwrap().clone();
    let mut expected: Vec<(i64, String)> = opened.iter().map(|id| (*id, "opened".into())).collect();
    expected.push((loyalty, "resolved".into()));
    let mut sorted = got.clone();
    sorted.sort_by_key(|(id, e)| (e != "opened", *id));
    expected.sort_by_key(|(id, e)| (e != "opened", *id));
    assert_eq!(sorted, expected, "{got:?}");
    let pos = |id: i64, ev: &str| got.iter().position(|(i, e)| *i == id && e == ev);
    assert!(
        pos(loyalty, "opened") < pos(loyalty, "resolved"),
        "opened before resolved: {got:?}"
    );
}

#[tokio::test]
async fn a_delivery_that_outlived_its_lease_cannot_record_over_the_new_holder() {
    let demo = Harness::new().await;
    let store = &demo.app.store;
    let monitors = demo.app.rules.monitors.clone();
    demo.app.run_monitors(&monitors).await.unwrap();
    let now = demo.clock.now();
    let item = store.due_outbox(now, 1).await.unwrap().remove(0);
    let (inc, dest) = (item.incident_id, item.destination.as_str());
    let old = store
        .lease_outbox(inc, dest, "a", now, now + Duration::minutes(5))
        .await
        .unwrap()
        .expect("free");
    // Held: nobody else gets it while it runs.
    let busy = store.lease_outbox(inc, dest, "b", now, now + Duration::minutes(5));
    assert_eq!(busy.await.unwrap(), None);
    // It hangs past its lease; another round takes over and delivers.
    let later = now + Duration::minutes(6);
    let new = store
        .lease_outbox(inc, dest, "b", later, later + Duration::minutes(5))
        .await
        .unwrap()
        .expect("expired leases are taken over");
    assert!(new.token > old.token);
    assert!(store.mark_delivered(item.id, later, &new).await.unwrap());
    store.release_outbox(&new).await.unwrap();
    // The old holder wakes up: its outcome is refused, and releasing changes nothing.
    assert!(!store.mark_delivered(item.id, later, &old).await.unwrap());
    assert!(
        !store
            .mark_failed(item.id, later, "late", &old)
            .await
            .unwrap()
    );
    store.release_outbox(&old).await.unwrap();
    let again = store.lease_outbox(inc, dest, "c", later, later + Duration::minutes(5));
    let again = again.await.unwrap().expect("released");
    assert!(again.token > new.token, "tokens only grow");
}

/// A process of this host that holds queues and is SIGKILLed: its leases are taken over
/// at once, not after they expire; a live holder's are not.
#[tokio::test]
async fn a_dead_holders_leases_are_taken_over_at_once_a_live_ones_are_not() {
    use ripple::notify::holder::holder_of;
    let demo = Harness::new().await;
    let store = &demo.app.store;
    let monitors = demo.app.rules.monitors.clone();
    demo.app.run_monitors(&monitors).await.unwrap();
    let now = demo.clock.now();
    let due = store.due_outbox(now, 100).await.unwrap();
    assert_eq!(due.len(), 3, "{due:?}");
    let mut live = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    let holders = [
        holder_of(live.id()),
        holder_of(dead.id()),
        holder_of(dead.id()),
    ];
    for (item, holder) in due.iter().zip(&holders) {
        let lease = store.lease_outbox(
            item.incident_id,
            &item.destination,
            holder,
            now,
            now + Duration::minutes(5),
        );
        lease.await.unwrap().expect("free");
    }
    let d = demo.deliver().await;
    assert_eq!((d.sent, d.held), (2, 1), "{d:?}");
    assert_eq!(demo.app.store.pending_outbox().await.unwrap(), 1);
    // The live holder dies too: its queue is free at once.
    live.kill().unwrap();
    live.wait().unwrap();
    let d = demo.deliver().await;
    assert_eq!((d.sent, d.held), (1, 0), "{d:?}");
    assert!(!demo.take_console().is_empty());
}
