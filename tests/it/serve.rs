//! Always on: the serve cycle (schedules, jitter, reload, heartbeat, shutdown), the
//! dead-man's switch, silences expiring under the scheduler, `/metrics` and `/readyz`.
//! Time comes from the manual clock; nothing sleeps for time to pass.

use super::support::{Harness, repo, t0};
use chrono::{DateTime, Duration, Utc};
use ripple::app::live::Live;
use ripple::app::scheduler::Scheduler;
use ripple::app::serve::Service;
use ripple::clock::Clock;
use ripple::incident::Condition;
use ripple::monitor::deadman;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn schedule(cron: &str, tz: &str) -> ripple::rules::Schedule {
    ripple::rules::Schedule {
        cron: cron.parse().unwrap(),
        pattern: cron.into(),
        tz: tz.parse().unwrap(),
    }
}

#[test]
fn cron_ticks_keep_local_time_across_dst_and_skip_weekends() {
    // 09:00 Paris on weekdays: 08:00 UTC in winter, 07:00 UTC in summer.
    let s = schedule("0 9 * * 1-5", "Europe/Paris");
    // Friday 2026-03-27 09:00 CET; the next tick skips the weekend (and the DST change
    // on Sunday 2026-03-29) to Monday 09:00 CEST.
    let fri = t("2026-03-27T08:00:00Z");
    assert_eq!(
        deadman::next_tick(&s, fri - Duration::minutes(1)),
        Some(fri)
    );
    assert_eq!(deadman::next_tick(&s, fri), Some(t("2026-03-30T07:00:00Z")));
    // 02:30 daily in Paris: the spring-forward day has no 02:30 and runs once later;
    // the fall-back day has two 02:30s and runs once.
    let s = schedule("30 2 * * *", "Europe/Paris");
    let spring: Vec<_> = ticks(&s, t("2026-03-28T12:00:00Z"), t("2026-03-30T12:00:00Z"));
    assert_eq!(spring.len(), 2, "{spring:?}");
    let fall: Vec<_> = ticks(&s, t("2026-10-24T12:00:00Z"), t("2026-10-26T12:00:00Z"));
    assert_eq!(fall.len(), 2, "one run per local day: {fall:?}");
}

fn ticks(
    s: &ripple::rules::Schedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut out = vec![];
    let mut at = from;
    while let Some(next) = deadman::next_tick(s, at).filter(|n| *n <= to) {
        out.push(next);
        at = next;
    }
    out
}

#[tokio::test]
async fn jitter_spreads_runs_but_every_monitor_runs_once_per_tick() {
    let demo = Harness::new().await;
    let jitter = std::time::Duration::from_secs(30);
    let s = Scheduler::new(t0()).with_jitter(jitter);
    let monitors = &demo.app.rules.monitors;
    let (before, tick, after) = (
        t0() + Duration::minutes(29),
        t0() + Duration::minutes(30),
        t0() + Duration::minutes(31),
    );
    let at_tick = Scheduler::due(monitors, before, tick);
    assert!(at_tick.len() >= 3, "the demo has monitors due at :30");
    // Spread: a monitor runs at its tick plus its own stable offset, within the jitter.
    let offsets: BTreeSet<Duration> = at_tick.iter().map(|m| s.offset(&m.id)).collect();
    assert!(
        offsets.len() > 1,
        "offsets differ between monitors: {offsets:?}"
    );
    assert!(
        offsets
            .iter()
            .all(|o| *o >= Duration::zero() && *o < Duration::from_std(jitter).unwrap())
    );
    let on_the_tick = s.due_jittered(monitors, before, tick);
    let late: Vec<&str> = at_tick
        .iter()
        .filter(|m| s.offset(&m.id) > Duration::zero())
        .map(|m| m.id.as_str())
        .collect();
    assert!(!late.is_empty());
    assert_eq!(
        on_the_tick.len(),
        at_tick.len() - late.len(),
        "offset ones wait"
    );
    // Once: over the tick and its jitter every due monitor runs exactly once.
    let whole = s.due_jittered(monitors, before, after);
    let mut a: Vec<&str> = whole.iter().map(|m| m.id.as_str()).collect();
    let mut b: Vec<&str> = at_tick.iter().map(|m| m.id.as_str()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "within the jitter every due monitor runs, once");
    // The control: without jitter nobody waits.
    let none = Scheduler::new(t0());
    assert_eq!(
        none.due_jittered(monitors, before, tick).len(),
        at_tick.len()
    );
}

