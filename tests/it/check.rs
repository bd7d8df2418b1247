//! `ripple check` through the real binary: exact messages and exit codes.

use super::support::repo;
use std::process::Command;

fn ripple(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(repo())
        .env_remove("RIPPLE_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn bundled_rules_are_valid() {
    let out = ripple(&["check", "rules"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("13 monitor(s) valid, 0 problem(s)"),
        "{stderr}"
    );
}

#[test]
fn every_bad_rule_is_reported_with_its_position() {
    let out = ripple(&["check", "fixtures/rules_bad"]);
    assert_eq!(out.status.code(), Some(1));
    let expected = std::fs::read_to_string(repo().join("fixtures/rules_bad/expected.txt")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    // One mistake per file: every file but the expectations is named exactly once.
    let files = std::fs::read_dir(repo().join("fixtures/rules_bad")).unwrap();
    for f in files.map(|f| f.unwrap().file_name().into_string().unwrap()) {
        if f.ends_with(".yaml") {
            let hits = expected
                .lines()
                .filter(|l| l.contains(&format!("/{f}:")))
                .count();
            assert_eq!(hits, 1, "{f} should have exactly one problem");
        }
    }
}

#[test]
fn a_broken_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ripple.yaml");
    std::fs::write(&cfg, "warehouse:\n  kind: sqlite\n  path: x\nslak: {}\n").unwrap();
    let out = ripple(&["--config", cfg.to_str().unwrap(), "check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ripple.yaml:4:1: unknown key `slak`"),
        "{stderr}"
    );
}

#[test]
fn run_needs_once() {
    let out = ripple(&["run"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `ripple check` with a deadline: a hang fails the test instead of blocking it.
fn ripple_within(args: &[&str], limit: std::time::Duration) -> std::process::Output {
    let child = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(repo())
        .env_remove("RIPPLE_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("ripple {args:?} hung");
    })
}

/// A FIFO, `/dev/zero` (through a symlink), `/etc/passwd` and a 1.1 MB file as
/// `sql_file`, a rule file that is a FIFO, a symlink loop in the folder: each file is a
/// clear, located error that quotes nothing of the file, the check ends at once, and
/// the good monitor beside them stays valid.
#[test]
fn hostile_sql_files_are_refused_without_hanging_or_echoing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let status = Command::new("mkfifo")
        .arg(rules.join("fifo.sql"))
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new("mkfifo")
        .arg(rules.join("fifo.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink(".", rules.join("loop")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", rules.join("zero.sql")).unwrap();
    std::fs::write(rules.join("big.sql"), "-- padding\n".repeat(100_000)).unwrap();
    std::fs::write(
        rules.join("good.sql"),
        "SELECT id FROM shop.orders WHERE amount < 0",
    )
    .unwrap();
    let rule = |id: &str, file: &str| {
        format!(
            "  - id: {id}\n    team: commerce\n    schedule: {{ cron: \"0 * * * *\" }}\n    sql_file: {file}\n"
        )
    };
    let text = format!(
        "monitors:\n{}{}{}{}{}",
        rule("fifo", "fifo.sql"),
        rule("zero", "zero.sql"),
        rule("passwd", "/etc/passwd"),
        rule("big", "big.sql"),
        rule("good", "good.sql"),
    );
    std::fs::write(rules.join("r.yaml"), text).unwrap();
    let out = ripple_within(
        &["check", rules.to_str().unwrap()],
        std::time::Duration::from_secs(20),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let r = rules.join("r.yaml");
    let r = r.display();
    let root = rules.display();
    let expected = [
        format!(
            "{root}/fifo.yaml:1:1: `{root}/fifo.yaml` is a named pipe (FIFO), not a regular file; only regular files are read"
        ),
        format!(
            "{r}:5:15: sql_file: `{root}/fifo.sql` is a named pipe (FIFO), not a regular file; only regular files are read"
        ),
        format!(
            "{r}:9:15: sql_file `zero.sql` is outside the rules folder `{root}`; keep a monitor's SQL in the rules folder (no absolute paths, `..` or symlinks out of it)"
        ),
        format!(
            "{r}:13:15: sql_file `/etc/passwd` is outside the rules folder `{root}`; keep a monitor's SQL in the rules folder (no absolute paths, `..` or symlinks out of it)"
        ),
        format!(
            "{r}:17:15: sql_file: `{root}/big.sql` is 1100000 bytes, over the 1048576-byte limit; a monitor's SQL is a query, not data"
        ),
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
    assert!(!stdout.contains("root:"), "{stdout}");
    assert!(
        stderr.contains("1 monitor(s) valid, 5 problem(s)"),
        "{stderr}"
    );
}
