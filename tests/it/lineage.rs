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

/// Cases where Ripple's contract differs from sqllineage on purpose; each is
/// justified in `src/lineage/CONTRACT.md`. The test fails if one of these
/// starts passing (update the list and the doc) or another case fails.
const KNOWN_DIFFERENCES: &[&str] = &[
    // A persistent table created by a script and read later in it stays a node.
    "#6 tests/sql/table/multiple_statements/test_tmp_table.py::test_new_create_tab_as_tmp_table",
    // TRUNCATE TABLE empties a table: a write, so what reads it is downstream of the change.
    "#52 tests/sql/table/test_other_without_lineage.py::test_truncate_table",
    // BigQuery table names are case-sensitive: `tab_b` and `TAB_B` are two tables.
    "#114 tests/sql/table/test_select.py::test_table_name_case_insensitive",
];

#[test]
fn sqllineage_cases() {
    let text =
        std::fs::read_to_string(crate_dir().join("fixtures/sqllineage/table_cases.json")).unwrap();
    let file: CaseFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file.cases.len(), 131);
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
                "differs #{i} {}\n  sql: {:?}\n  sqllineage r={:?} w={:?}\n  ripple     r={:?} w={:?}",
                c.id, c.sql, c.sources, c.targets, got.reads, got.writes
            );
        }
    }
    let passed = file.cases.len() - failed.len();
    eprintln!("sqllineage: {passed}/{} cases agree", file.cases.len());
    assert!(passed >= 125, "only {passed} pass");
    assert_eq!(failed, KNOWN_DIFFERENCES, "the set of differences changed");
}

#[derive(serde::Deserialize)]
struct Expected {
    reads: BTreeSet<String>,
    writes: BTreeSet<String>,
    parsed: bool,
    #[serde(default)]
    options: Option<ExtractOptions>,
    /// When given, the per-statement lineage must match exactly.
    #[serde(default)]
    statements: Option<Vec<ExpectedStatement>>,
    /// When given, the set of problem kinds must match (each with a line).
    #[serde(default)]
    problems: Option<BTreeSet<String>>,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct ExpectedStatement {
    reads: BTreeSet<String>,
    writes: BTreeSet<String>,
}

/// What a fixture's optional `statements` / `problems` expectations say about
/// an extraction; `None` when they hold.
fn detail_mismatch(expected: &Expected, got: &ripple::lineage::Extraction) -> Option<String> {
    if let Some(want) = &expected.statements {
        let have: Vec<ExpectedStatement> = got
            .statements
            .iter()
            .map(|s| ExpectedStatement {
                reads: s.reads.clone(),
                writes: s.writes.clone(),
            })
            .collect();
        if &have != want {
            return Some(format!("statements: want {want:?}\n  got {have:?}"));
        }
    }
    if let Some(want) = &expected.problems {
        let have: BTreeSet<String> = got
            .problems
            .iter()
            .map(|p| {
                serde_json::to_value(p.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        if &have != want || got.problems.iter().any(|p| p.line.is_none()) {
            return Some(format!(
                "problems: want kinds {want:?}\n  got {:?}",
                got.problems
            ));
        }
    }
    None
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
        if let Some(detail) = detail_mismatch(&expected, &got) {
            mismatches.push(format!(
                "{}:\n  {detail}",
                path.file_name().unwrap().to_string_lossy()
            ));
        } else if got.reads != expected.reads
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

fn corpus_dir() -> Option<PathBuf> {
    let dir = crate_dir().join("../shared/corpus/bigquery-utils");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: {} is absent; corpus test not run", dir.display());
        None
    }
}

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sql_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("sql" | "sqlx")) {
            out.push(p);
        }
    }
}

/// All real-world files go through extraction on a worker thread; each must
/// finish within the bound and must not panic. Prints the parse/fallback split.
#[test]
fn bigquery_utils_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let mut files = Vec::new();
    sql_files(&dir, &mut files);
    assert!(files.len() >= 317, "corpus shrank: {}", files.len());
    let (tx, rx) = std::sync::mpsc::channel();
    let worker_files = files.clone();
    std::thread::spawn(move || {
        for path in worker_files {
            let sql = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            let result = std::panic::catch_unwind(|| extract(&sql, &ExtractOptions::default()));
            tx.send((path, result.map_err(|_| ()))).unwrap();
        }
    });
    let (mut parsed, mut fallback, mut tables) = (0, 0, 0);
    for expected in &files {
        let (path, result) = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("extraction hung (>10 s) after {}", expected.display()));
        let ex = result.unwrap_or_else(|_| panic!("extraction panicked on {}", path.display()));
        if ex.parsed {
            parsed += 1;
        } else {
            fallback += 1;
        }
        tables += ex.reads.len() + ex.writes.len();
    }
    eprintln!(
        "bigquery-utils corpus: {} files, {parsed} fully parsed, {fallback} with fallback ({:.1}% parsed), {tables} table references",
        files.len(),
        100.0 * parsed as f64 / files.len() as f64
    );
    assert!(parsed * 100 >= files.len() * 80, "parse rate regressed");
}

