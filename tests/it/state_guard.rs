//! A lost state file is never silently a new one: with the destinations still carrying
//! an earlier deployment's incidents, `run` and `serve` refuse to start over, say what
//! they found and what to do; `--new-state` starts over on purpose, adopting the open
//! issues instead of opening them again and numbering above every incident found.

use super::github::{self, writes};
use super::support::Harness;
use std::path::Path;

/// The state file and its WAL companions gone, as after a lost volume.
async fn lose_state(h: &Harness) -> std::path::PathBuf {
    h.app.store.close().await.unwrap();
    let state = h.dir.path().join("state.db");
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", state.display());
        let _ = std::fs::remove_file(p);
    }
    state
}

fn open_issues(h: &Harness) -> Vec<(String, u64)> {
    let mut out = vec![];
    for (repo, _) in super::support::REPOS {
        for i in h.github().issues(repo).into_iter().filter(|i| i.open) {
            out.push((repo.to_string(), i.number));
        }
    }
    out
}

#[tokio::test]
async fn a_missing_or_empty_state_over_open_issues_is_refused_and_nothing_is_created() {
    let mut h = Harness::options().github().start().await;
    h.run().await;
    h.deliver().await;
    assert_eq!(writes(&h.github().take_log()), github::first_run());
    let state = lose_state(&h).await;
    let err = h.restart_guarded(false).await.unwrap_err().to_string();
    assert!(err.contains("is missing"), "{err}");
    assert!(err.contains("acme/commerce#1"), "names the trace: {err}");
    assert!(
        err.contains("ripple backup") && err.contains("--new-state"),
        "{err}"
    );
    assert!(!state.exists(), "the refusal creates no state file");
    // A 0-byte file (a truncated volume, a `touch`) is refused the same way.
    std::fs::write(&state, b"").unwrap();
    let err = h.restart_guarded(false).await.unwrap_err().to_string();
    assert!(err.contains("is empty"), "{err}");
    assert_eq!(std::fs::metadata(&state).unwrap().len(), 0, "left as found");
    assert!(
        writes(&h.github().take_log()).is_empty(),
        "the probe only reads"
    );
}

#[tokio::test]
async fn new_state_adopts_the_open_issues_and_numbers_above_them() {
    let mut h = Harness::options().github().start().await;
    h.run().await;
    h.deliver().await;
    h.github().take_log();
    let before = open_issues(&h);
    let last = h.app.store.incidents(false).await.unwrap();
    let top = last.iter().map(|i| i.id).max().unwrap();
    lose_state(&h).await;
    h.restart_guarded(true).await.unwrap();
    h.later(60);
    h.run().await;
    h.deliver().await;
    let log = h.github().take_log();
    let created: Vec<_> = log.iter().filter(|r| r.is("POST", "/issues")).collect();
    assert!(created.is_empty(), "no issue opened twice: {created:#?}");
    assert_eq!(open_issues(&h), before, "the same issues stay open");
    // Each adopted issue is told once: its body rewritten for the new incident, a comment.
    let mut expected = std::collections::BTreeMap::new();
    for (repo, _) in &before {
        expected.insert(format!("PATCH /repos/{repo}/issues/N"), 1);
        expected.insert(format!("POST /repos/{repo}/issues/N/comments"), 1);
    }
    assert_eq!(writes(&log), expected);
    for i in h.app.store.incidents(true).await.unwrap() {
        assert!(i.id > top, "#{} is above the earlier #{top}", i.id);
    }
}

#[tokio::test]
async fn a_new_deployment_starts_without_the_flag() {
    let mut h = Harness::options().github().start().await;
    lose_state(&h).await;
    h.restart_guarded(false).await.unwrap();
    assert!(Path::new(&h.dir.path().join("state.db")).exists());
}

