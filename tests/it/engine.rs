//! The run engine under `serve`, on a manual clock with a warehouse whose runs the test
//! holds and releases: a slow query never delays another monitor, a hung or starved run
//! goes Missed at tick + grace while it is still going, a start after downtime sends one
//! notice and catches up, and cron deployments run subsets and find silence from the
//! store alone.

use super::support::{Harness, config_text, repo, seed};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use ripple::app::App;
use ripple::app::live::Live;
use ripple::app::serve::Service;
use ripple::clock::{Clock, ManualClock};
use ripple::console::ConsoleNotifier;
use ripple::warehouse::{MonitorQuery, QueryError, QueryResult, Warehouse};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The demo warehouse, except that runs of held monitors wait until released.
struct Gated {
    inner: Arc<dyn Warehouse>,
    clock: ManualClock,
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    starts: Mutex<Vec<(String, DateTime<Utc>)>>,
}

impl Gated {
    fn hold(&self, id: &str) {
        let gate = Arc::new(Semaphore::new(0));
        self.gates.lock().unwrap().insert(id.into(), gate);
    }

    fn release(&self, id: &str) {
        if let Some(g) = self.gates.lock().unwrap().remove(id) {
            g.add_permits(1000);
        }
    }

    /// When each run of `id` reached the warehouse.
    fn starts(&self, id: &str) -> Vec<DateTime<Utc>> {
        let all = self.starts.lock().unwrap();
        all.iter()
            .filter(|(m, _)| m == id)
            .map(|(_, t)| *t)
            .collect()
    }
}

#[async_trait]
impl Warehouse for Gated {
    async fn run(&self, q: &MonitorQuery) -> Result<QueryResult, QueryError> {
        self.starts
            .lock()
            .unwrap()
            .push((q.monitor_id.clone(), self.clock.now()));
        let gate = self.gates.lock().unwrap().get(&q.monitor_id).cloned();
        if let Some(g) = gate {
            let _ = g.acquire().await.map(|p| p.forget());
        }
        self.inner.run(q).await
    }
}

const RULES: &str = r#"monitors:
  - id: quick
    team: commerce
    description: Every minute, and fast.
    schedule: { cron: "* * * * *", timezone: UTC }
    grace: 30s
    owners: [hana]
    sql: SELECT id FROM shop.orders WHERE id < 0
  - id: slow
    team: commerce
    description: Every minute, and slow when the test says so.
    schedule: { cron: "* * * * *", timezone: UTC }
    grace: 30s
    owners: [hana]
    sql: SELECT id FROM shop.orders WHERE id < 0
"#;

struct Rig {
    h: Harness,
    gated: Arc<Gated>,
    live: Arc<Live>,
    console: Arc<Mutex<Vec<u8>>>,
    ops: Arc<Mutex<Vec<u8>>>,
}

/// The demo with `RULES` (jitter 0), the gated warehouse and a buffered ops sink.
async fn rig(extra: &str) -> Rig {
    let extra = format!("serve:\n  jitter: 0s\n  watch_rules: false\n{extra}");
    let h = Harness::with_config(&extra).await;
    let dir = h.dir.path().join("rules");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("every_minute.yaml"), RULES).unwrap();
    let rules = ripple::rules::load_dir(&dir, &h.app.config);
    assert!(rules.problems.is_empty(), "{:?}", rules.problems);
    let (app, console) = h.new_app().await;
    let mut app = app.with_rules(rules);
    let gated = Arc::new(Gated {
        inner: app.warehouse.clone(),
        clock: h.clock.clone(),
        gates: Mutex::default(),
        starts: Mutex::default(),
    });
    app.warehouse = gated.clone();
    let (sink, ops) = ConsoleNotifier::buffer();
    app.set_ops(Arc::new(sink));
    let live = Live::new(app);
    Rig {
        h,
        gated,
        live,
        console,
        ops,
    }
}

impl Rig {
    fn later(&self, secs: i64) {
        self.h.clock.advance(Duration::seconds(secs));
    }

