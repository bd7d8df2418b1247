//! GitHub issues end to end: the demo's incidents against a loopback fake GitHub,
//! through the real octocrab client, on a manual clock.

use super::fake_github::{Fault, Issue, Req};
use super::support::{self, Harness, repo};
use ripple::app::App;
use ripple::config::{Config, OnRecovery, Secrets};
use ripple::console::ConsoleNotifier;
use ripple::github::state::LinkState;
use std::collections::BTreeMap;
use std::sync::Arc;

const COMMERCE: &str = "acme/commerce";
const FINANCE: &str = "acme/finance";
const LOYALTY: &str = "acme/loyalty";

async fn github() -> Harness {
    Harness::options().github().start().await
}

/// The demo wired to a fake GitHub whose config `tweak` adjusts (kept for restarts).
async fn github_with(tweak: fn(&mut Config)) -> Harness {
    Harness::options().github().tweak(tweak).start().await
}

fn one_issue(h: &Harness, repo: &str) -> Issue {
    let issues = h.github().issues(repo);
    assert_eq!(issues.len(), 1, "{repo}: {issues:#?}");
    issues.into_iter().next().unwrap()
}

/// The writes of a log, `METHOD /path` with issue and comment numbers as `N`, counted:
/// the whole of what Ripple changed on GitHub.
pub fn writes(log: &[Req]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in log.iter().filter(|r| r.method != "GET") {
        let path: Vec<&str> = r
            .path
            .split('/')
            .map(|p| if p.parse::<u64>().is_ok() { "N" } else { p })
            .collect();
        *out.entry(format!("{} {}", r.method, path.join("/")))
            .or_default() += 1;
    }
    out
}

fn map(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// What the demo's first run writes on fresh repositories: four labels and one issue
/// in each of the three failing teams' repositories.
pub fn first_run() -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for repo in [COMMERCE, FINANCE, LOYALTY] {
        out.insert(format!("POST /repos/{repo}/labels"), 4);
        out.insert(format!("POST /repos/{repo}/issues"), 1);
    }
    out
}

/// One comment on issue 1 of each repository, and its status rewritten.
/// Days later the demo's orders are stale as well: `orders_fresh` opens an issue of its
/// own, labels already in place.
fn stale_after_days(gh: &Harness, expected: &mut BTreeMap<String, usize>) {
    let issues = gh.github().issues(COMMERCE);
    let stale = issues.last().unwrap();
    assert!(
        stale.title.starts_with("[ripple] commerce/orders_fresh:"),
        "{}",
        stale.title
    );
    expected.insert(format!("POST /repos/{COMMERCE}/issues"), 1);
}

fn comment_each(repos: &[&str]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for repo in repos {
        out.insert(format!("POST /repos/{repo}/issues/N/comments"), 1);
        out.insert(format!("PATCH /repos/{repo}/issues/N"), 1);
    }
    out
}

fn count(log: &[Req], method: &str, suffix: &str) -> usize {
    log.iter().filter(|r| r.is(method, suffix)).count()
}

fn break_loyalty(gh: &Harness, id: i64) {
    gh.warehouse_exec(
        "loyalty",
        &format!("INSERT INTO point_grants VALUES ({id}, 1, {id}, 10, '2026-11-20')"),
    );
}

fn fix_loyalty(gh: &Harness) {
    gh.warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
}

