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

#[derive(serde::Deserialize)]
struct Expected {
    reads: BTreeSet<String>,
    writes: BTreeSet<String>,
    parsed: bool,
    #[serde(default)]
    options: Option<ExtractOptions>,
}

/// Every `fixtures/lineage/<construct>.sql|.sqlx` must match the
/// `<construct>.expected.json` beside it: adding a case is adding two files.
#[test]
fn lineage_fixtures() {
    let dir = crate_dir().join("fixtures/lineage");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("sql" | "sqlx")))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "fixture corpus shrank: {}", files.len());
    let mut mismatches = Vec::new();
    for path in &files {
        let expected_path = path.with_extension("expected.json");
        let expected: Expected = serde_json::from_str(
            &std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|_| panic!("missing {}", expected_path.display())),
        )
        .unwrap();
        let opts = expected.options.clone().unwrap_or_default();
        let sql = std::fs::read_to_string(path).unwrap();
        let got = extract(&sql, &opts);
        if got.reads != expected.reads
            || got.writes != expected.writes
            || got.parsed != expected.parsed
        {
            mismatches.push(format!(
                "{}:\n  want reads={:?} writes={:?} parsed={}\n  got  reads={:?} writes={:?} parsed={}\n  problems={:?}",
                path.file_name().unwrap().to_string_lossy(),
                expected.reads,
                expected.writes,
                expected.parsed,
                got.reads,
                got.writes,
                got.parsed,
                got.problems
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