    fn take(buf: &Mutex<Vec<u8>>) -> String {
        String::from_utf8(std::mem::take(&mut *buf.lock().unwrap())).unwrap()
    }

    /// The headlines told so far (the console notifier's first lines).
    fn told(&self) -> Vec<String> {
        let text = Self::take(&self.console);
        text.lines()
            .filter(|l| l.starts_with("[ripple] "))
            .map(|l| l.to_string())
            .collect()
    }

    fn app(&self) -> Arc<App> {
        self.live.app()
    }
}

/// Waits (in real time, briefly) for engine tasks to get where the test needs them.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..5000 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("gave up waiting for {what}");
}

/// `secs` after the harness's start.
fn t(secs: i64) -> DateTime<Utc> {
    super::support::t0() + Duration::seconds(secs)
}

#[tokio::test]
async fn a_slow_query_never_delays_another_monitor() {
    let r = rig("").await;
    r.gated.hold("slow");
    let mut service = Service::new(r.live.clone());
    for minute in 1..=3 {
        r.later(60);
        service.cycle(false).await.unwrap();
        until("quick's run", || r.gated.starts("quick").len() == minute).await;
        until("quick's outcome", || service.engine().in_flight() == 1).await;
    }
    // Quick ran on each tick to the second; slow's later ticks were skipped, not queued.
    let ticks: Vec<_> = (1..=3).map(|m| t(60 * m)).collect();
    assert_eq!(r.gated.starts("quick"), ticks);
    assert_eq!(r.gated.starts("slow"), ticks[..1]);
    assert_eq!(r.app().metrics.engine.skipped_of("slow"), 2);
    assert_eq!(r.app().metrics.engine.skipped_of("quick"), 0);
    // Slow finishes at last: its outcome is recorded like any other.
    r.gated.release("slow");
    service.settle().await;
    let infos = r.app().store.monitor_infos().await.unwrap();
    assert_eq!(infos["slow"].last_outcome, "pass");
    r.told();
}

#[tokio::test]
async fn a_hung_run_goes_missed_at_tick_plus_grace_and_recovers_when_it_finishes() {
    let r = rig("").await;
    r.gated.hold("slow");
    let mut service = Service::new(r.live.clone());
    r.later(60);
    service.cycle(false).await.unwrap();
    until("quick's outcome", || service.engine().in_flight() == 1).await;
    // The loop wakes exactly when slow's grace runs out, not a minute later.
    assert_eq!(service.wait(), std::time::Duration::from_secs(30));
    r.later(29);
    service.cycle(false).await.unwrap();
    service.flush().await;
    assert_eq!(r.told(), Vec::<String>::new(), "within grace: nothing yet");
    r.later(1);
    service.cycle(false).await.unwrap();
    service.flush().await;
    let told = r.told();
    assert_eq!(
        told,
        [
            "[ripple] incident #1 OPENED commerce/slow: missed: no completed run by 2026-11-20 00:01 UTC"
        ],
        "Missed at tick + grace while the run is still going"
    );
    assert!(service.engine().is_running("slow"));
    // The hung run finishes: its outcome is recorded and the Missed recovers.
    r.gated.release("slow");
    service.settle().await;
    assert_eq!(
        r.told(),
        ["[ripple] incident #1 RESOLVED commerce/slow: recovered"]
    );
}

#[tokio::test]
async fn a_saturated_pool_makes_the_waiting_ones_missed_at_their_grace() {
    let r = rig("defaults:\n  concurrency: 1\n").await;
    r.gated.hold("quick");
    let mut service = Service::new(r.live.clone());
    r.later(60);
    service.cycle(false).await.unwrap();
    until("quick holds the one slot", || {
        r.gated.starts("quick").len() == 1
    })
    .await;
    assert_eq!(
        r.app().metrics.engine.waiting(),
        1,
        "slow waits for the slot"
    );
    r.later(30);
    service.cycle(false).await.unwrap();
    service.flush().await;
    let mut told = r.told();
    told.sort();
    assert_eq!(
        told,
        [
            "[ripple] incident #1 OPENED commerce/quick: missed: no completed run by 2026-11-20 00:01 UTC",
            "[ripple] incident #2 OPENED commerce/slow: missed: no completed run by 2026-11-20 00:01 UTC",
        ],
        "the waiting one is missed too, not silently late"
    );
    assert!(r.gated.starts("slow").is_empty());
    r.gated.release("quick");
    service.settle().await;
    let mut told = r.told();
    told.sort();
    assert_eq!(
        told,
        [
            "[ripple] incident #1 RESOLVED commerce/quick: recovered",
            "[ripple] incident #2 RESOLVED commerce/slow: recovered",
        ]
    );
}