#[tokio::test]
async fn open_repeat_and_recover_make_one_issue_with_comments_only_when_due() {
    let gh = github().await;
    assert_eq!(gh.run().await.delivered.sent, 3);
    for repo in [COMMERCE, FINANCE, LOYALTY] {
        let i = one_issue(&gh, repo);
        assert!(i.open && i.comments.is_empty(), "{i:#?}");
    }
    let log = gh.github().take_log();
    assert_eq!(writes(&log), first_run());
    assert!(log.iter().all(|r| r.auth == "Bearer ghp_test"));
    assert!(
        log.iter().all(|r| r.status < 400 || r.status == 404),
        "{log:#?}"
    );
    assert!(!log.iter().any(|r| r.path.starts_with("/search")));

    // Still failing, not yet due: GitHub hears nothing at all.
    gh.later(30);
    assert_eq!(gh.run().await.delivered.sent, 0);
    assert!(gh.github().take_log().is_empty());

    // The repeat interval (4h) passes: one reminder comment per issue, status rewritten.
    gh.later(4 * 60);
    assert_eq!(gh.run().await.delivered.sent, 3);
    let log = gh.github().take_log();
    assert_eq!(writes(&log), comment_each(&[COMMERCE, FINANCE, LOYALTY]));
    let commerce = one_issue(&gh, COMMERCE);
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
    assert_eq!(writes(&gh.github().take_log()), comment_each(&[LOYALTY]));
    let loyalty = one_issue(&gh, LOYALTY);
    assert!(!loyalty.open);
    assert_eq!(loyalty.comments.len(), 2);
    assert!(loyalty.comments[1].1.contains("**Recovered**"));
    assert!(loyalty.comments[1].1.contains("Closing this issue."));
    assert!(loyalty.body.contains("**Status: resolved**"));
    for repo in [COMMERCE, FINANCE] {
        let i = one_issue(&gh, repo);
        assert!(i.open && i.comments.len() == 1, "{i:#?}");
    }
}

#[tokio::test]
async fn labels_get_colours_and_unassignable_owners_are_named_not_failed() {
    let gh = github_with(|cfg| {
        let gh = cfg.github.as_mut().unwrap();
        gh.label_colours.insert("revenue".into(), "00aa00".into());
    })
    .await;
    gh.run().await;
    let labels = gh.github().labels(COMMERCE);
    let colour = |l: &str| labels.get(l).map(String::as_str);
    assert_eq!(colour("ripple"), Some("5319e7"));
    assert_eq!(colour("team:commerce"), Some("1d76db"));
    assert_eq!(colour("severity:high"), Some("d93f0b"));
    assert_eq!(colour("revenue"), Some("00aa00"), "configured colour");

    let issue = one_issue(&gh, COMMERCE);
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
    let log = gh.github().take_log();
    let kenji = log
        .iter()
        .find(|r| r.is("GET", "/repos/acme/commerce/assignees/kenji"))
        .unwrap();
    assert_eq!(kenji.status, 404);
    assert!(
        log.iter().all(|r| r.status != 422),
        "checked first, never refused"
    );
    assert_eq!(writes(&log), first_run());

    // Labels are created once per repository, not per issue.
    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    assert_eq!(writes(&gh.github().take_log()), comment_each(&[LOYALTY]));
    break_loyalty(&gh, 9101);
    gh.later(3 * 24 * 60);
    gh.run().await;
    // A new issue for loyalty (beyond the reopen window), reminders for the others.
    let mut expected = comment_each(&[COMMERCE, FINANCE]);
    expected.insert(format!("POST /repos/{LOYALTY}/issues"), 1);
    stale_after_days(&gh, &mut expected);
    assert_eq!(writes(&gh.github().take_log()), expected);
}

#[tokio::test]
async fn a_crash_between_create_and_record_still_yields_one_issue() {
    let mut gh = github().await;
    // GitHub creates the issue but the response never arrives (same as crashing before
    // the number is recorded): the intent stays in the store.
    gh.github().inject(
        "POST",
        "/repos/acme/commerce/issues",
        Fault::ApplyThenFail,
        1,
    );
    let s = gh.run().await;
    assert_eq!((s.delivered.sent, s.delivered.failed), (2, 1));
    let id = gh.incident("orders_without_payment").await;
    let links = ripple::github::IssueLinks::new(gh.app.store.clone());
    let link = links.get(id).await.unwrap().unwrap();
    assert_eq!(link.state, LinkState::Creating);
    assert_eq!(gh.github().issues(COMMERCE).len(), 1);
    assert_eq!(writes(&gh.github().take_log()), first_run());

    gh.restart().await;
    gh.later(1);
    assert_eq!(gh.deliver().await.sent, 1);
    let log = gh.github().take_log();
    assert_eq!(
        writes(&log),
        map(&[]),
        "reconciled, not recreated: {log:#?}"
    );
    assert_eq!(count(&log, "GET", "/repos/acme/commerce/issues"), 1);
    let issue = one_issue(&gh, COMMERCE);
    assert!(
        issue.comments.is_empty(),
        "its own issue is adopted silently"
    );
    let link = links.get(id).await.unwrap().unwrap();
    assert_eq!(link.state, LinkState::Open { number: 1 });
}