#[derive(clap::Parser)]
struct TestCli {
    #[command(subcommand)]
    cmd: ripple::cli::lineage::command::LineageCommand,
}

fn run_cli(args: &[&str], cfg: Option<&SourcesConfig>, base: &Path) -> (i32, String) {
    use clap::Parser;
    let cli =
        TestCli::try_parse_from(std::iter::once("lineage").chain(args.iter().copied())).unwrap();
    let mut out = Vec::new();
    let code = ripple::cli::lineage::command::run(cli.cmd, cfg, base, &[], &[], &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

use ripple::lineage::{JobRecord, SourcesConfig, ViewDefinition, build_graph};

#[test]
fn cli_extract_on_corpus_directory() {
    let Some(dir) = corpus_dir() else { return };
    let (code, out) = run_cli(&["extract", dir.to_str().unwrap()], None, Path::new("."));
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 317);
    let parsed = lines.iter().filter(|l| l["parsed"] == true).count();
    for l in &lines {
        for key in ["path", "reads", "writes", "parsed", "problems"] {
            assert!(l.get(key).is_some(), "missing {key} in {l}");
        }
    }
    eprintln!(
        "cli extract: {} files, {parsed} parsed, {} fallback",
        lines.len(),
        lines.len() - parsed
    );
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn cli_down_up_with_sql_dir_and_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "sql/p/raw/orders_clean/query.sql",
        "SELECT * FROM `p.raw.orders`",
    );
    write(
        d,
        "sql/p/mart/revenue/query.sql",
        "SELECT SUM(x) FROM `p.raw.orders_clean` JOIN p.raw.fx USING (c)",
    );
    write(
        d,
        "sql/p/mart/report/query.sql",
        "SELECT * FROM p.mart.revenue",
    );
    // A cycle, as real warehouses have.
    write(
        d,
        "sql/p/raw/orders/query.sql",
        "SELECT * FROM p.mart.report",
    );
    let sql_dir = d.join("sql");
    let args = [
        "down",
        "p.raw.orders",
        "--sql-dir",
        sql_dir.to_str().unwrap(),
        "--pattern",
        "{project}/{dataset}/{table}/*.sql",
    ];
    let (code, out) = run_cli(&args, None, d);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "p.raw.orders\n  p.raw.orders_clean\n    p.mart.revenue <- p.raw.orders_clean\n      p.mart.report <- p.mart.revenue\n"
    );
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json", "--depth", "1"]);
    let (_, out) = run_cli(&json_args, None, d);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(
        v[0]["path"],
        serde_json::json!(["p.raw.orders", "p.raw.orders_clean"])
    );
    let mut up = args.to_vec();
    up[0] = "up";
    up[1] = "p.mart.revenue";
    up.extend(["--format", "mermaid"]);
    let (_, out) = run_cli(&up, None, d);
    assert!(out.starts_with("graph LR\n"));
    assert!(
        out.contains("p_raw_fx[\"p.raw.fx\"] --> p_mart_revenue[\"p.mart.revenue\"]"),
        "{out}"
    );
    let last = up.len() - 1;
    up[last] = "dot";
    let (_, out) = run_cli(&up, None, d);
    assert!(
        out.contains("\"p.raw.orders_clean\" -> \"p.mart.revenue\";"),
        "{out}"
    );
    // Usage errors and unknown tables.
    assert_eq!(run_cli(&["down", "x"], None, d).0, 2);
    let (code, _) = run_cli(
        &["down", "nope", "--sql-dir", sql_dir.to_str().unwrap()],
        None,
        d,
    );
    assert_eq!(code, 1);
}

