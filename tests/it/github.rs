//! GitHub issues end to end: the demo's incidents against a loopback fake GitHub,
//! through the real octocrab client, on a manual clock.

use super::fake_github::{FakeGithub, Fault, Issue, Req};
use super::support::{self, Demo, repo};
use chrono::Duration;
use ripple::app::{App, RunSummary};
use ripple::clock::Clock;
use ripple::config::{Config, OnRecovery, Secrets};
use ripple::console::ConsoleNotifier;
use ripple::github::state::LinkState;
use ripple::notify::Notifier;
use ripple::notify::dispatch::{Delivered, deliver_due};
use std::sync::Arc;

const COMMERCE: &str = "acme/commerce";
const FINANCE: &str = "acme/finance";
const LOYALTY: &str = "acme/loyalty";

/// The demo wired to a fake GitHub; `tweak` adjusts the config (kept for restarts).
struct Gh {
    demo: Demo,
    fake: FakeGithub,
    tweak: fn(&mut Config),
    secrets: Secrets,
}

fn token() -> Secrets {
    Secrets::from_lookup(|k| (k == "GITHUB_TOKEN").then(|| "ghp_test".to_string()))
}

impl Gh {
    async fn new() -> Gh {
        Self::with(|_| {}, token()).await
    }

    async fn with(tweak: fn(&mut Config), secrets: Secrets) -> Gh {
        let fake = FakeGithub::start().await;
        fake.repo(COMMERCE, &["hana"]);
        fake.repo(FINANCE, &["mika", "louis"]);
        fake.repo(LOYALTY, &["sora"]);
        fake.repo("acme/analytics", &["yuki"]);
        let mut gh = Gh {
            demo: Demo::new().await,
            fake,
            tweak,
            secrets,
        };
        gh.restart().await;
        gh
    }

    fn config(&self) -> Config {
        let extra = format!("github:\n  api_url: {}\n", self.fake.url);
        let mut cfg = support::config(self.demo.dir.path(), &extra);
        for t in &mut cfg.teams {
            t.github_repo = Some(format!("acme/{}", t.name));
            t.slack_channel = Some(format!("#data-{}", t.name));
        }
        (self.tweak)(&mut cfg);
        cfg
    }

    /// A new process over the same state: only the GitHub notifier, as configured.
    async fn restart(&mut self) {
        let clock = Arc::new(self.demo.clock.clone());
        let mut app = App::from_config_with_secrets(self.config(), clock, &self.secrets)
            .await
            .unwrap();
        let github: Vec<Arc<dyn Notifier>> = app
            .notifiers
            .iter()
            .filter(|n| n.destination() == "github")
            .cloned()
            .collect();
        assert_eq!(
            github.len(),
            1,
            "github: configured means a GitHub notifier"
        );
        app.set_notifiers(github);
        self.demo.app = app;
    }

    async fn run(&self) -> RunSummary {
        self.demo.app.run_once().await.unwrap()
    }

    async fn deliver(&self) -> Delivered {
        let app = &self.demo.app;
        deliver_due(&app.store, &app.notifiers, self.demo.clock.now())
            .await
            .unwrap()
    }

    fn later(&self, minutes: i64) {
        self.demo.clock.advance(Duration::minutes(minutes));
    }

    fn one_issue(&self, repo: &str) -> Issue {
        let issues = self.fake.issues(repo);
        assert_eq!(issues.len(), 1, "{repo}: {issues:#?}");
        issues.into_iter().next().unwrap()
    }

    async fn incident_id(&self, monitor: &str) -> i64 {
        let store = &self.demo.app.store;
        store.open_incident_for(monitor).await.unwrap().unwrap().id
    }
}

fn count(log: &[Req], method: &str, suffix: &str) -> usize {
    log.iter().filter(|r| r.is(method, suffix)).count()
}

fn break_loyalty(gh: &Gh, id: i64) {
    gh.demo.warehouse_exec(
        "loyalty",
        &format!("INSERT INTO point_grants VALUES ({id}, 1, {id}, 10, '2026-11-20')"),
    );
}

fn fix_loyalty(gh: &Gh) {
    gh.demo
        .warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
}