#[tokio::test]
async fn rate_limits_and_outages_delay_steps_but_never_lose_or_duplicate_them() {
    let gh = github().await;
    let limit = Fault::SecondaryRateLimit { retry_after: 600 };
    gh.github()
        .inject("POST", "/repos/acme/commerce/issues", limit, 1);
    let s = gh.run().await;
    assert_eq!((s.delivered.sent, s.delivered.failed), (2, 1));

    let refused: Vec<u16> = gh
        .github()
        .take_log()
        .iter()
        .filter(|r| r.is("POST", "/repos/acme/commerce/issues"))
        .map(|r| r.status)
        .collect();
    assert_eq!(refused, [403]);

    // Retry-After is 10 minutes: at 5 nothing is tried, at 11 it goes through.
    gh.later(5);
    assert_eq!(gh.deliver().await.sent, 0);
    assert!(gh.github().take_log().is_empty());
    gh.later(6);
    assert_eq!(gh.deliver().await.sent, 1);
    let retried = map(&[("POST /repos/acme/commerce/issues", 1)]);
    assert_eq!(writes(&gh.github().take_log()), retried);
    one_issue(&gh, COMMERCE);

    // Reminders during an outage: two 503s and one lost response.
    gh.github()
        .inject("POST", "/comments", Fault::Status(503), 2);
    gh.github()
        .inject("POST", "/comments", Fault::ApplyThenFail, 1);
    gh.later(4 * 60);
    let s = gh.run().await;
    assert_eq!((s.delivered.sent, s.delivered.failed), (0, 3));
    gh.later(1);
    assert_eq!(gh.deliver().await.sent, 3);
    for repo in [COMMERCE, FINANCE, LOYALTY] {
        let i = one_issue(&gh, repo);
        assert_eq!(i.comments.len(), 1, "{repo}: {:#?}", i.comments);
    }
    assert_eq!(gh.app.store.pending_outbox().await.unwrap(), 0);
    // Each refused comment tried again once; the lost one found by its marker, not
    // posted again; every status rewritten once.
    let log = gh.github().take_log();
    let mut expected = comment_each(&[COMMERCE, FINANCE, LOYALTY]);
    for repo in [FINANCE, LOYALTY] {
        expected.insert(format!("POST /repos/{repo}/issues/N/comments"), 2);
    }
    assert_eq!(writes(&log), expected, "{log:#?}");
}

#[tokio::test]
async fn a_relapse_within_the_window_reopens_the_issue_and_a_later_one_opens_a_new_one() {
    let gh = github().await;
    gh.run().await;
    assert_eq!(writes(&gh.github().take_log()), first_run());
    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    assert!(!one_issue(&gh, LOYALTY).open);
    assert_eq!(writes(&gh.github().take_log()), comment_each(&[LOYALTY]));

    break_loyalty(&gh, 9101);
    gh.later(60);
    gh.run().await;
    let issue = one_issue(&gh, LOYALTY);
    assert!(issue.open, "reopened within 24h");
    let last = &issue.comments.last().unwrap().1;
    assert!(last.contains("**Failing again** as incident #"), "{last}");
    assert!(last.contains("Reopened"), "{last}");
    assert!(issue.body.contains("**Status: failing**"));
    assert_eq!(writes(&gh.github().take_log()), comment_each(&[LOYALTY]));

    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    assert!(!one_issue(&gh, LOYALTY).open);
    assert_eq!(writes(&gh.github().take_log()), comment_each(&[LOYALTY]));
    gh.later(2 * 24 * 60);
    break_loyalty(&gh, 9102);
    gh.run().await;
    let issues = gh.github().issues(LOYALTY);
    assert_eq!(issues.len(), 2, "beyond the window: a new issue");
    assert!(!issues[0].open && issues[1].open);
    let mut expected = comment_each(&[COMMERCE, FINANCE]);
    expected.insert(format!("POST /repos/{LOYALTY}/issues"), 1);
    stale_after_days(&gh, &mut expected);
    assert_eq!(writes(&gh.github().take_log()), expected);
}