#[tokio::test]
async fn a_monitor_silent_past_schedule_and_grace_becomes_missed_once() {
    let demo = Harness::new().await;
    let mut s = Scheduler::new(t0());
    // Everything runs once at 00:30; then the scheduler is starved (no ticks) for 2h.
    demo.clock.advance(Duration::minutes(30));
    s.tick(&demo.app).await.unwrap();
    let id = "orders_without_payment"; // every 30 min, grace 10m
    demo.clock.advance(Duration::minutes(45));
    // Checked without running anything: 01:00 + 10m grace has passed at 01:15.
    let r = s.check_missed_only(&demo.app).await.unwrap();
    assert!(r >= 2, "orders_fresh and orders_without_payment: {r}");
    let open = demo
        .app
        .store
        .open_incident_for("orders_fresh")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.condition, Condition::Missed);
    assert_eq!(
        s.check_missed_only(&demo.app).await.unwrap(),
        0,
        "one Missed per miss"
    );
    // The next real run ends the silence.
    demo.clock.advance(Duration::minutes(1));
    let m = demo.app.rules.get("orders_fresh").unwrap().clone();
    demo.app.run_monitors(&[m]).await.unwrap();
    assert!(
        demo.app
            .store
            .open_incident_for("orders_fresh")
            .await
            .unwrap()
            .is_none()
    );
    let info = demo.app.store.monitor_info(id).await.unwrap().unwrap();
    assert_eq!(info.last_completed_at, Some(t0() + Duration::minutes(30)));
}

