//! Lineage benchmark (plain `Instant`, no criterion). Exits non-zero when a
//! target is missed, so it is a real check:
//! - extraction throughput ≥ 0.85 × sqlparser parse-only throughput;
//!
//! `cargo bench --bench lineage -- --write-corpus DIR [--statements N]` only
//! writes the generated corpus to DIR (used by `scripts/bench-lineage-peers`).
//! - the 20,000-statement corpus builds a graph in < 2 s using all cores;
//! - on a 100,000-table / 1,000,000-edge graph, downstream p99 < 20 ms over
//!   1,000 random start tables, and the graph fits in < 400 MB.

#[path = "support/generator.rs"]
mod generator;

use std::time::{Duration, Instant};

use generator::{GeneratedFile, Rng};
use ripple::lineage::graph::LineageGraph;
use ripple::lineage::{Confidence, ExtractOptions, SourcesConfig, build_graph, extract};
use sqlparser::dialect::BigQueryDialect;
use sqlparser::parser::Parser;

const STATEMENTS: usize = 20_000;
const TABLES: usize = 3_000;
const BIG_TABLES: usize = 100_000;
const BIG_EDGES: usize = 1_000_000;
const QUERIES: usize = 1_000;

fn main() {
    let mut failures = Vec::new();
    if let Some(dir) = arg_after("--write-corpus") {
        // For scripts/bench-lineage-peers: the same corpus, on disk.
        let statements = arg_after("--statements").map_or(STATEMENTS, |n| n.parse().unwrap());
        write_corpus(&generator::corpus(statements, TABLES, 42), dir.as_ref());
        return;
    }
    let corpus = generator::corpus(STATEMENTS, TABLES, 42);
    let bytes: usize = corpus.iter().map(|f| f.sql.len()).sum();
    println!(
        "corpus: {STATEMENTS} statements, {TABLES} tables, {:.1} MB",
        bytes as f64 / 1e6
    );

    if std::env::var_os("RIPPLE_BENCH_PROFILE_EXTRACT").is_some() {
        // For `perf record`: extraction only, several passes.
        for _ in 0..5 {
            extraction(&corpus);
        }
        return;
    }
    // Interleaved rounds, best of each: fair when the machine is shared.
    let (mut parse, mut full) = (Duration::MAX, Duration::MAX);
    for _ in 0..4 {
        parse = parse.min(parse_only(&corpus));
        full = full.min(extraction(&corpus));
    }
    let (parse_rate, full_rate) = (rate(parse), rate(full));
    let ratio = full_rate / parse_rate;
    println!("parse-only (sqlparser, 1 thread):   {parse_rate:>9.0} files/s");
    println!("full extraction (1 thread):         {full_rate:>9.0} files/s");
    println!("extraction / parse-only ratio:      {ratio:>9.3}  (target >= 0.85)");
    if ratio < 0.85 {
        failures.push(format!("extraction ratio {ratio:.3} < 0.85"));
    }

    let build = graph_build(&corpus);
    println!(
        "graph build, {STATEMENTS} files, {} threads: {:>7.0} ms  (target < 2000 ms)",
        rayon::current_num_threads(),
        build.as_secs_f64() * 1e3
    );
    if build >= Duration::from_secs(2) {
        failures.push(format!("graph build {build:?} >= 2 s"));
    }

    big_graph(&mut failures);

    if failures.is_empty() {
        println!("all lineage targets met");
    } else {
        for f in &failures {
            eprintln!("TARGET MISSED: {f}");
        }
        std::process::exit(1);
    }
}