#[tokio::test]
async fn open_repeat_and_recover_make_one_issue_with_comments_only_when_due() {
    let gh = Gh::new().await;
    assert_eq!(gh.run().await.delivered.sent, 3);
    for repo in [COMMERCE, FINANCE, LOYALTY] {
        let i = gh.one_issue(repo);
        assert!(i.open && i.comments.is_empty(), "{i:#?}");
    }
    let log = gh.fake.take_log();
    assert!(log.iter().all(|r| r.auth == "Bearer ghp_test"));
    assert!(
        log.iter().all(|r| r.status < 400 || r.status == 404),
        "{log:#?}"
    );
    assert!(!log.iter().any(|r| r.path.starts_with("/search")));

    // Still failing, not yet due: GitHub hears nothing at all.
    gh.later(30);
    assert_eq!(gh.run().await.delivered.sent, 0);
    assert!(gh.fake.take_log().is_empty());

    // The repeat interval (4h) passes: one reminder comment per issue, status rewritten.
    gh.later(4 * 60);
    assert_eq!(gh.run().await.delivered.sent, 3);
    let log = gh.fake.take_log();
    assert_eq!(count(&log, "POST", "/comments"), 3);
    assert_eq!(count(&log, "POST", "/issues"), 0);
    let commerce = gh.one_issue(COMMERCE);
    assert!(
        commerce.comments[0]
            .1
            .contains("**Still failing** after 4h 30m: 3 rows")
    );
    assert!(
        commerce.body.contains("updated 2026-11-20 04:30 UTC"),
        "{}",
        commerce.body
    );

    // Loyalty recovers: a comment, the status says resolved, the issue is closed.
    fix_loyalty(&gh);
    gh.later(30);
    assert_eq!(gh.run().await.delivered.sent, 1);
    let loyalty = gh.one_issue(LOYALTY);
    assert!(!loyalty.open);
    assert_eq!(loyalty.comments.len(), 2);
    assert!(loyalty.comments[1].1.contains("**Recovered**"));
    assert!(loyalty.comments[1].1.contains("Closing this issue."));
    assert!(loyalty.body.contains("**Status: resolved**"));
    for repo in [COMMERCE, FINANCE] {
        let i = gh.one_issue(repo);
        assert!(i.open && i.comments.len() == 1, "{i:#?}");
    }
}

#[tokio::test]
async fn labels_get_colours_and_unassignable_owners_are_named_not_failed() {
    let gh = Gh::with(
        |cfg| {
            let gh = cfg.github.as_mut().unwrap();
            gh.label_colours.insert("revenue".into(), "00aa00".into());
        },
        token(),
    )
    .await;
    gh.run().await;
    let labels = gh.fake.labels(COMMERCE);
    let colour = |l: &str| labels.get(l).map(String::as_str);
    assert_eq!(colour("ripple"), Some("5319e7"));
    assert_eq!(colour("team:commerce"), Some("1d76db"));
    assert_eq!(colour("severity:high"), Some("d93f0b"));
    assert_eq!(colour("revenue"), Some("00aa00"), "configured colour");

    let issue = gh.one_issue(COMMERCE);
    assert_eq!(
        issue.title,
        "[ripple] commerce/orders_without_payment: 3 rows"
    );
    assert_eq!(
        issue.labels,
        ["ripple", "team:commerce", "severity:high", "revenue"]
    );
    assert_eq!(issue.assignees, ["hana"], "kenji is not a collaborator");
    assert!(
        issue
            .body
            .contains("- `kenji`: cannot be assigned in `acme/commerce`"),
        "{}",
        issue.body
    );
    let log = gh.fake.take_log();
    let kenji = log
        .iter()
        .find(|r| r.is("GET", "/repos/acme/commerce/assignees/kenji"))
        .unwrap();
    assert_eq!(kenji.status, 404);
    assert!(
        log.iter().all(|r| r.status != 422),
        "checked first, never refused"
    );
    assert_eq!(count(&log, "POST", "/repos/acme/commerce/labels"), 4);

    // Labels are created once per repository, not per issue.
    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    break_loyalty(&gh, 9101);
    gh.later(3 * 24 * 60);
    gh.run().await;
    assert_eq!(count(&gh.fake.take_log(), "POST", "/labels"), 0);
}

#[tokio::test]
async fn a_crash_between_create_and_record_still_yields_one_issue() {
    let mut gh = Gh::new().await;
    // GitHub creates the issue but the response never arrives (same as crashing before
    // the number is recorded): the intent stays in the store.
    gh.fake.inject(
        "POST",
        "/repos/acme/commerce/issues",
        Fault::ApplyThenFail,
        1,
    );
    let s = gh.run().await;
    assert_eq!((s.delivered.sent, s.delivered.failed), (2, 1));
    let id = gh.incident_id("orders_without_payment").await;
    let links = ripple::github::IssueLinks::new(gh.demo.app.store.clone());
    let link = links.get(id).await.unwrap().unwrap();
    assert_eq!(link.state, LinkState::Creating);
    assert_eq!(gh.fake.issues(COMMERCE).len(), 1);

    gh.restart().await;
    gh.fake.take_log();
    gh.later(1);
    assert_eq!(gh.deliver().await.sent, 1);
    let log = gh.fake.take_log();
    assert_eq!(
        count(&log, "POST", "/issues"),
        0,
        "reconciled, not recreated: {log:#?}"
    );
    assert_eq!(count(&log, "GET", "/repos/acme/commerce/issues"), 1);
    let issue = gh.one_issue(COMMERCE);
    assert!(
        issue.comments.is_empty(),
        "its own issue is adopted silently"
    );
    let link = links.get(id).await.unwrap().unwrap();
    assert_eq!(link.state, LinkState::Open { number: 1 });
}

