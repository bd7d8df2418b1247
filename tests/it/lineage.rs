//! Lineage engine integration tests: fixture snapshots, the sqllineage
//! yardstick, the real-world corpus, the CLI and a bounded fuzz pass.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ripple::lineage::{Dialect, ExtractOptions, extract};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    sql: String,
    dialect: String,
    sources: Vec<String>,
    targets: Vec<String>,
}

#[derive(serde::Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

fn norm(names: &[String]) -> BTreeSet<String> {
    names
        .iter()
        .map(|n| n.strip_prefix("<default>.").unwrap_or(n).to_string())
        .collect()
}

#[test]
fn sqllineage_cases() {
    let text =
        std::fs::read_to_string(crate_dir().join("fixtures/sqllineage/table_cases.json")).unwrap();
    let file: CaseFile = serde_json::from_str(&text).unwrap();
    let mut failed = Vec::new();
    for (i, c) in file.cases.iter().enumerate() {
        let opts = ExtractOptions {
            dialect: c.dialect.parse::<Dialect>().unwrap(),
            ..Default::default()
        };
        let got = extract(&c.sql, &opts);
        if got.reads != norm(&c.sources) || got.writes != norm(&c.targets) {
            failed.push(format!("#{i} {}", c.id));
            eprintln!(
                "FAIL #{i} {}\n  sql: {:?}\n  want r={:?} w={:?}\n  got  r={:?} w={:?} parsed={} {:?}",
                c.id, c.sql, c.sources, c.targets, got.reads, got.writes, got.parsed, got.problems
            );
        }
    }
    let passed = file.cases.len() - failed.len();
    eprintln!("sqllineage: {passed}/{} passed", file.cases.len());
    assert!(passed >= 125, "{failed:#?}");
}