#[tokio::test]
async fn a_start_after_downtime_sends_one_notice_and_catches_up_without_missed() {
    let r = rig("").await;
    let mut first = Service::new(r.live.clone());
    r.later(60);
    first.cycle(false).await.unwrap();
    first.settle().await;
    drop(first);
    // Down for 3 minutes 20 seconds: the ticks at 00:02, 00:03 and 00:04 pass unseen.
    r.later(200);
    let mut second = Service::new(r.live.clone());
    second.cycle(false).await.unwrap();
    second.settle().await;
    assert_eq!(
        Rig::take(&r.ops),
        "[ripple ops] Ripple was not running from 2026-11-20 00:01:00 UTC to 2026-11-20 00:04:20 UTC: 2 monitors missed 6 ticks; catching up now\n"
    );
    // Both caught up at once, for their 00:04 tick; nothing is missed.
    for id in ["quick", "slow"] {
        assert_eq!(r.gated.starts(id), [t(60), t(260)], "{id}");
    }
    r.later(40);
    second.cycle(false).await.unwrap();
    second.settle().await;
    assert_eq!(Rig::take(&r.ops), "", "one notice, not one per cycle");
    assert_eq!(r.told(), Vec::<String>::new(), "no Missed for the downtime");
}

#[tokio::test]
async fn raise_missed_finds_silence_from_the_store_alone() {
    let h = Harness::new().await;
    h.run().await;
    h.take_console();
    // Three hours of silence: no process watched, only the store knows.
    h.later(180);
    let monitors = h.app.rules.monitors.clone();
    let raised = h.app.raise_missed(&monitors).await.unwrap();
    let ids: Vec<&str> = raised
        .iter()
        .map(|r| r.report.monitor_id.as_str())
        .collect();
    assert!(ids.contains(&"orders_without_payment"), "{ids:?}");
    assert!(
        !ids.contains(&"orders_stuck_processing"),
        "its daily tick has not come: {ids:?}"
    );
    for r in &raised {
        assert_eq!(r.report.outcome.label(), "missed");
    }
}

fn ripple(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .args(["--config", dir.join("ripple.yaml").to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code(),
        stdout,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn ripple_run_takes_monitors_or_a_team_and_check_missed_reads_the_store() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    std::fs::write(dir.path().join("ripple.yaml"), config_text(dir.path(), "")).unwrap();
    let (code, out, err) = ripple(dir.path(), &["run", "orders_fresh"]);
    assert_eq!(code, Some(0), "{out}{err}");
    // The table after the console's notifications: header, then one row per run.
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("MONITOR "))
        .skip(1)
        .filter(|l| !l.starts_with("notifications"))
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(rows[0].starts_with("orders_fresh "), "{out}");
    let (code, out, _) = ripple(dir.path(), &["run", "--team", "loyalty"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("point_grants_reference_orders"), "{out}");
    assert!(!out.contains("orders_fresh"), "{out}");
    let (code, _, err) = ripple(dir.path(), &["run", "orders_frsh"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no monitor `orders_frsh`; did you mean `orders_fresh`?"),
        "{err}"
    );
    let (code, _, err) = ripple(dir.path(), &["run", "--team", "loyalti"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("did you mean `loyalty`?"), "{err}");
    // Nothing has been silent long yet: check-missed raises nothing.
    let (code, out, err) = ripple(dir.path(), &["run", "--check-missed"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!out.contains("missed"), "{out}");
}