#[tokio::test]
async fn rate_limits_and_outages_delay_steps_but_never_lose_or_duplicate_them() {
    let gh = Gh::new().await;
    let limit = Fault::SecondaryRateLimit { retry_after: 600 };
    gh.fake
        .inject("POST", "/repos/acme/commerce/issues", limit, 1);
    let s = gh.run().await;
    assert_eq!((s.delivered.sent, s.delivered.failed), (2, 1));

    // Retry-After is 10 minutes: at 5 nothing is tried, at 11 it goes through.
    gh.fake.take_log();
    gh.later(5);
    assert_eq!(gh.deliver().await.sent, 0);
    assert!(gh.fake.take_log().is_empty());
    gh.later(6);
    assert_eq!(gh.deliver().await.sent, 1);
    gh.one_issue(COMMERCE);

    // Reminders during an outage: two 503s and one lost response.
    gh.fake.inject("POST", "/comments", Fault::Status(503), 2);
    gh.fake.inject("POST", "/comments", Fault::ApplyThenFail, 1);
    gh.later(4 * 60);
    let s = gh.run().await;
    assert_eq!((s.delivered.sent, s.delivered.failed), (0, 3));
    gh.later(1);
    assert_eq!(gh.deliver().await.sent, 3);
    for repo in [COMMERCE, FINANCE, LOYALTY] {
        let i = gh.one_issue(repo);
        assert_eq!(i.comments.len(), 1, "{repo}: {:#?}", i.comments);
    }
    assert_eq!(gh.demo.app.store.pending_outbox().await.unwrap(), 0);
}

#[tokio::test]
async fn a_relapse_within_the_window_reopens_the_issue_and_a_later_one_opens_a_new_one() {
    let gh = Gh::new().await;
    gh.run().await;
    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    assert!(!gh.one_issue(LOYALTY).open);

    break_loyalty(&gh, 9101);
    gh.later(60);
    gh.run().await;
    let issue = gh.one_issue(LOYALTY);
    assert!(issue.open, "reopened within 24h");
    let last = &issue.comments.last().unwrap().1;
    assert!(last.contains("**Failing again** as incident #"), "{last}");
    assert!(last.contains("Reopened"), "{last}");
    assert!(issue.body.contains("**Status: failing**"));

    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    assert!(!gh.one_issue(LOYALTY).open);
    gh.later(2 * 24 * 60);
    break_loyalty(&gh, 9102);
    gh.run().await;
    let issues = gh.fake.issues(LOYALTY);
    assert_eq!(issues.len(), 2, "beyond the window: a new issue");
    assert!(!issues[0].open && issues[1].open);
}

#[tokio::test]
async fn a_team_can_keep_recovered_issues_open_and_a_relapse_lands_on_them() {
    let gh = Gh::with(
        |cfg| {
            let t = cfg.teams.iter_mut().find(|t| t.name == "loyalty").unwrap();
            t.github_on_recovery = Some(OnRecovery::Comment);
        },
        token(),
    )
    .await;
    gh.run().await;
    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    let issue = gh.one_issue(LOYALTY);
    assert!(issue.open);
    assert!(issue.comments[0].1.contains("Leaving the issue open"));
    assert!(issue.body.contains("**Status: resolved**"));

    gh.later(3 * 24 * 60);
    break_loyalty(&gh, 9101);
    gh.run().await;
    let issue = gh.one_issue(LOYALTY);
    assert_eq!(issue.comments.len(), 2);
    assert!(issue.comments[1].1.contains("**Failing again**"));
    assert!(!issue.comments[1].1.contains("Reopened"));
}

