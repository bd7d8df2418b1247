//! The one integration harness ([`Harness`]: the seeded demo, the app over it on a
//! manual clock, the fake Slack and GitHub when asked for) and the fixtures it stands on.

use super::fake_github::FakeGithub;
use super::fake_slack::FakeSlack;
use chrono::{DateTime, Utc};
use ripple::app::{App, RunSummary};
use ripple::clock::ManualClock;
use ripple::config::{Config, Secrets};
use ripple::console::ConsoleNotifier;
use ripple::notify::Notifier;
use ripple::notify::dispatch::{Delivered, deliver_due};
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

/// The one integration harness: the seeded demo in a temp folder, the app over it on a
/// manual clock, and the fakes it talks to. Without fakes the console notifier writes
/// into [`Harness::take_console`]; with them only the faked destinations are wired, so
/// each test sees exactly what Ripple sent there. The fakes fail the test at drop if it
/// left something they received unasserted.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub console: Arc<Mutex<Vec<u8>>>,
    pub app: App,
    slack: Option<FakeSlack>,
    github: Option<FakeGithub>,
    wiring: Wiring,
}

/// How to start a [`Harness`].
pub struct Options {
    extra: String,
    slack: bool,
    github: bool,
    tweak: fn(&mut Config),
    secrets: Option<Secrets>,
}

/// The repositories of the fake GitHub, one per demo team.
pub const REPOS: [(&str, &[&str]); 4] = [
    ("acme/commerce", &["hana"]),
    ("acme/finance", &["mika", "louis"]),
    ("acme/loyalty", &["sora"]),
    ("acme/analytics", &["yuki"]),
];

/// Slack's bot token and signing secret, and a GitHub token, as the environment gives them.
pub fn secrets() -> Secrets {
    Secrets::from_lookup(|k| match k {
        "SLACK_BOT_TOKEN" => Some("xoxb-test".into()),
        "SLACK_SIGNING_SECRET" => Some("shh".into()),
        "GITHUB_TOKEN" => Some("ghp_test".into()),
        _ => None,
    })
}

impl Options {
    /// Appends `extra` to the base config (digests, serve settings).
    pub fn config(mut self, extra: &str) -> Self {
        self.extra = extra.to_string();
        self
    }

    /// Wires a fake Slack: team channels `#data-<team>`, a responder group.
    pub fn slack(mut self) -> Self {
        self.slack = true;
        self
    }

    /// Wires a fake GitHub: a repository `acme/<team>` per team with collaborators.
    pub fn github(mut self) -> Self {
        self.github = true;
        self
    }

    /// Adjusts the parsed config on every (re)start.
    pub fn tweak(mut self, tweak: fn(&mut Config)) -> Self {
        self.tweak = tweak;
        self
    }

    /// The environment's secrets instead of [`secrets`].
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Some(secrets);
        self
    }

    pub async fn start(self) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        seed(dir.path());
        let slack = if self.slack {
            Some(fake_slack().await)
        } else {
            None
        };
        let github = if self.github {
            Some(fake_github().await)
        } else {
            None
        };
        let wiring = Wiring {
            extra: self.extra,
            slack_url: slack.as_ref().map(FakeSlack::api_url),
            github_url: github.as_ref().map(|g| g.url.clone()),
            tweak: self.tweak,
            secrets: self.secrets.unwrap_or_else(secrets),
        };
        let clock = ManualClock::new(t0());
        if let Some(fake) = &slack {
            fake.use_clock(&clock);
        }
        let (app, console) = wiring.app(dir.path(), &clock).await;
        Harness {
            dir,
            clock,
            console,
            app,
            slack,
            github,
            wiring,
        }
    }
}

/// What the config and the notifiers are made of, kept for restarts.
struct Wiring {
    extra: String,
    slack_url: Option<String>,
    github_url: Option<String>,
    tweak: fn(&mut Config),
    secrets: Secrets,
}

impl Wiring {
    /// The base, the fakes' sections and team routes, the test's tweak.
    fn config(&self, dir: &Path) -> Config {
        let mut extra = self.extra.clone();
        if let Some(url) = &self.slack_url {
            extra += &format!("slack:\n  api_url: {url}\n  invite_user_groups: [S0RESPOND]\n");
        }
        if let Some(url) = &self.github_url {
            extra += &format!("github:\n  api_url: {url}\n");
        }
        let mut cfg = config(dir, &extra);
        let faked = self.slack_url.is_some() || self.github_url.is_some();
        for t in cfg.teams.iter_mut().filter(|_| faked) {
            t.slack_channel = Some(format!("#data-{}", t.name));
            if self.github_url.is_some() {
                t.github_repo = Some(format!("acme/{}", t.name));
            }
        }
        if let Some(slack) = cfg.slack.as_mut() {
            // Severity alone decides here; impact escalation has its own test.
            slack.escalate.min_impact_score = None;
        }
        (self.tweak)(&mut cfg);
        cfg
    }