#[tokio::test]
async fn a_team_can_keep_recovered_issues_open_and_a_relapse_lands_on_them() {
    let gh = github_with(|cfg| {
        let t = cfg.teams.iter_mut().find(|t| t.name == "loyalty").unwrap();
        t.github_on_recovery = Some(OnRecovery::Comment);
    })
    .await;
    gh.run().await;
    assert_eq!(writes(&gh.github().take_log()), first_run());
    fix_loyalty(&gh);
    gh.later(30);
    gh.run().await;
    let issue = one_issue(&gh, LOYALTY);
    assert!(issue.open);
    assert!(issue.comments[0].1.contains("Leaving the issue open"));
    assert!(issue.body.contains("**Status: resolved**"));
    assert_eq!(writes(&gh.github().take_log()), comment_each(&[LOYALTY]));

    gh.later(3 * 24 * 60);
    break_loyalty(&gh, 9101);
    gh.run().await;
    let issue = one_issue(&gh, LOYALTY);
    assert_eq!(issue.comments.len(), 2);
    assert!(issue.comments[1].1.contains("**Failing again**"));
    assert!(!issue.comments[1].1.contains("Reopened"));
    let mut expected = comment_each(&[COMMERCE, FINANCE, LOYALTY]);
    stale_after_days(&gh, &mut expected);
    assert_eq!(writes(&gh.github().take_log()), expected);
}

#[tokio::test]
async fn an_open_issue_the_store_forgot_is_found_by_its_marker() {
    let gh = github().await;
    // Left by an earlier deployment whose state database is gone.
    gh.github().world().repos.get_mut(COMMERCE).unwrap().issues.push(Issue {
        number: 1,
        title: "[ripple] commerce/orders_without_payment: 2 rows".into(),
        body: "<!-- ripple:fingerprint=monitor:orders_without_payment -->\n<!-- ripple:incident=40 -->\nold"
            .into(),
        open: true,
        labels: vec!["ripple".into()],
        ..Default::default()
    });
    gh.run().await;
    let issue = one_issue(&gh, COMMERCE);
    assert_eq!(issue.comments.len(), 1);
    assert!(issue.comments[0].1.contains("**Failing again**"));
    assert!(
        issue
            .body
            .starts_with("<!-- ripple:status -->\n**Status: failing**")
    );
    // Adopting an issue writes no labels: it has them, or people removed them.
    let mut expected = first_run();
    expected.remove(&format!("POST /repos/{COMMERCE}/issues"));
    expected.remove(&format!("POST /repos/{COMMERCE}/labels"));
    expected.extend(comment_each(&[COMMERCE]));
    assert_eq!(writes(&gh.github().take_log()), expected);
}

#[tokio::test]
async fn a_422_despite_the_check_retries_without_assignees_and_says_so() {
    let gh = github().await;
    gh.github().inject(
        "POST",
        "/repos/acme/commerce/issues",
        Fault::Unprocessable,
        1,
    );
    assert_eq!(gh.run().await.delivered.sent, 3);
    let issue = one_issue(&gh, COMMERCE);
    assert!(issue.assignees.is_empty());
    assert!(
        issue
            .body
            .contains("- `hana`: GitHub refused the assignment"),
        "{}",
        issue.body
    );
    let log = gh.github().take_log();
    let mut expected = first_run();
    expected.insert(format!("POST /repos/{COMMERCE}/issues"), 2);
    assert_eq!(writes(&log), expected);
    let creates: Vec<(u16, serde_json::Value)> = log
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
    let gh = github().await;
    gh.run().await;
    assert_eq!(writes(&gh.github().take_log()), first_run());
    let body = one_issue(&gh, COMMERCE)
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
    let gh = Harness::options().github().secrets(secrets).start().await;
    assert_eq!(gh.run().await.delivered.sent, 3);
    let log = gh.github().take_log();
    let mut expected = first_run();
    expected.insert("POST /app/installations/N/access_tokens".into(), 1);
    assert_eq!(writes(&log), expected);
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
    one_issue(&gh, COMMERCE);
}

#[tokio::test]
async fn github_configured_without_credentials_is_a_startup_error_naming_the_variables() {
    let demo = Harness::new().await;
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
    let mut demo = Harness::new().await;
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
