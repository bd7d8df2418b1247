//! A stable-toolchain fuzz harness for lineage extraction: generated SQL-ish
//! input (a small grammar plus a token soup with every construct the
//! extractor special-cases) and mutations of the `fixtures/lineage` corpus
//! (splices, duplications, deletions, byte flips, truncations).
//!
//! Each input runs on a worker thread with a 2 MiB stack (like rayon's), and
//! must return without panicking within a per-input bound; the result must
//! be self-consistent (per-statement sets are subsets of the file's sets).
//! The run is bounded by time: `RIPPLE_FUZZ_SECS` (default 8 s, so the suite
//! stays fast in debug) and `RIPPLE_FUZZ_SEED` pick a longer or different run:
//!
//! ```text
//! RIPPLE_FUZZ_SECS=600 RIPPLE_FUZZ_SEED=7 cargo test --release --test it lineage_fuzz -- --nocapture
//! ```

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::generator::Rng;
use ripple::lineage::{Dialect, ExtractOptions, extract};

/// Fragments the extractor treats specially, glued at random.
const SOUP: &[&str] = &[
    "SELECT ",
    "FROM ",
    "JOIN ",
    "WITH ",
    "RECURSIVE ",
    " AS ",
    "(",
    ")",
    ";",
    ",",
    ".",
    "*",
    "BEGIN ",
    "END ",
    "END IF",
    "IF ",
    "THEN ",
    "ELSE ",
    "CASE ",
    "WHEN ",
    "WHILE ",
    "DO ",
    "LOOP ",
    "REPEAT ",
    "FOR ",
    "MERGE ",
    "USING ",
    "INSERT ",
    "INTO ",
    "UPDATE ",
    "SET ",
    "DELETE ",
    "TRUNCATE TABLE ",
    "LOAD DATA INTO ",
    "CREATE TEMP TABLE ",
    "CREATE TEMP FUNCTION f() AS ",
    "CREATE OR REPLACE TABLE ",
    "CREATE PROCEDURE p() ",
    "DROP TABLE ",
    "ALTER TABLE ",
    " RENAME TO ",
    "EXECUTE IMMEDIATE ",
    "DECLARE x ",
    "EXTERNAL_QUERY('c', 'SELECT 1')",
    "UNNEST(",
    "_SESSION.",
    "t.arr",
    "my-project-123.d.t",
    "`p.d.t`",
    "`{{ project }}.ds.t`",
    "{{ ref('m') }}",
    "{{ ",
    "}}",
    "{% if x %}",
    "{%",
    "%}",
    "{#",
    "#}",
    "${ref(\"t\")}",
    "${",
    "}",
    "config { type: \"table\" }\n",
    "|> ",
    "|> WHERE ",
    "'",
    "'''",
    "\"",
    "\"\"\"",
    "`",
    "--",
    "\n",
    "/*",
    "*/",
    "#",
    "\\",
    "1 << 2",
    " + ",
    "EXTRACT(YEAR FROM d)",
    "ds.t",
    "x",
    "\u{e9}",
    "\u{1F600}",
    "\0",
];

/// A little grammar for queries that mostly parse, so the walker (not only
/// the fallback scanner) is exercised at depth.
fn query(rng: &mut Rng, depth: u32, out: &mut String) {
    if depth > 0 && rng.below(4) == 0 {
        out.push_str("WITH c AS (");
        query(rng, depth - 1, out);
        out.push_str(") ");
    }
    out.push_str("SELECT ");
    expr(rng, depth, out);
    out.push_str(" FROM ");
    from_item(rng, depth, out);
    for _ in 0..rng.below(3) {
        out.push_str(" JOIN ");
        from_item(rng, depth, out);
        out.push_str(" ON ");
        expr(rng, depth, out);
    }
    if rng.below(2) == 0 {
        out.push_str(" WHERE ");
        expr(rng, depth, out);
    }
}

fn from_item(rng: &mut Rng, depth: u32, out: &mut String) {
    match rng.below(6) {
        0 if depth > 0 => {
            out.push('(');
            query(rng, depth - 1, out);
            out.push_str(") AS s");
        }
        1 => out.push_str("UNNEST(t.arr) AS a"),
        2 => out.push_str("EXTERNAL_QUERY('p.us.c', 'SELECT 1')"),
        3 => out.push_str("`my-project-123.d.t` t"),
        4 => out.push('c'),
        _ => {
            let n = rng.below(50);
            out.push_str(&format!("ds_{}.t_{n} t", n % 5));
        }
    }
}