    /// With fakes, only their notifiers; without, the console into a fresh buffer.
    async fn app(&self, dir: &Path, clock: &ManualClock) -> (App, Arc<Mutex<Vec<u8>>>) {
        let cfg = self.config(dir);
        if self.slack_url.is_none() && self.github_url.is_none() {
            return console_app(cfg, clock).await;
        }
        let app = App::from_config_with_secrets(cfg, Arc::new(clock.clone()), &self.secrets)
            .await
            .unwrap();
        (self.faked_only(app), Arc::default())
    }

    /// As `ripple run` and `serve` start: behind the state guard.
    async fn guarded(
        &self,
        dir: &Path,
        clock: &ManualClock,
        new_state: bool,
    ) -> anyhow::Result<App> {
        let cfg = self.config(dir);
        let app = App::start_with(cfg, Arc::new(clock.clone()), &self.secrets, new_state).await?;
        Ok(self.faked_only(app))
    }

    /// Keeps only the notifiers of the fakes.
    fn faked_only(&self, mut app: App) -> App {
        let faked: Vec<Arc<dyn Notifier>> = app
            .notifiers
            .iter()
            .filter(|n| match n.destination() {
                "slack" => self.slack_url.is_some(),
                "github" => self.github_url.is_some(),
                _ => false,
            })
            .cloned()
            .collect();
        let wanted = usize::from(self.slack_url.is_some()) + usize::from(self.github_url.is_some());
        assert_eq!(faked.len(), wanted, "each fake has its notifier");
        app.set_notifiers(faked);
        app
    }
}

/// A fake Slack with the demo's team channels and a responder group.
pub async fn fake_slack() -> FakeSlack {
    let fake = FakeSlack::start().await;
    for t in ["commerce", "finance", "loyalty", "analytics"] {
        fake.channel(&format!("data-{t}"), false);
    }
    fake.group("S0RESPOND", &["U0000ONCALL", "U000000SRE"]);
    fake
}

/// A fake GitHub with a repository per demo team.
pub async fn fake_github() -> FakeGithub {
    let fake = FakeGithub::start().await;
    for (repo, collaborators) in REPOS {
        fake.repo(repo, collaborators);
    }
    fake
}

impl Harness {
    /// The demo with the console notifier only.
    pub async fn new() -> Harness {
        Self::options().start().await
    }

    /// The console-only demo with `extra` appended to its config.
    pub async fn with_config(extra: &str) -> Harness {
        Self::options().config(extra).start().await
    }

    pub fn options() -> Options {
        Options {
            extra: String::new(),
            slack: false,
            github: false,
            tweak: |_| {},
            secrets: None,
        }
    }

    /// The fake Slack; a test that asks for it wired one.
    pub fn slack(&self) -> &FakeSlack {
        self.slack
            .as_ref()
            .expect("the harness was started with .slack()")
    }

    /// The fake GitHub; a test that asks for it wired one.
    pub fn github(&self) -> &FakeGithub {
        self.github
            .as_ref()
            .expect("the harness was started with .github()")
    }

    /// The config of this harness, as every (re)start parses it.
    pub fn config(&self) -> Config {
        self.wiring.config(self.dir.path())
    }

    /// A new app over the same files, as a second process would build it.
    pub async fn new_app(&self) -> (App, Arc<Mutex<Vec<u8>>>) {
        self.wiring.app(self.dir.path(), &self.clock).await
    }

    /// A new process over the same files: what a restart looks like.
    pub async fn restart(&mut self) {
        let (app, console) = self.new_app().await;
        self.app = app;
        self.console = console;
    }

    /// A restart as `ripple run` does it, state guard included; on error the old app stays.
    pub async fn restart_guarded(&mut self, new_state: bool) -> anyhow::Result<()> {
        self.app = self
            .wiring
            .guarded(self.dir.path(), &self.clock, new_state)
            .await?;
        Ok(())
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        ripple::clock::Clock::now(&self.clock)
    }

    pub fn later(&self, minutes: i64) {
        self.clock.advance(chrono::Duration::minutes(minutes));
    }

    /// One `ripple run --once`.
    pub async fn run(&self) -> RunSummary {
        self.app.run_once().await.unwrap()
    }

    /// One delivery round of the outbox, as the serve loop does between runs.
    pub async fn deliver(&self) -> Delivered {
        deliver_due(&self.app.store, &self.app.notifiers, self.clock_now())
            .await
            .unwrap()
    }

    /// The open incident of a monitor.
    pub async fn incident(&self, monitor: &str) -> i64 {
        let open = self.app.store.open_incident_for(monitor).await.unwrap();
        open.unwrap_or_else(|| panic!("{monitor} has no open incident"))
            .id
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
        warehouse_exec(self.dir.path(), dataset, sql);
    }
}

/// [`Harness::warehouse_exec`] on the demo warehouse in `dir/wh`.
pub fn warehouse_exec(dir: &Path, dataset: &str, sql: &str) {
    let wh = dir.join("wh");
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

async fn console_app(cfg: Config, clock: &ManualClock) -> (App, Arc<Mutex<Vec<u8>>>) {
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
