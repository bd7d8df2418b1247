//! Impact benchmark (plain `Instant`, no criterion; run with `cargo bench --bench impact`).
//!
//! On a 100,000-table / 1,000,000-edge warehouse-shaped graph with usage statistics for
//! every table, builds the full impact report (downstream walk, scoring, top 10 with
//! paths, people to notify) for 1,000 random broken tables and reports p50/p99. The
//! baseline measured in the same run is the bare downstream walk (`for_each_downstream`)
//! from the same tables. Exits non-zero when p99 ≥ 20 ms, so it is a real check.

#[path = "support/generator.rs"]
mod generator;

use chrono::NaiveDate;
use generator::{Rng, big_table_name, warehouse_edges};
use ripple::impact::Weights;
use ripple::impact::report::{self, ReportOptions};
use ripple::impact::usage::{Consumer, TableUsage, UsageIndex};
use ripple::lineage::Confidence;
use ripple::lineage::graph::{Evidence, EvidenceKind, LineageGraph};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TABLES: usize = 100_000;
const EDGES: usize = 1_000_000;
const QUERIES: usize = 1_000;
const TARGET_P99: Duration = Duration::from_millis(20);

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("impact benchmark: run it with `cargo bench --bench impact`");
        return;
    }
    let started = Instant::now();
    let graph = graph();
    let usage = usage();
    println!(
        "graph: {} tables, {} edges; usage for {} tables; setup {:.1} s",
        graph.node_count(),
        graph.edge_count(),
        usage.len(),
        started.elapsed().as_secs_f64()
    );
    let mut missed = Vec::new();
    // Random tables, and staging tables (each domain's sources): monitors mostly watch
    // upstream tables, whose blast radius is the largest.
    for (label, starts) in [
        ("random tables", starts(false)),
        ("staging tables", starts(true)),
    ] {
        let p99 = scenario(label, &graph, &usage, &starts);
        if p99 >= TARGET_P99 {
            missed.push(format!("{label}: impact p99 {p99:?} >= {TARGET_P99:?}"));
        }
    }
    if !missed.is_empty() {
        for m in missed {
            eprintln!("TARGET MISSED: {m}");
        }
        std::process::exit(1);
    }
    println!("impact target met");
}

/// Times the bare walk (baseline) and the full report from the same start tables.
fn scenario(label: &str, graph: &LineageGraph, usage: &UsageIndex, starts: &[String]) -> Duration {
    let walk = measure(starts, |t| {
        std::hint::black_box(graph.for_each_downstream(t, None, |_, _| {}));
    });
    let opts = options();
    let mut reached = Vec::with_capacity(starts.len());
    let full = measure(starts, |t| {
        let r = report::build(&[t.to_string()], graph, usage, &opts);
        reached.push(r.total_downstream);
    });
    reached.sort_unstable();
    println!(
        "-- {label}: downstream tables per broken table: mean {}, p99 {}, max {}",
        reached.iter().sum::<usize>() / reached.len(),
        reached[reached.len() * 99 / 100],
        reached[reached.len() - 1]
    );
    print("baseline: downstream walk only", &walk);
    print("impact report (rank + top 10 + people)", &full);
    let p99 = percentile(&full, 99);
    println!(
        "p99 ratio report/walk: {:.2}x; target p99 < {} ms",
        p99.as_secs_f64() / percentile(&walk, 99).as_secs_f64().max(1e-9),
        TARGET_P99.as_millis()
    );
    p99
}

fn graph() -> LineageGraph {
    let mut g = LineageGraph::new();
    for i in 0..TABLES as u32 {
        g.add_table(&big_table_name(i));
    }
    let ev = g.add_evidence(Evidence {
        kind: EvidenceKind::Job,
        name: "generated".into(),
    });
    for (a, b) in warehouse_edges(TABLES, EDGES, 7) {
        g.add_edge_ids(a, b, ev, Confidence::High);
    }
    g
}

/// Usage for every table: heavy-tailed reads, a few consumers each.
fn usage() -> UsageIndex {
    let mut rng = Rng::new(11);
    let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let stats: BTreeMap<String, TableUsage> = (0..TABLES as u32)
        .map(|i| {
            let reads = (rng.below(1000) as u64).pow(2) / 1000;
            let users = 1 + rng.below(40) as u64;
            let consumers = (0..users.min(5))
                .map(|u| Consumer {
                    user: format!("user{:04}@acme.example", (u64::from(i) * 7 + u) % 5000),
                    jobs: reads / (u + 1),
                })
                .collect();
            let usage = TableUsage {
                reads,
                users,
                active_days: rng.below(31) as u32,
                last_read: Some(today - chrono::Duration::days(rng.below(60) as i64)),
                top_consumers: consumers,
            };
            (big_table_name(i), usage)
        })
        .collect();
    UsageIndex::new(stats, None)
}

fn options() -> ReportOptions {
    ReportOptions {
        top: 10,
        weights: Weights::default(),
        exclude_users: vec!["*.gserviceaccount.com".into()],
        today: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
    }
}

/// Start tables: uniformly random, or staging (the first 300 of each 1,000-table domain).
fn starts(staging: bool) -> Vec<String> {
    let mut rng = Rng::new(99);
    (0..QUERIES)
        .map(|_| {
            let t = rng.below(TABLES);
            let t = if staging { t - t % 1000 + t % 300 } else { t };
            big_table_name(t as u32)
        })
        .collect()
}

fn measure(starts: &[String], mut f: impl FnMut(&str)) -> Vec<Duration> {
    let mut times: Vec<Duration> = starts
        .iter()
        .map(|t| {
            let t0 = Instant::now();
            f(t);
            t0.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn print(label: &str, sorted: &[Duration]) {
    println!(
        "{label:<42} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
        percentile(sorted, 50).as_secs_f64() * 1e3,
        percentile(sorted, 99).as_secs_f64() * 1e3,
        sorted[sorted.len() - 1].as_secs_f64() * 1e3
    );
}