#[tokio::test]
async fn slack_roots_and_incident_channels_count_as_an_earlier_deployment() {
    let mut h = Harness::options().slack().start().await;
    h.run().await;
    h.deliver().await;
    assert!(!h.slack().take_sent().is_empty());
    lose_state(&h).await;
    let err = h.restart_guarded(false).await.unwrap_err().to_string();
    assert!(
        err.contains("#data-finance@"),
        "a root in the team channel: {err}"
    );
    assert!(
        err.contains("#inc-20261120-3-orders-without-payment"),
        "an incident channel: {err}"
    );
    assert!(err.contains("--new-state"), "{err}");
    assert!(h.slack().take_sent().is_empty(), "the probe only reads");
}

fn ripple(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let config = dir.join("ripple.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .args(["--config", config.to_str().unwrap()])
        .current_dir(super::support::repo())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn ripple_backup_copies_everything_and_restores_by_putting_it_back() {
    let dir = tempfile::tempdir().unwrap();
    super::support::seed(dir.path());
    let text = super::support::config_text(dir.path(), "");
    std::fs::write(dir.path().join("ripple.yaml"), text).unwrap();
    let (code, out) = ripple(dir.path(), &["run", "--once"]);
    assert_eq!(code, Some(0), "{out}");
    let copy = dir.path().join("copy.db");
    let (code, out) = ripple(dir.path(), &["backup", copy.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = ripple(dir.path(), &["backup", copy.to_str().unwrap()]);
    assert_eq!(code, Some(2), "never overwrites: {out}");
    assert!(out.contains("already exists"), "{out}");
    let (_, listed) = ripple(dir.path(), &["incidents"]);
    // The copy replaces a lost state file and holds the same incidents.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dir.path().join("state.db").display()));
    }
    std::fs::rename(&copy, dir.path().join("state.db")).unwrap();
    let (code, restored) = ripple(dir.path(), &["incidents"]);
    assert_eq!(code, Some(0), "{restored}");
    assert_eq!(restored, listed);
    assert!(listed.contains("#1"), "{listed}");
}

#[tokio::test]
async fn new_state_takes_over_the_open_roots_and_rooms_instead_of_posting_again() {
    let mut h = Harness::options().slack().github().start().await;
    h.run().await;
    h.deliver().await;
    h.slack().take_sent();
    h.github().take_log();
    let (messages, channels) = (h.slack().messages().len(), h.slack().channels().len());
    lose_state(&h).await;
    h.restart_guarded(true).await.unwrap();
    h.later(60);
    h.run().await;
    h.deliver().await;
    h.github().take_log();
    let sent = h.slack().take_sent();
    assert_eq!(h.slack().messages().len(), messages, "no root posted again");
    assert_eq!(h.slack().channels().len(), channels, "no room made again");
    // Each open root edited to its new number; each room's purpose, topic and people
    // set again for the new incident. Nothing else.
    let told: Vec<String> = sent
        .iter()
        .map(|s| format!("{} {}", s.method, s.text.split(" · ").next().unwrap()))
        .map(|t| t.split(':').next().unwrap().to_string())
        .collect();
    let room = |title: &str, of: &str, topic: &str| {
        vec![
            format!("chat.update {title}"),
            format!("conversations.setPurpose {of}"),
            format!("conversations.setTopic [HIGH] {topic}"),
            "conversations.invite U000000SRE,U0000ONCALL".to_string(),
        ]
    };
    let mut expected = vec!["chat.update Incident #4 failing".to_string()];
    expected.extend(room(
        "Incident #5 failing",
        "Incident #5 of point_grants_reference_orders (loyalty)",
        "point_grants_reference_orders",
    ));
    expected.extend(room(
        "Incident #6 failing",
        "Incident #6 of orders_without_payment (commerce)",
        "orders_without_payment",
    ));
    assert_eq!(told, expected, "{sent:#?}");
    for m in h
        .slack()
        .messages()
        .iter()
        .filter(|m| m.thread_ts.is_none())
    {
        let id: i64 = m.metadata["event_payload"]["incident_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(id > 3, "the root's metadata follows the new number: {m:?}");
    }
}
