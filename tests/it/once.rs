//! Told once when everything happens at once: two delivery rounds together, two
//! processes on one state file, lost responses found again behind busy channels. Each
//! test asserts everything the fake Slack and GitHub received.

use super::fake_slack::{Fault, Msg, Sent};
use super::github::{self, writes};
use super::slack::{CHANNEL_OPENING, first_run, roots};
use super::support::Harness;
use ripple::clock::Clock;
use ripple::notify::dispatch::deliver_due;
use ripple::store::Store;

async fn both() -> Harness {
    Harness::options().slack().github().start().await
}

/// GitHub's writes of the demo's first run: four labels and an issue per failing team.
fn github_first_run(h: &Harness) {
    let log = h.github().take_log();
    assert_eq!(writes(&log), github::first_run(), "one issue per incident");
}

#[tokio::test]
async fn two_delivery_rounds_at_once_tell_each_incident_once() {
    let h = both().await;
    let monitors = h.app.rules.monitors.clone();
    h.app.run_monitors(&monitors).await.unwrap();
    // The serve loop's round and a command's round, in one process, at the same moment.
    let now = h.clock.now();
    let (a, b) = tokio::join!(
        deliver_due(&h.app.store, &h.app.notifiers, now),
        deliver_due(&h.app.store, &h.app.notifiers, now),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.sent + b.sent,
        6,
        "3 incidents × 2 destinations: {a:?} {b:?}"
    );
    assert_eq!(h.app.store.pending_outbox().await.unwrap(), 0);
    github_first_run(&h);
    first_run(h.slack());
}

#[tokio::test]
async fn two_processes_on_one_state_file_tell_each_incident_once() {
    for round in 0..3 {
        let h = both().await;
        // A second `ripple run --once` on the same files: its own notifiers and locks.
        let (other, _) = h.new_app().await;
        let (a, b) = tokio::join!(h.app.run_once(), other.run_once());
        let (a, b) = (a.unwrap(), b.unwrap());
        let sent = a.delivered.sent + b.delivered.sent;
        let left = h.app.store.pending_outbox().await.unwrap();
        assert_eq!((sent, left), (6, 0), "round {round}: {a:?} {b:?}");
        let open = h.app.store.incidents(true).await.unwrap();
        assert_eq!(open.len(), 3, "round {round}");
        github_first_run(&h);
        first_run(h.slack());
    }
}

#[tokio::test]
async fn two_processes_creating_one_state_file_both_start() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let (a, b) = tokio::join!(Store::open(&path), Store::open(&path));
        a.unwrap();
        b.unwrap();
    }
}

#[tokio::test]
async fn a_reply_whose_response_was_lost_is_found_in_its_thread() {
    let h = Harness::options().slack().start().await;
    h.run().await;
    first_run(h.slack());
    // The reminders are posted, but Slack's answer to the first is lost.
    h.slack()
        .inject("chat.postMessage", Fault::ApplyThenFail, 1);
    h.later(4 * 60 + 30);
    let d = h.run().await.delivered;
    assert_eq!((d.sent, d.failed), (2, 1), "{d:?}");
    h.later(10);
    assert_eq!(h.deliver().await.sent, 1);
    // Found by its metadata (asked for: Slack leaves it out otherwise), not posted again.
    let sent = h.slack().take_sent();
    assert_eq!(Sent::methods(&sent), ["chat.postMessage"; 3], "{sent:#?}");
    let mut threads: Vec<_> = sent.iter().map(|s| s.thread_ts.clone().unwrap()).collect();
    threads.sort();
    threads.dedup();
    assert_eq!(threads.len(), 3, "one reminder in each thread");
}