#[tokio::test]
async fn an_open_issue_the_store_forgot_is_found_by_its_marker() {
    let gh = Gh::new().await;
    // Left by an earlier deployment whose state database is gone.
    gh.fake.world().repos.get_mut(COMMERCE).unwrap().issues.push(Issue {
        number: 1,
        title: "[ripple] commerce/orders_without_payment: 2 rows".into(),
        body: "<!-- ripple:fingerprint=monitor:orders_without_payment -->\n<!-- ripple:incident=40 -->\nold"
            .into(),
        open: true,
        labels: vec!["ripple".into()],
        ..Default::default()
    });
    gh.run().await;
    let issue = gh.one_issue(COMMERCE);
    assert_eq!(issue.comments.len(), 1);
    assert!(issue.comments[0].1.contains("**Failing again**"));
    assert!(
        issue
            .body
            .starts_with("<!-- ripple:status -->\n**Status: failing**")
    );
}

#[tokio::test]
async fn a_422_despite_the_check_retries_without_assignees_and_says_so() {
    let gh = Gh::new().await;
    gh.fake.inject(
        "POST",
        "/repos/acme/commerce/issues",
        Fault::Unprocessable,
        1,
    );
    assert_eq!(gh.run().await.delivered.sent, 3);
    let issue = gh.one_issue(COMMERCE);
    assert!(issue.assignees.is_empty());
    assert!(
        issue
            .body
            .contains("- `hana`: GitHub refused the assignment"),
        "{}",
        issue.body
    );
    let creates: Vec<(u16, serde_json::Value)> = gh
        .fake
        .take_log()
        .into_iter()
        .filter(|r| r.is("POST", "/repos/acme/commerce/issues"))
        .map(|r| (r.status, r.body["assignees"].clone()))
        .collect();
    let expected = [
        (422, serde_json::json!(["hana"])),
        (201, serde_json::json!([])),
    ];
    assert_eq!(creates, expected);
}

#[tokio::test]
async fn the_issue_body_for_the_demos_failing_monitor() {
    let gh = Gh::new().await;
    gh.run().await;
    let body = gh
        .one_issue(COMMERCE)
        .body
        .replace(&repo().display().to_string(), "<repo>");
    insta::assert_snapshot!("github_issue_body_orders_without_payment", body);
}

#[tokio::test]
async fn a_github_app_authenticates_with_installation_tokens() {
    let key = std::fs::read_to_string(repo().join("fixtures/github/test-app-key.pem")).unwrap();
    let secrets = Secrets::from_lookup(move |k| match k {
        "GITHUB_APP_ID" => Some("12345".into()),
        "GITHUB_APP_PRIVATE_KEY" => Some(key.clone()),
        "GITHUB_APP_INSTALLATION_ID" => Some("42".into()),
        _ => None,
    });
    let gh = Gh::with(|_| {}, secrets).await;
    assert_eq!(gh.run().await.delivered.sent, 3);
    let log = gh.fake.take_log();
    let mint = &log[0];
    assert!(
        mint.is("POST", "/app/installations/42/access_tokens"),
        "{mint:?}"
    );
    assert_eq!(mint.auth.matches('.').count(), 2, "a JWT: {}", mint.auth);
    assert!(log[1..].iter().all(|r| r.auth == "Bearer ghs_installation"));
    assert_eq!(
        count(&log, "POST", "/access_tokens"),
        1,
        "the token is reused"
    );
    gh.one_issue(COMMERCE);
}

#[tokio::test]
async fn github_configured_without_credentials_is_a_startup_error_naming_the_variables() {
    let demo = Demo::new().await;
    let cfg = support::config(demo.dir.path(), "github:\n  api_url: http://127.0.0.1:9\n");
    let err = App::from_config_with_secrets(cfg, Arc::new(demo.clock.clone()), &Secrets::default())
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    for var in [
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_INSTALLATION_ID",
    ] {
        assert!(msg.contains(var), "{msg}");
    }
}

#[tokio::test]
async fn without_github_the_console_shows_the_issue_it_would_open() {
    let mut demo = Demo::new().await;
    let mut teams = demo.app.config.teams.clone();
    teams[0].github_repo = Some("acme/commerce-data".into());
    let (console, buf) = ConsoleNotifier::buffer();
    demo.app.set_notifiers(vec![Arc::new(
        console.with_preview(ripple::app::github_preview(&teams)),
    )]);
    demo.app.run_once().await.unwrap();
    let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    assert!(
        out.contains("  github issue that would be opened in acme/commerce-data"),
        "{out}"
    );
    assert!(out.contains("    title: [ripple] commerce/orders_without_payment: 3 rows"));
    assert!(out.contains("    labels: ripple, team:commerce, severity:high, revenue"));
    assert!(out.contains("    | <!-- ripple:fingerprint=monitor:orders_without_payment -->"));
    assert!(
        out.contains("in the team's github_repo (not set)"),
        "finance has no repo"
    );
}
