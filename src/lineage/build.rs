//! Building the lineage graph from every configured source.
//!
//! Units of work (files, views, jobs) are gathered first, extracted in
//! parallel with rayon (extraction is pure; files are read in the parallel
//! phase through [`super::files`], with its size limit and regular-file rule),
//! then folded into the graph sequentially in input order so the result is
//! deterministic. View and job texts are borrowed, never copied.

use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::files::{self, Listed};
use super::graph::{Evidence, EvidenceKind, LineageGraph};
use super::sources::{self, PathPattern, SourceConfig, SqlFilesSource};
use super::{
    ExtractOptions, Extraction, JobRecord, Problem, ProblemKind, SourcesConfig, ViewDefinition,
    extract_for,
};

/// A problem, with where it was found (file path, `view:<name>`, `job:<n>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceProblem {
    pub source: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildStats {
    pub files: usize,
    pub views: usize,
    pub jobs: usize,
    /// Units sqlparser parsed completely.
    pub parsed: usize,
    /// Units where the fallback scanner was used.
    pub fallback: usize,
    pub statements: usize,
    pub tables: usize,
    pub edges: usize,
    pub elapsed_ms: u128,
}

#[derive(Debug, Clone, Default)]
pub struct GraphBuild {
    pub graph: LineageGraph,
    pub problems: Vec<SourceProblem>,
    pub stats: BuildStats,
}

/// One piece of SQL to extract; file contents are read in the parallel phase.
struct Unit<'a> {
    evidence: Evidence,
    text: Text<'a>,
    /// Table the text produces when it writes nothing itself.
    target: Option<String>,
    opts: ExtractOptions,
}

enum Text<'a> {
    Inline(&'a str),
    File(std::path::PathBuf),
}

/// Builds the graph from the configured sources. `base_dir` resolves relative
/// `sql_files.root` paths (normally the directory of `ripple.yaml`). Views and
/// jobs are used only when a `views` / `jobs` source is configured.
pub fn build_graph(
    cfg: &SourcesConfig,
    base_dir: &Path,
    views: &[ViewDefinition],
    jobs: &[JobRecord],
) -> GraphBuild {
    let started = Instant::now();
    let mut problems = Vec::new();
    let mut units = Vec::new();
    let mut stats = BuildStats::default();
    for src in &cfg.sources {
        match src {
            SourceConfig::SqlFiles(s) => {
                let before = units.len();
                file_units(cfg, s, base_dir, &mut units, &mut problems);
                stats.files += units.len() - before;
            }
            SourceConfig::Views(_) => {
                units.extend(views.iter().map(|v| view_unit(cfg, v)));
                stats.views += views.len();
            }
            SourceConfig::Jobs(_) => {
                units.extend(jobs.iter().enumerate().map(|(i, j)| job_unit(cfg, i, j)));
                stats.jobs += jobs.len();
            }
        }
    }
    let max_bytes = cfg.max_file_bytes;
    let extracted: Vec<Result<Extraction, Problem>> = units
        .par_iter()
        .map(|u| match &u.text {
            Text::Inline(t) => Ok(extract_for(t, &u.opts, u.target.as_deref())),
            Text::File(p) => files::read_sql_file(p, max_bytes)
                .map(|t| extract_for(&t, &u.opts, u.target.as_deref())),
        })
        .collect();
    let mut graph = LineageGraph::new();
    for (unit, ex) in units.into_iter().zip(extracted) {
        match ex {
            Ok(ex) => add_unit(&mut graph, unit, ex, &mut stats, &mut problems),
            Err(problem) => problems.push(SourceProblem {
                source: unit.evidence.name,
                problem,
            }),
        }
    }
    stats.tables = graph.node_count();
    stats.edges = graph.edge_count();
    stats.elapsed_ms = started.elapsed().as_millis();
    GraphBuild {
        graph,
        problems,
        stats,
    }
}

fn options(cfg: &SourcesConfig) -> ExtractOptions {
    ExtractOptions {
        dialect: cfg.dialect,
        default_project: cfg.default_project.clone(),
        default_dataset: cfg.default_dataset.clone(),
    }
}