#[tokio::test]
async fn a_silence_expires_under_the_scheduler_and_the_next_tick_announces() {
    let demo = Harness::new().await;
    let ttl = std::time::Duration::from_secs(45 * 60);
    demo.app
        .silence("orders_without_payment", ttl, "backfill running", "ana")
        .await
        .unwrap();
    let mut s = Scheduler::new(t0());
    demo.clock.advance(Duration::minutes(30));
    s.tick(&demo.app).await.unwrap();
    let console = demo.take_console();
    assert!(
        !console.contains("commerce/orders_without_payment"),
        "{console}"
    );
    assert_eq!(demo.app.silences().await.unwrap().len(), 1);
    demo.clock.advance(Duration::minutes(30)); // 01:00: the silence ended at 00:45
    s.tick(&demo.app).await.unwrap();
    assert!(demo.app.silences().await.unwrap().is_empty());
    let console = demo.take_console();
    assert!(
        console.contains("REMINDER commerce/orders_without_payment"),
        "{console}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[tokio::test]
async fn a_broken_rule_file_keeps_its_last_good_version_and_a_fixed_one_is_picked_up() {
    let demo = Harness::with_config("").await;
    let rules = demo.dir.path().join("rules");
    copy_dir(&repo().join("rules"), &rules);
    let mut app = demo
        .app
        .with_rules(ripple::rules::load_dir(&rules, &demo.app.config));
    app.config.rules = rules.clone();
    app.set_notifiers(demo.app.notifiers.clone());
    let before = app.rules.monitors.len();
    let live = Live::new(app);
    let mut service = Service::new(live.clone());
    service.cycle(false).await.unwrap();

    // Break finance.yaml: a typo in one monitor makes the whole file invalid.
    let finance = rules.join("finance.yaml");
    let good = std::fs::read_to_string(&finance).unwrap();
    std::fs::write(&finance, good.replace("severity: high", "severity: urgent")).unwrap();
    let r = service.reload();
    assert_eq!(
        r.monitors, before,
        "finance keeps running its last good version"
    );
    assert_eq!(r.problems.len(), 1);
    assert!(
        r.problems[0]
            .to_string()
            .contains("unknown severity `urgent`"),
        "{:?}",
        r.problems
    );
    let kept = live
        .app()
        .rules
        .get("payments_duplicated")
        .unwrap()
        .severity;
    assert_eq!(kept, ripple::rules::Severity::High);

    // Fixed, with a schedule change: picked up without a restart.
    std::fs::write(
        &finance,
        good.replace("\"*/30 * * * *\"", "\"*/5 * * * *\""),
    )
    .unwrap();
    let r = service.reload();
    assert!(r.problems.is_empty());
    let m = live
        .app()
        .rules
        .get("payments_duplicated")
        .unwrap()
        .schedule
        .pattern
        .clone();
    assert_eq!(m, "*/5 * * * *");
    // A file watch notices edits between cycles too.
    std::fs::write(&finance, good).unwrap();
    service.cycle(false).await.unwrap();
    let m = live
        .app()
        .rules
        .get("payments_duplicated")
        .unwrap()
        .schedule
        .pattern
        .clone();
    assert_eq!(m, "*/30 * * * *");
}

/// A loopback endpoint counting GETs (the heartbeat's receiver).
async fn counter() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/ping",
        axum::routing::get(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/ping"), hits)
}

#[tokio::test]
async fn serve_cycles_run_the_demo_ping_the_heartbeat_and_show_in_metrics() {
    let (url, hits) = counter().await;
    let extra = format!("serve:\n  jitter: 0s\n  heartbeat: {{ url: \"{url}\", interval: 5m }}\n");
    let demo = Harness::with_config(&extra).await;
    let clock = demo.clock.clone();
    let live = Live::new(demo.app);
    let mut service = Service::new(live.clone());
    assert!(!live.is_ready());
    clock.advance(Duration::minutes(30));
    service.cycle(false).await.unwrap();
    assert!(live.is_ready());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    clock.advance(Duration::minutes(1));
    service.cycle(false).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "at most once per interval");
    clock.advance(Duration::minutes(5));
    service.cycle(false).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(service.wait() <= std::time::Duration::from_secs(60));
    // Runs are engine tasks: wait for them and their deliveries.
    service.settle().await;

    let (base, _server) = serve_http(live.clone()).await;
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "ripple_monitor_outcome{monitor=\"orders_without_payment\",outcome=\"fail\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("ripple_monitor_rows{monitor=\"orders_without_payment\"} 3"));
    assert!(metrics.contains("ripple_notifier_sends_total{destination=\"console\"}"));
    assert!(metrics.contains("\nripple_runs_in_flight 0\n"), "{metrics}");
    assert!(metrics.contains("\nripple_runs_queued 0\n"), "{metrics}");
    assert!(
        metrics.contains("ripple_run_lateness_seconds_count "),
        "{metrics}"
    );
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    live.set_ready(false);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

async fn serve_http(live: Arc<Live>) -> (String, tokio::task::JoinHandle<()>) {
    let router = ripple::server::router_with(ripple::server::ServerState { live });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn shutdown_finishes_the_cycle_and_flushes_the_outbox() {
    let demo = Harness::with_config("serve:\n  jitter: 0s\n  watch_rules: false\n").await;
    let all = demo.app.rules.monitors.clone();
    demo.app.run_monitors(&all).await.unwrap(); // enqueued, not yet delivered
    assert!(demo.app.store.pending_outbox().await.unwrap() > 0);
    let live = Live::new(demo.app);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let serving = ripple::app::serve::run(live.clone(), rx);
    let stopper = async {
        // Wait for the first cycle (readiness), not for time to pass.
        for _ in 0..500 {
            if live.is_ready() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(live.is_ready());
        stop.send(true).unwrap();
    };
    let (served, ()) = tokio::join!(serving, stopper);
    served.unwrap();
    assert!(!live.is_ready(), "not ready once shutting down");
    assert_eq!(live.app().store.pending_outbox().await.unwrap(), 0);
    assert!(demo.clock.now() == t0(), "no time had to pass");
}
