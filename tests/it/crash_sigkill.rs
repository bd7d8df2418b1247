//! The literal crash campaign: real `ripple run --once` processes over one state file,
//! SIGKILLed at random remote calls, through open → change → resolve, with faults
//! injected in the fakes (5xx, 429 and GitHub's secondary rate limit with a 1 s
//! `Retry-After`, lost responses) and now and then two processes at once. The fakes run
//! here on 127.0.0.1; their tripwire tells the test when the armed request was served
//! (its answer sometimes held back), and the test kills every running child at once, so
//! the kill lands between the remote's change and the record of it. After each phase the
//! children are restarted until one exits 0 with nothing pending; at the end the fakes'
//! whole state must equal a calm run's: no duplicate issue, channel, root, reply or
//! comment, and nothing undelivered.
//!
//! The binary runs on the wall clock, so a failed delivery's back-off (30 s and up) is
//! not waited out: between runs, with no child alive, the test makes the pending rows due
//! (as if the back-off had passed). Leases are never touched: a killed holder's must be
//! taken over because its process is gone (`notify::holder`), not because time passed.

use super::crash::{Picture, Rng, picture_of};
use super::fake_github::FakeGithub;
use super::fake_slack::FakeSlack;
use super::support;
use super::tripwire::Tripwire;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Stats {
    runs: usize,
    kills: usize,
    /// Kills whose tripping request's answer was held back: remote changed, caller deaf.
    held_kills: usize,
    two_processes: usize,
    faults: usize,
    faults_hit: usize,
    /// Times pending rows were made due instead of waiting for their back-off.
    made_due: usize,
}

/// One deployment: the demo warehouse and state in a temp folder, the fakes, the config.
struct Site {
    dir: tempfile::TempDir,
    slack: FakeSlack,
    github: FakeGithub,
    logs: usize,
}

