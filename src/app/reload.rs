//! Rule reload without a restart: a file that fails validation keeps its last good
//! version running, and its problems are reported.
//!
//! Pure merge ([`merge`]) plus a cheap change detector ([`RulesWatch`]) that compares
//! the rules folder's file names, sizes and modification times (polling: no inotify
//! dependency, and it works on every file system, network mounts included).

use crate::rules::{Monitor, RuleSet};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The rule set to run after a reload: `fresh`, except that each rule file with a
/// problem keeps its previous monitors. A problem in a non-YAML file (a `sql_file`)
/// cannot be traced to its rule file without the rule, so previous monitors missing
/// from `fresh` are kept while such a problem exists.
pub fn merge(previous: &RuleSet, fresh: RuleSet) -> RuleSet {
    let broken: HashSet<&Path> = fresh.problems.iter().map(|p| p.file.as_path()).collect();
    let sql_problem = broken.iter().any(|f| !is_rule_file(f));
    let had: HashSet<&Path> = previous.monitors.iter().map(|m| m.file.as_path()).collect();
    let fresh_ids: HashSet<&str> = fresh.monitors.iter().map(|m| m.id.as_str()).collect();
    // A broken file that had monitors runs its previous version instead of what is left.
    let keep_old = |f: &Path| broken.contains(f) && had.contains(f);
    let mut monitors: Vec<Monitor> = fresh
        .monitors
        .iter()
        .filter(|m| !keep_old(&m.file))
        .cloned()
        .collect();
    let mut ids: HashSet<String> = monitors.iter().map(|m| m.id.clone()).collect();
    for m in &previous.monitors {
        let missing = !fresh_ids.contains(m.id.as_str());
        if (keep_old(&m.file) || (missing && sql_problem)) && ids.insert(m.id.clone()) {
            monitors.push(m.clone());
        }
    }
    RuleSet {
        monitors,
        problems: fresh.problems,
        files: fresh.files,
    }
}

fn is_rule_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// Notices changes in the rules folder between polls.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RulesWatch {
    stamp: Vec<(PathBuf, u64, Option<SystemTime>)>,
}

impl RulesWatch {
    pub fn new(dir: &Path) -> Self {
        RulesWatch { stamp: stamp(dir) }
    }

    /// True when anything changed since the last call (or `new`).
    pub fn changed(&mut self, dir: &Path) -> bool {
        let now = stamp(dir);
        let changed = now != self.stamp;
        self.stamp = now;
        changed
    }
}

fn stamp(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        match e.metadata() {
            Ok(m) if m.is_dir() => walk(&path, out),
            Ok(m) => out.push((path, m.len(), m.modified().ok())),
            Err(_) => {}
        }
    }
}