#[tokio::test]
async fn a_root_whose_response_was_lost_is_found_behind_hundreds_of_newer_messages() {
    let h = Harness::options().slack().start().await;
    let fake = h.slack();
    fake.inject("chat.postMessage", Fault::ApplyThenFail, 1);
    let d = h.run().await.delivered;
    assert_eq!(d.failed, 1, "{d:?}");
    // The channel gets busy before the retry: a warehouse-wide failure, people talking.
    let lost = roots(fake).remove(0);
    for i in 0..450 {
        let ts = format!("{}.{:06}", h.clock.now().timestamp() + 1, 900_000 + i);
        fake.world().messages.push(Msg {
            ts,
            channel: lost.channel.clone(),
            text: format!("is anyone looking at this? ({i})"),
            ..Default::default()
        });
    }
    h.later(10);
    assert_eq!(h.deliver().await.sent, 1);
    assert_eq!(roots(fake).len(), 3, "no second root");
    let sent = fake.take_sent();
    let mut expected: Vec<&str> = Vec::new();
    for _ in 0..2 {
        expected.extend(&CHANNEL_OPENING[..4]);
    }
    let mut methods = Sent::methods(&sent);
    methods.retain(|m| *m != "chat.postMessage");
    expected.sort();
    methods.sort();
    assert_eq!(methods, expected);
    let posts = sent
        .iter()
        .filter(|s| s.method == "chat.postMessage")
        .count();
    assert_eq!(
        posts, 3,
        "three roots, the lost one not posted again: {sent:#?}"
    );
}

#[tokio::test]
async fn with_github_down_slack_still_hears_everything_and_github_catches_up_once() {
    let h = both().await;
    h.github().inject(
        "POST",
        "/repos",
        super::fake_github::Fault::Status(503),
        1000,
    );
    let d = h.run().await.delivered;
    assert_eq!(
        (d.sent, d.failed),
        (3, 3),
        "Slack delivered, GitHub failed: {d:?}"
    );
    first_run(h.slack());
    let refused = h.github().take_log();
    assert!(refused.iter().all(|r| r.status == 503 || r.method == "GET"));
    assert!(h.github().issues("acme/commerce").is_empty());
    // Back up: each issue is created once, and Slack hears nothing more.
    h.github().world().clear_faults();
    h.later(31);
    assert_eq!(h.deliver().await.sent, 3);
    github_first_run(&h);
    assert_eq!(h.slack().take_sent(), Vec::<Sent>::new());
}

#[tokio::test]
async fn with_slack_down_github_still_hears_everything() {
    let h = both().await;
    for method in ["conversations.create", "chat.postMessage"] {
        h.slack().inject(method, Fault::Status(503), 1000);
    }
    let d = h.run().await.delivered;
    assert_eq!((d.sent, d.failed), (3, 3), "{d:?}");
    github_first_run(&h);
    assert_eq!(h.slack().take_sent(), Vec::<Sent>::new());
    assert_eq!(h.app.store.pending_outbox().await.unwrap(), 3);
}

#[tokio::test]
async fn with_the_usage_query_failing_incidents_still_open_with_table_lineage() {
    let h = Harness::options()
        .config("impact:\n  usage_query: SELECT * FROM no_such_dataset.jobs\n")
        .start()
        .await;
    let s = h.run().await;
    assert_eq!(s.delivered.sent, 3);
    let out = h.take_console();
    // Ranked by lineage alone: the downstream tables are there, nobody to name.
    assert!(out.contains("Impact of a break in"), "{out}");
    assert!(out.contains("marts.daily_revenue"), "{out}");
    assert!(
        out.contains("People to notify: none found in the usage window"),
        "{out}"
    );
}

#[tokio::test]
async fn with_the_warehouse_down_every_monitor_errors_once_and_the_incidents_say_so() {
    let h = Harness::new().await;
    std::fs::remove_dir_all(h.dir.path().join("wh")).unwrap();
    let s = h.run().await;
    assert_eq!(s.results.len(), h.app.rules.monitors.len());
    for r in &s.results {
        assert_eq!(r.report.outcome.label(), "error", "{}", r.report.monitor_id);
    }
    // Monitors that wait for a second failure open on the next run; then all are told.
    h.later(60);
    h.run().await;
    let told = h.take_console();
    let open = h.app.store.incidents(false).await.unwrap();
    assert_eq!(open.len(), h.app.rules.monitors.len(), "one incident each");
    for i in &open {
        let line = format!(
            "OPENED {}/{}: error: warehouse unavailable",
            i.team, i.monitor_id
        );
        assert_eq!(told.matches(&line).count(), 1, "{line}\n{told}");
    }
    // Down for another hour: nobody is told again.
    h.later(60);
    let again = h.run().await;
    assert_eq!(again.delivered.sent, 0, "{}", h.take_console());
}
