//! The house's one-way wiring, checked on the source: the layers of `lib.rs` import only
//! downwards, and no two top-level modules import each other, directly or round a loop.
//! A change that closes a cycle fails here with the files that close it.

use super::support::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names as `crate::…`.
fn imports() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = repo().join("src");
    let tops: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .filter(|t| t != "lib" && t != "main")
        .collect();
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in rust_files(&src) {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let top = rel.split(['/', '.']).next().unwrap().to_string();
        if !tops.contains(&top) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Test modules may reach anywhere; only shipped code is wired one way.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for target in named_modules(code, &tops) {
            if target != top {
                let entry = out.entry(top.clone()).or_default();
                entry.entry(target).or_default().insert(rel.clone());
            }
        }
    }
    out
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// Every `crate::name` and `crate::{a, b::…}` outside comments.
fn named_modules(code: &str, tops: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap();
        for part in line.split("crate::").skip(1) {
            let names = match part.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap().to_string(),
                None => part.to_string(),
            };
            for word in names.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                let first = word.split("::").next().unwrap();
                if tops.contains(first) {
                    out.insert(first.to_string());
                }
                if part.starts_with('{') {
                    continue;
                }
                break;
            }
        }
    }
    out
}

/// The modules reachable from `from` through imports.
fn reach(
    graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    from: &str,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for next in graph.get(&m).into_iter().flat_map(|t| t.keys()) {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let graph = imports();
    let mut cycles = vec![];
    for (a, targets) in &graph {
        for (b, files) in targets {
            if reach(&graph, b).contains(a) {
                cycles.push(format!("{a} → {b} (in {files:?}) and back"));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_bottom_of_the_house_imports_nothing_above_it() {
    let graph = imports();
    let forbidden: &[(&str, &[&str])] = &[
        (
            "config",
            &[
                "app",
                "rules",
                "slack",
                "github",
                "console",
                "store",
                "notify",
                "warehouse",
            ],
        ),
        (
            "store",
            &["notify", "rules", "impact", "slack", "github", "app"],
        ),
        ("notify", &["slack", "github", "console", "app"]),
        ("incident", &["store", "notify", "app", "warehouse"]),
        ("lineage", &["app", "store", "warehouse", "impact"]),
        ("impact", &["app", "store", "warehouse", "notify"]),
        ("command", &["app", "slack"]),
    ];
    let mut wrong = vec![];
    for (module, banned) in forbidden {
        for (target, files) in graph.get(*module).into_iter().flatten() {
            if banned.contains(&target.as_str()) {
                wrong.push(format!("{module} imports {target} in {files:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn bounds_is_a_leaf() {
    let graph = imports();
    let imported: Vec<&String> = graph
        .get("bounds")
        .into_iter()
        .flat_map(|t| t.keys())
        .collect();
    assert!(imported.is_empty(), "bounds imports {imported:?}");
    assert!(
        graph
            .get("config")
            .is_some_and(|t| t.contains_key("bounds")),
        "config checks its defaults against bounds"
    );
}
