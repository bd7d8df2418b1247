//! Shared fixtures: a seeded demo warehouse in a temp folder, an app over it with a
//! manual clock and a console notifier writing into a buffer.

use chrono::{DateTime, Utc};
use ripple::app::App;
use ripple::clock::ManualClock;
use ripple::config::Config;
use ripple::console::ConsoleNotifier;
use ripple::notify::Notifier;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
        .unwrap()
        .to_utc()
}

/// A config over the repo's `rules/` with warehouse and state in `dir`.
pub fn config(dir: &Path, extra: &str) -> Config {
    let text = config_text(dir, extra);
    Config::parse(&dir.join("ripple.yaml"), &text).expect("test config is valid")
}

/// The text of [`config`], to write to a file for the binary.
pub fn config_text(dir: &Path, extra: &str) -> String {
    let text = format!(
        "warehouse:\n  kind: sqlite\n  path: {wh}\n  seed: {seed}\nstate:\n  path: {state}\nrules: {rules}\n{teams}{extra}",
        wh = dir.join("wh").display(),
        seed = repo().join("fixtures/demo/seed.sql").display(),
        state = dir.join("state.db").display(),
        rules = repo().join("rules").display(),
        teams = "teams:\n  - name: commerce\n  - name: finance\n  - name: loyalty\n  - name: analytics\n",
    );
    let text = format!(
        "{text}lineage:\n  sources:\n    - sql_files: {{ root: {sql}, pattern: \"{{dataset}}/{{table}}.sql\" }}\n    - views: {{}}\n    - jobs: {{ days: 30 }}\n",
        sql = repo().join("fixtures/demo/sql").display(),
    );
    text
}

/// Seeds the demo warehouse into `dir/wh`, as of [`t0`].
pub fn seed(dir: &Path) {
    let seed = repo().join("fixtures/demo/seed.sql");
    ripple::demo::seed_warehouse(&dir.join("wh"), &seed, t0()).unwrap();
}

/// A seeded demo with everything a test needs to drive and observe it.
pub struct Demo {
    pub dir: tempfile::TempDir,
    /// Config appended to the base (kept across restarts).
    pub extra: String,
    pub clock: ManualClock,
    pub console: Arc<Mutex<Vec<u8>>>,
    pub app: App,
}

impl Demo {
    pub async fn new() -> Demo {
        Self::with_config("").await
    }

    /// A demo whose config has `extra` appended (digests, serve settings).
    pub async fn with_config(extra: &str) -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), extra);
        seed(dir.path());
        let clock = ManualClock::new(t0());
        let (app, console) = app(cfg, &clock).await;
        Demo {
            dir,
            extra: extra.to_string(),
            clock,
            console,
            app,
        }
    }

    /// A new process over the same files: what a restart looks like.
    pub async fn restart(&mut self) {
        let cfg = config(self.dir.path(), &self.extra);
        let (app, console) = app(cfg, &self.clock).await;
        self.app = app;
        self.console = console;
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        ripple::clock::Clock::now(&self.clock)
    }

    /// The kinds of an incident's timeline entries, oldest first.
    pub async fn timeline_kinds(&self, incident_id: i64) -> Vec<String> {
        let timeline = self.app.store.timeline(incident_id).await.unwrap();
        timeline.into_iter().map(|(_, kind, _)| kind).collect()
    }

    pub fn take_console(&self) -> String {
        let mut buf = self.console.lock().unwrap();
        String::from_utf8(std::mem::take(&mut *buf)).unwrap()
    }

    /// Runs SQL writing to one dataset (to break or fix the demo data). Every dataset is
    /// attached under its name, as the warehouse does, so views stay valid and SQL may
    /// read the others; unqualified names resolve to `dataset` first.
    pub fn warehouse_exec(&self, dataset: &str, sql: &str) {
        let wh = self.dir.path().join("wh");
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&wh)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        // Attach the target first: SQLite resolves unqualified names in attach order.
        files.sort_by_key(|p| p.file_stem().unwrap() != dataset);
        for path in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "db"))
        {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            conn.execute("ATTACH DATABASE ?1 AS ?2", (path.to_string_lossy(), &name))
                .unwrap();
        }
        conn.execute_batch(sql).unwrap();
    }
}

async fn app(cfg: Config, clock: &ManualClock) -> (App, Arc<Mutex<Vec<u8>>>) {
    let (console, buf) = ConsoleNotifier::buffer();
    let notifiers: Vec<Arc<dyn Notifier>> = vec![Arc::new(console)];
    let mut app = App::from_config(cfg, Arc::new(clock.clone()))
        .await
        .unwrap();
    app.set_notifiers(notifiers);
    (app, buf)
}

/// What a run decided for one monitor.
pub fn decision(s: &ripple::app::RunSummary, monitor_id: &str) -> ripple::incident::Decision {
    let r = s.results.iter().find(|r| r.report.monitor_id == monitor_id);
    r.unwrap_or_else(|| panic!("{monitor_id} did not run"))
        .applied
        .decision
}