fn expr(rng: &mut Rng, depth: u32, out: &mut String) {
    match rng.below(6) {
        0 if depth > 0 => {
            out.push_str("(SELECT MAX(x) FROM ");
            from_item(rng, depth - 1, out);
            out.push(')');
        }
        1 if depth > 0 => {
            out.push_str("CASE WHEN ");
            expr(rng, depth - 1, out);
            out.push_str(" THEN 1 ELSE 2 END");
        }
        2 => out.push_str("t.x IN (1, 2)"),
        3 => out.push_str("a << 2"),
        _ => out.push_str("t.x"),
    }
}

fn soup(rng: &mut Rng) -> String {
    let n = 1 + rng.below(60);
    (0..n).map(|_| SOUP[rng.below(SOUP.len())]).collect()
}

fn generated(rng: &mut Rng) -> String {
    let mut s = String::new();
    match rng.below(3) {
        0 => s = soup(rng),
        1 => {
            let depth = 1 + rng.below(4) as u32;
            query(rng, depth, &mut s)
        }
        _ => {
            for _ in 0..1 + rng.below(4) {
                match rng.below(3) {
                    0 => s.push_str("INSERT INTO ds.out "),
                    1 => s.push_str("CREATE TEMP TABLE tmp AS "),
                    _ => {}
                }
                let depth = rng.below(3) as u32;
                query(rng, depth, &mut s);
                s.push_str(&soup(rng));
                s.push_str(";\n");
            }
        }
    }
    s
}

/// One mutation of a fixture text, on bytes (so UTF-8 can break; the input is
/// then made valid lossily, as file reading does).
fn mutated(rng: &mut Rng, fixture: &[u8]) -> String {
    let mut b = fixture.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len().max(1);
        let (i, j) = {
            let a = rng.below(len + 1).min(b.len());
            let c = rng.below(len + 1).min(b.len());
            (a.min(c), a.max(c))
        };
        match rng.below(5) {
            0 => b.truncate(i),
            1 => {
                b.drain(i..j);
            }
            2 => {
                let piece: Vec<u8> = b[i..j].to_vec();
                b.splice(i..i, piece.iter().cycle().take(piece.len() * 3).copied());
            }
            3 => {
                let frag = SOUP[rng.below(SOUP.len())].as_bytes();
                b.splice(i..i, frag.iter().copied());
            }
            _ => {
                const BYTES: &[u8] = b"()'`\";{}$*.,-#\n\\|%";
                if let Some(x) = b.get_mut(i) {
                    *x = BYTES[rng.below(BYTES.len())];
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/lineage");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql" || e == "sqlx"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Checks one input in every way the harness knows; `Err` describes a failure.
fn check(sql: &str, dialect: Dialect) -> Result<(), String> {
    let opts = ExtractOptions {
        dialect,
        default_project: Some("p".into()),
        default_dataset: Some("d".into()),
    };
    let ex = std::panic::catch_unwind(|| extract(sql, &opts)).map_err(|_| "panic".to_string())?;
    for s in &ex.statements {
        if !s.reads.is_subset(&ex.reads) || !s.writes.is_subset(&ex.writes) {
            return Err("a statement's tables are not in the file's".into());
        }
    }
    Ok(())
}

#[test]
fn lineage_fuzz_generated_and_mutated() {
    let budget = Duration::from_secs(env_u64("RIPPLE_FUZZ_SECS", 8));
    let seed = env_u64("RIPPLE_FUZZ_SEED", 17);
    let corpus = fixtures();
    let (tx, rx) = mpsc::channel::<Result<usize, String>>();
    // The input being checked, for the report when it hangs.
    let current = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let shared = current.clone();
    let worker = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let mut rng = Rng::new(seed);
            let started = Instant::now();
            let mut n = 0usize;
            while started.elapsed() < budget {
                let sql = if rng.below(2) == 0 {
                    generated(&mut rng)
                } else {
                    let pick = rng.below(corpus.len());
                    mutated(&mut rng, &corpus[pick])
                };
                let dialect = [Dialect::BigQuery, Dialect::Ansi][rng.below(2)];
                shared.lock().unwrap().clone_from(&sql);
                if let Err(e) = check(&sql, dialect) {
                    let _ = tx.send(Err(format!("{e} on input #{n} (seed {seed}): {sql:?}")));
                    return;
                }
                n += 1;
                // A heartbeat per input, so a hang is caught at once.
                if tx.send(Ok(n)).is_err() {
                    return;
                }
            }
        })
        .unwrap();
    let mut done = 0;
    loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(n)) => done = n,
            Ok(Err(e)) => panic!("{e}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let sql = current.lock().unwrap().clone();
                panic!("input #{done} did not terminate within 10 s (seed {seed}): {sql:?}")
            }
        }
    }
    worker.join().unwrap();
    assert!(done > 100, "only {done} inputs in {budget:?}");
    eprintln!("lineage fuzz: {done} inputs in {budget:?} (seed {seed}), no panic, no hang");
}