fn arg_after(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

fn write_corpus(corpus: &[GeneratedFile], root: &std::path::Path) {
    for f in corpus {
        let p = root.join(&f.path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &f.sql).unwrap();
    }
}

fn rate(d: Duration) -> f64 {
    STATEMENTS as f64 / d.as_secs_f64()
}

fn parse_only(corpus: &[GeneratedFile]) -> Duration {
    let start = Instant::now();
    let mut n = 0;
    for f in corpus {
        n += Parser::parse_sql(&BigQueryDialect, &f.sql).map_or(0, |s| s.len());
    }
    std::hint::black_box(n);
    start.elapsed()
}

fn extraction(corpus: &[GeneratedFile]) -> Duration {
    let opts = ExtractOptions::default();
    let start = Instant::now();
    let mut n = 0;
    for f in corpus {
        let ex = extract(&f.sql, &opts);
        assert!(ex.parsed, "generated statement did not parse: {}", f.sql);
        n += ex.reads.len();
    }
    std::hint::black_box(n);
    start.elapsed()
}

/// Writes the corpus to disk and times `build_graph` over it (file reading,
/// parallel extraction, graph assembly).
fn graph_build(corpus: &[GeneratedFile]) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    write_corpus(corpus, &dir.path().join("sql"));
    let cfg: SourcesConfig = serde_json::from_value(serde_json::json!({
        "default_project": "gen-proj",
        "sources": [{"sql_files": {"root": "sql", "pattern": "{dataset}/{table}/*.sql"}}]
    }))
    .unwrap();
    let run = || {
        let start = Instant::now();
        let built = build_graph(&cfg, dir.path(), &[], &[]);
        (start.elapsed(), built)
    };
    let _warm = run();
    let (mut elapsed, mut built) = run();
    for _ in 0..2 {
        let (e, b) = run();
        if e < elapsed {
            (elapsed, built) = (e, b);
        }
    }
    println!(
        "  graph: {} tables, {} edges, {} files ({} parsed, {} fallback)",
        built.graph.node_count(),
        built.graph.edge_count(),
        built.stats.files,
        built.stats.parsed,
        built.stats.fallback
    );
    assert_eq!(built.stats.files, STATEMENTS);
    elapsed
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn big_graph(failures: &mut Vec<String>) {
    let edges = generator::warehouse_edges(BIG_TABLES, BIG_EDGES, 7);
    let names: Vec<String> = (0..BIG_TABLES as u32)
        .map(generator::big_table_name)
        .collect();
    let before = rss_kb();
    let start = Instant::now();
    let mut g = LineageGraph::new();
    let ev = g.add_evidence(ripple::lineage::graph::Evidence {
        kind: ripple::lineage::graph::EvidenceKind::Manual,
        name: "generated".into(),
    });
    for n in &names {
        g.add_table(n);
    }
    for &(a, b) in &edges {
        g.add_edge_ids(a, b, ev, Confidence::High);
    }
    let built = start.elapsed();
    let mem_mb = rss_kb().saturating_sub(before) as f64 / 1024.0;
    drop(edges);
    println!(
        "big graph: {} tables, {} edges, built in {:.0} ms, memory {mem_mb:.0} MB (RSS delta; target < 400 MB)",
        g.node_count(),
        g.edge_count(),
        built.as_secs_f64() * 1e3
    );
    if mem_mb >= 400.0 {
        failures.push(format!("graph memory {mem_mb:.0} MB >= 400 MB"));
    }
    let mut rng = Rng::new(99);
    let mut times = Vec::with_capacity(QUERIES);
    let mut reached = 0usize;
    let mut max_reached = 0usize;
    for _ in 0..QUERIES {
        let start_table = &names[rng.below(BIG_TABLES)];
        let t = Instant::now();
        let r = g.downstream(start_table, None);
        times.push(t.elapsed());
        reached += r.len();
        max_reached = max_reached.max(r.len());
        std::hint::black_box(r);
    }
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let (p50, p99) = (p(0.50), p(0.99));
    println!(
        "downstream (unlimited depth, with paths) over {QUERIES} random tables: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target p99 < 20 ms); mean reach {:.0}, max reach {max_reached}",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        reached as f64 / QUERIES as f64
    );
    if p99 >= Duration::from_millis(20) {
        failures.push(format!("downstream p99 {p99:?} >= 20 ms"));
    }
    // The allocation-free traversal impact ranking can use, same starts.
    let mut rng = Rng::new(99);
    let mut times = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let start_table = &names[rng.below(BIG_TABLES)];
        let t = Instant::now();
        let n = g.for_each_downstream(start_table, None, |_, _| {});
        times.push(t.elapsed());
        std::hint::black_box(n);
    }
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "for_each_downstream (no paths), same tables: p50 {:.3} ms, p99 {:.3} ms",
        p(0.50).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3
    );
}
