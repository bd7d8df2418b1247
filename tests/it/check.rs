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
