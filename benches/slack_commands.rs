//! `/ripple status` acknowledgement benchmark (plain `Instant`; run with
//! `cargo bench --bench slack_commands`).
//!
//! Starts the real router and server (`server::serve`, replay guard on) on 127.0.0.1:0
//! over the seeded demo (three open incidents) and sends signed, distinct
//! `/ripple status` requests at a fixed 250 per second for 30 s from
//! the same process, at most 64 in flight. Reports p50/p99 of the time to the HTTP
//! answer (Slack's acknowledgement) and exits non-zero when p99 ≥ 50 ms or fewer than
//! 200 requests per second were answered. Loopback only; bounded in count and time.

use ripple::app::App;
use ripple::clock::{Clock, SystemClock};
use ripple::config::{Config, Secrets};
use ripple::slack::replay::ReplayGuard;
use ripple::slack::{Handler, signature};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RATE: u64 = 250;
const SECONDS: u64 = 30;
const IN_FLIGHT: usize = 64;
const TARGET_P99: Duration = Duration::from_millis(50);
const SECRET: &str = "bench-signing-secret";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("slack_commands benchmark: run it with `cargo bench --bench slack_commands`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = rt.block_on(run());
    std::process::exit(if ok { 0 } else { 1 });
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn config(dir: &Path) -> Config {
    let text = format!(
        "warehouse:\n  kind: sqlite\n  path: {wh}\nstate:\n  path: {state}\nrules: {rules}\n\
         teams:\n  - name: commerce\n  - name: finance\n  - name: loyalty\n  - name: analytics\n\
         notify:\n  console: {console}\n",
        wh = dir.join("wh").display(),
        state = dir.join("state.db").display(),
        rules = repo().join("rules").display(),
        console = dir.join("console.log").display(),
    );
    Config::parse(&dir.join("ripple.yaml"), &text).expect("bench config is valid")
}

async fn run() -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = repo().join("fixtures/demo/seed.sql");
    ripple::demo::seed_warehouse(&dir.path().join("wh"), &seed, SystemClock.now())
        .expect("demo seed");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App::from_config_with_secrets(config(dir.path()), clock, &Secrets::default())
        .await
        .expect("app");
    app.run_once().await.expect("demo run");
    let secret = Secrets::from_lookup(|k| (k == "SLACK_SIGNING_SECRET").then(|| SECRET.into()))
        .slack_signing_secret;
    let clock = app.clock.clone();
    let live = ripple::app::live::Live::new(app);
    let guard = ReplayGuard::new(live.app().store.clone());
    let handler = Handler::new(live, secret, clock);
    let router = ripple::server::slack_router(Arc::new(handler), guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/slack/commands",
        listener.local_addr().expect("addr")
    );
    // Slack calls from many addresses; the benchmark is one client on 127.0.0.1 with up
    // to 64 requests in flight, so its per-client cap is the global one.
    let mut limits = ripple::config::HttpConfig::default();
    limits.max_connections_per_ip = limits.max_connections;
    tokio::spawn(async move {
        ripple::server::serve(listener, router, &limits, std::future::pending()).await
    });
    drive(&url).await
}

/// Sends requests on a fixed schedule; returns whether the targets were met.
async fn drive(url: &str) -> bool {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .expect("client");
    let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let total = RATE * SECONDS;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        tick.tick().await;
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        let (http, url) = (http.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let r = one(&http, &url, n).await;
            drop(permit);
            r
        }));
    }
    let mut lat = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for t in tasks {
        match t.await.expect("task") {
            Some(d) => lat.push(d),
            None => failed += 1,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    report(&mut lat, failed, secs)
}

/// The `n`th request: its own `trigger_id`, as Slack gives every invocation, so the
/// replay guard records each one and refuses none.
async fn one(http: &reqwest::Client, url: &str, n: u64) -> Option<Duration> {
    let body =
        format!("command=%2Fripple&text=status&user_id=U0BENCH&response_url=&trigger_id={n}.bench");
    let ts = SystemClock.now().timestamp().to_string();
    let sig = signature::sign(SECRET, &ts, body.as_bytes());
    let t = Instant::now();
    let res = http
        .post(url)
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .ok()?;
    let ok = res.status().is_success() && res.bytes().await.is_ok();
    ok.then(|| t.elapsed())
}

fn report(lat: &mut [Duration], failed: usize, secs: f64) -> bool {
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let rate = lat.len() as f64 / secs;
    let (p50, p99) = (pct(0.50), pct(0.99));
    println!(
        "slack /ripple status: {} answered, {failed} failed in {secs:.1} s ({rate:.0}/s); ack latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < {} ms, ≥ 200/s)",
        lat.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3,
        TARGET_P99.as_millis()
    );
    failed == 0 && p99 < TARGET_P99 && rate >= 200.0
}