impl Site {
    async fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        support::seed(dir.path());
        let slack = support::fake_slack().await;
        slack.use_system_clock();
        let github = support::fake_github().await;
        let mut text = support::config_text(dir.path(), "");
        for team in ["commerce", "finance", "loyalty", "analytics"] {
            text = text.replace(
                &format!("  - name: {team}\n"),
                &format!(
                    "  - name: {team}\n    slack_channel: \"#data-{team}\"\n    github_repo: acme/{team}\n"
                ),
            );
        }
        text += &format!(
            "slack:\n  api_url: {}\n  invite_user_groups: [S0RESPOND]\ngithub:\n  api_url: {}\n",
            slack.api_url(),
            github.url
        );
        std::fs::write(dir.path().join("ripple.yaml"), text).unwrap();
        // The state file exists before the first kill can land (a state guard's probe
        // of an empty file is another test's business).
        let store = ripple::store::Store::open(&dir.path().join("state.db"))
            .await
            .unwrap();
        store.close().await.unwrap();
        Site {
            dir,
            slack,
            github,
            logs: 0,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `ripple run --once` on this site, its output in `run-N.log`.
    fn spawn(&mut self) -> (Child, PathBuf) {
        self.logs += 1;
        let log = self.path(&format!("run-{}.log", self.logs));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(["run", "--once", "--config"])
            .arg(self.path("ripple.yaml"))
            .current_dir(support::repo())
            .env("SLACK_BOT_TOKEN", "xoxb-test")
            .env("SLACK_SIGNING_SECRET", "shh")
            .env("GITHUB_TOKEN", "ghp_test")
            .env("RUST_LOG", "ripple=info")
            .env_remove("SLACK_APP_TOKEN")
            .env_remove("GITHUB_APP_ID")
            .env_remove("GITHUB_APP_PRIVATE_KEY")
            .env_remove("GITHUB_APP_INSTALLATION_ID")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        (child, log)
    }

    /// The state file, with no child alive.
    fn state(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.path("state.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn
    }

    fn pending(&self) -> i64 {
        let q = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL";
        self.state().query_row(q, [], |r| r.get(0)).unwrap()
    }

    /// The back-off of every pending row has passed.
    fn make_due(&self) {
        let q = "UPDATE outbox SET next_attempt_at = 0 WHERE delivered_at IS NULL";
        self.state().execute(q, []).unwrap();
    }

    fn set_wire(&self, wire: Option<Arc<Tripwire>>) {
        self.slack.world().tripwire = wire.clone();
        self.github.world().tripwire = wire;
    }

    fn exec(&self, dataset: &str, sql: &str) {
        support::warehouse_exec(self.dir.path(), dataset, sql);
    }

    /// What people see, and the fakes' ledgers emptied (everything is asserted through
    /// the picture).
    fn picture(&self) -> Picture {
        let p = picture_of(&self.slack, &self.github);
        self.slack.take_sent();
        self.github.take_log();
        p
    }
}

/// The phases: the demo's failures open; one recovers and another breaks; the rest of
/// the fixable ones recover.
fn change(site: &Site, phase: usize) {
    match phase {
        0 => {}
        1 => {
            site.exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
            site.exec("shop", "UPDATE orders SET amount = -amount WHERE id = 1");
        }
        _ => {
            site.exec("finance", "INSERT INTO payments (id, order_id, amount, method, paid_at) SELECT id, id, amount, 'card', processed_at FROM shop.orders WHERE id IN (57, 131, 288)");
            site.exec("shop", "UPDATE orders SET amount = -amount WHERE id = 1");
        }
    }
}

fn inject(site: &Site, rng: &mut Rng, stats: &mut Stats) {
    // Retry-After of 1 s: the processes wait for real.
    stats.faults += super::crash::inject_faults(&site.slack, &site.github, rng, 1);
}

/// Waits for the children; when the wire trips first, SIGKILLs (and reaps) them all.
/// True when they were killed.
async fn supervise(children: &mut [(Child, PathBuf)], wire: &Tripwire, armed: bool) -> bool {
    let start = Instant::now();
    loop {
        let mut done = true;
        for (c, log) in children.iter_mut() {
            match c.try_wait().unwrap() {
                None => done = false,
                Some(status) => assert!(
                    status.success(),
                    "ripple run --once failed ({status}):\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ),
            }
        }
        if done {
            return false;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "a ripple run hangs: {}",
            std::fs::read_to_string(&children[0].1).unwrap_or_default()
        );
        tokio::select! {
            () = wire.tripped(), if armed => {
                for (c, _) in children.iter_mut() {
                    // SIGKILL on unix; a child that already exited is just reaped.
                    let _ = c.kill();
                    c.wait().unwrap();
                }
                return true;
            }
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
}

/// Runs until a run exits 0 with nothing pending, killing and faulting as `rng` says
/// (no `rng`: the calm reference).
async fn settle(site: &mut Site, mut rng: Option<&mut Rng>, stats: &mut Stats) {
    for _ in 0..60 {
        let wire = Arc::new(Tripwire::default());
        let (mut kill, mut two) = (false, false);
        if let Some(rng) = rng.as_deref_mut() {
            kill = rng.below(3) != 0;
            two = rng.below(4) == 0;
            if kill {
                wire.arm(1 + rng.below(12));
                wire.hold(rng.below(2) == 0);
            }
        }
        site.set_wire(Some(wire.clone()));
        let mut children = vec![site.spawn()];
        if two {
            children.push(site.spawn());
            stats.two_processes += 1;
        }
        stats.runs += children.len();
        let killed = supervise(&mut children, &wire, kill).await;
        site.set_wire(None);
        if killed {
            stats.kills += 1;
            stats.held_kills += usize::from(wire.holding());
        }
        let pending = site.pending();
        if !killed && pending == 0 {
            return;
        }
        if pending > 0 {
            stats.made_due += 1;
            site.make_due();
        }
    }
    panic!("the outbox did not empty in 60 runs: {stats:?}");
}

async fn deployment(seed: Option<u64>, stats: &mut Stats) -> Picture {
    let mut site = Site::new().await;
    let mut rng = seed.map(|s| Rng(s.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1));
    let before = stats.faults;
    for phase in 0..3 {
        change(&site, phase);
        if let Some(rng) = rng.as_mut() {
            inject(&site, rng, stats);
        }
        settle(&mut site, rng.as_mut(), stats).await;
        assert_eq!(site.pending(), 0, "phase {phase}: nothing undelivered");
    }
    let left = site.slack.faults_left() + site.github.faults_left();
    stats.faults_hit += stats.faults - before - left;
    site.picture()
}

#[tokio::test]
async fn sigkilled_processes_leave_exactly_what_a_calm_run_leaves() {
    let start = Instant::now();
    let mut calm = Stats::default();
    let expected = deployment(None, &mut calm).await;
    assert_eq!(
        calm.runs, 3,
        "a calm run delivers each phase at once: {calm:?}"
    );
    assert!(!expected.rooms.is_empty(), "{expected:#?}");
    let mut stats = Stats::default();
    const SEEDS: u64 = 6;
    for seed in 1..=SEEDS {
        let got = deployment(Some(seed), &mut stats).await;
        assert_eq!(got, expected, "seed {seed}: {stats:?}");
    }
    let issues: usize = expected.issues.values().map(Vec::len).sum();
    let comments: usize = expected.issues.values().flatten().map(|i| i.2).sum();
    let replies: usize = expected.roots.values().map(|r| r.0).sum();
    eprintln!(
        "SIGKILL campaigns: {SEEDS} seeds in {:.1} s, {stats:?}, duplicates 0, undelivered 0; \
         each left {issues} issues, {comments} comments, {} rooms, {} roots, {replies} replies",
        start.elapsed().as_secs_f64(),
        expected.rooms.len(),
        expected.roots.len(),
    );
    assert!(stats.kills >= SEEDS as usize, "too few kills: {stats:?}");
    assert!(
        stats.faults_hit >= SEEDS as usize,
        "faults never hit: {stats:?}"
    );
}