fn file_units(
    cfg: &SourcesConfig,
    src: &SqlFilesSource,
    base_dir: &Path,
    units: &mut Vec<Unit<'_>>,
    problems: &mut Vec<SourceProblem>,
) {
    let root = base_dir.join(&src.root);
    let fail = |msg: String| SourceProblem {
        source: root.display().to_string(),
        problem: Problem::new(ProblemKind::Io, msg, None),
    };
    let pattern = match PathPattern::parse(&src.pattern) {
        Ok(p) => p,
        Err(e) => return problems.push(fail(e)),
    };
    let listed = match files::list_sql_files(&root) {
        Ok(f) => f,
        Err(e) => return problems.push(fail(format!("cannot list SQL files: {e}"))),
    };
    let mut opts = options(cfg);
    opts.dialect = src.dialect.unwrap_or(cfg.dialect);
    opts.default_project = src.project.clone().or(opts.default_project);
    opts.default_dataset = src.dataset.clone().or(opts.default_dataset);
    for entry in listed {
        let path = match entry {
            Listed::File(p) => p,
            Listed::Skipped(p, problem) => {
                problems.push(SourceProblem {
                    source: p.display().to_string(),
                    problem,
                });
                continue;
            }
        };
        let rel = path.strip_prefix(&root).unwrap_or(&path);
        let Some(caps) = pattern.matches(rel) else {
            continue;
        };
        units.push(Unit {
            evidence: Evidence {
                kind: EvidenceKind::File,
                name: path.display().to_string(),
            },
            target: sources::target_of(&caps, src, cfg),
            text: Text::File(path),
            opts: opts.clone(),
        });
    }
}

fn view_unit<'a>(cfg: &SourcesConfig, v: &'a ViewDefinition) -> Unit<'a> {
    Unit {
        evidence: Evidence {
            kind: EvidenceKind::View,
            name: v.name.clone(),
        },
        text: Text::Inline(&v.sql),
        target: Some(v.name.clone()),
        opts: options(cfg),
    }
}

/// A SELECT job's destination is its result table; BigQuery's anonymous
/// result datasets start with `_` and are not lineage.
fn job_unit<'a>(cfg: &SourcesConfig, i: usize, j: &'a JobRecord) -> Unit<'a> {
    let target = j.destination.clone().filter(|d| {
        !d.split('.')
            .rev()
            .nth(1)
            .is_some_and(|ds| ds.starts_with('_'))
    });
    Unit {
        evidence: Evidence {
            kind: EvidenceKind::Job,
            name: match &j.user {
                Some(u) => format!("job:{i} ({u})"),
                None => format!("job:{i}"),
            },
        },
        text: Text::Inline(&j.query),
        target,
        opts: options(cfg),
    }
}

/// Folds one extraction into the graph: every statement's reads feed its
/// writes; a text that writes nothing feeds its mapped target.
fn add_unit(
    graph: &mut LineageGraph,
    unit: Unit<'_>,
    ex: Extraction,
    stats: &mut BuildStats,
    problems: &mut Vec<SourceProblem>,
) {
    if ex.parsed {
        stats.parsed += 1;
    } else {
        stats.fallback += 1;
    }
    stats.statements += ex.statements.len();
    let source = unit.evidence.name.clone();
    let ev = graph.add_evidence(unit.evidence);
    for t in ex.reads.iter().chain(&ex.writes) {
        graph.add_table(t);
    }
    match (&unit.target, ex.writes.is_empty()) {
        (Some(target), true) => {
            let confidence = ex
                .statements
                .iter()
                .map(|s| s.confidence)
                .min()
                .unwrap_or(super::Confidence::High);
            graph.add_table(target);
            for r in &ex.reads {
                graph.add_edge(r, target, ev, confidence);
            }
        }
        _ => {
            for s in &ex.statements {
                for r in &s.reads {
                    for w in &s.writes {
                        graph.add_edge(r, w, ev, s.confidence);
                    }
                }
            }
        }
    }
    problems.extend(ex.problems.into_iter().map(|problem| SourceProblem {
        source: source.clone(),
        problem,
    }));
}