#[test]
fn build_graph_from_config_views_and_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "models/stg_orders.sql",
        "select * from {{ source('raw', 'orders') }}",
    );
    write(
        d,
        "models/fct_orders.sql",
        "select * from {{ ref('stg_orders') }}",
    );
    write(
        d,
        "models/script.sql",
        "CREATE TEMP TABLE t AS SELECT * FROM mart.stg_orders; INSERT INTO mart.agg SELECT * FROM t",
    );
    let cfg: SourcesConfig = serde_json::from_value(serde_json::json!({
        "default_project": "p",
        "sources": [
            {"sql_files": {"root": "models", "pattern": "{table}.sql", "dataset": "mart"}},
            {"views": {}},
            {"jobs": {"days": 7}}
        ]
    }))
    .unwrap();
    let views = [ViewDefinition {
        name: "p.mart.v".into(),
        sql: "SELECT * FROM p.mart.agg".into(),
    }];
    let jobs = [
        JobRecord {
            query: "SELECT * FROM p.mart.v".into(),
            destination: Some("p.adhoc.out".into()),
            user: Some("a@x".into()),
        },
        JobRecord {
            query: "SELECT * FROM p.mart.v".into(),
            destination: Some("p._abc123.anon".into()),
            user: None,
        },
    ];
    let built = build_graph(&cfg, d, &views, &jobs);
    let mut down: Vec<(usize, String)> = built
        .graph
        .downstream("p.raw.orders", None)
        .into_iter()
        .map(|r| (r.depth, r.table))
        .collect();
    down.sort();
    let want = [
        (1, "p.mart.stg_orders"),
        (2, "p.mart.agg"),
        (2, "p.mart.fct_orders"),
        (3, "p.mart.v"),
        (4, "p.adhoc.out"),
    ];
    assert_eq!(down, want.map(|(d, t)| (d, t.to_string())));
    assert!(
        !built.graph.contains("t"),
        "temp table leaked into the graph"
    );
    assert!(!built.graph.contains("p._abc123.anon"));
    assert_eq!(
        (built.stats.files, built.stats.views, built.stats.jobs),
        (3, 1, 2)
    );
}

/// Pathological inputs: deep nesting, long operator chains, giant lists.
fn pathological() -> Vec<String> {
    let mut v = vec![
        format!("SELECT {}1{}", "(".repeat(5_000), ")".repeat(5_000)),
        "(".repeat(5_000),
        format!("SELECT * FROM {}t{}", "(".repeat(5_000), ")".repeat(5_000)),
        format!("SELECT 1{}", " + a".repeat(50_000)),
        format!(
            "SELECT * FROM t WHERE x IN ({})",
            vec!["1"; 50_000].join(",")
        ),
        format!("SELECT {} FROM t", "CASE WHEN a THEN ".repeat(2_000)),
        "WITH a AS (".repeat(3_000),
        format!("{}SELECT 1", "SELECT * FROM (".repeat(3_000)),
        "BEGIN ".repeat(5_000),
        "{{ ".repeat(5_000) + "}}",
        "${".repeat(5_000),
        "config { ".repeat(3_000),
        "'".to_string(),
        "`a.b".to_string(),
        "/*".to_string(),
        "SELECT \"\"\"".to_string(),
        ";".repeat(10_000),
        "CREATE TABLE t AS ".repeat(2_000) + "SELECT 1",
        "CREATE PROCEDURE p() BEGIN ".repeat(500),
        "\u{0}\u{FEFF}SELECT \u{1F600} FROM `\u{e9}t\u{e9}`".to_string(),
    ];
    v.push(format!(
        "SELECT a FROM t1{}",
        " JOIN t ON a = b".repeat(5_000)
    ));
    v
}

/// Deterministic fuzzing: truncations and byte flips of every fixture plus
/// pathological inputs, on a 2 MiB thread (like rayon workers), each under a
/// time bound. Must not panic, overflow the stack or hang.
#[test]
fn fuzz_mutations_terminate() {
    let dir = crate_dir().join("fixtures/lineage");
    let mut inputs = pathological();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    for p in fixtures
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sql" || e == "sqlx"))
    {
        let text = std::fs::read(p).unwrap();
        for _ in 0..8 {
            let cut = (next() as usize) % (text.len() + 1);
            inputs.push(String::from_utf8_lossy(&text[..cut]).into_owned());
            let mut flipped = text.clone();
            for _ in 0..4 {
                let i = (next() as usize) % flipped.len().max(1);
                if let Some(b) = flipped.get_mut(i) {
                    *b = b"()'`\";{}$*.,-#\n\\"[(next() as usize) % 16];
                }
            }
            inputs.push(String::from_utf8_lossy(&flipped).into_owned());
        }
    }
    let total = inputs.len();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            for (i, sql) in inputs.into_iter().enumerate() {
                if std::env::var_os("FUZZ_TRACE").is_some() {
                    eprintln!("input #{i}: {:?}", &sql[..sql.len().min(60)]);
                }
                for dialect in [Dialect::BigQuery, Dialect::Ansi] {
                    let opts = ExtractOptions {
                        dialect,
                        ..Default::default()
                    };
                    let r = std::panic::catch_unwind(|| extract(&sql, &opts));
                    if r.is_err() {
                        tx.send(Err(format!(
                            "panic on input #{i}: {:?}",
                            &sql[..sql.len().min(200)]
                        )))
                        .unwrap();
                        return;
                    }
                }
                tx.send(Ok(i)).unwrap();
            }
        })
        .unwrap();
    for _ in 0..total {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("an input did not terminate within 30 s"),
        }
    }
    eprintln!("fuzz: {total} inputs × 2 dialects terminated without panic");
}
