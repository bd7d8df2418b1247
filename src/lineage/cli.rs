//! `ripple lineage …`: extract lineage from files, walk the graph.
//!
//! Exit codes: `0` success; `1` when something could not be done for the
//! data (a path could not be read, `--strict` and some file had problems, the
//! table is not in the graph); `2` usage errors (no lineage sources, bad
//! pattern). Files that needed the fallback scanner are *not* an error by
//! default: their lineage is still produced and their problems are printed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use super::graph::Reached;
use super::sources::{self, PathPattern, SqlFilesSource};
use super::{
    Dialect, ExtractOptions, JobRecord, Problem, ProblemKind, SourceConfig, SourcesConfig,
    ViewDefinition, build_graph, extract,
};

#[derive(Debug, clap::Subcommand)]
pub enum LineageCommand {
    /// Print the tables each SQL file reads and writes (one JSON object per file).
    Extract(ExtractArgs),
    /// Tables downstream of TABLE (what breaks if it breaks).
    Down(WalkArgs),
    /// Tables upstream of TABLE (what it is built from).
    Up(WalkArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// SQL dialect (bigquery, ansi, generic, postgres, snowflake, mysql, duckdb).
    #[arg(long)]
    pub dialect: Option<Dialect>,
    #[arg(long)]
    pub default_project: Option<String>,
    #[arg(long)]
    pub default_dataset: Option<String>,
    /// Exit 1 when any file had problems (fallback, templates, …).
    #[arg(long)]
    pub strict: bool,
    /// Files or directories (.sql/.sqlx, recursive); `-` reads stdin.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub struct WalkArgs {
    /// Fully qualified table name as it appears in the lineage.
    pub table: String,
    /// Maximum number of hops (default: unlimited).
    #[arg(long)]
    pub depth: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Use SQL files under DIR instead of the configured sources.
    #[arg(long)]
    pub sql_dir: Option<PathBuf>,
    /// Path pattern for --sql-dir (default `**/{table}.sql`).
    #[arg(long, requires = "sql_dir")]
    pub pattern: Option<String>,
    #[arg(long)]
    pub dialect: Option<Dialect>,
    #[arg(long)]
    pub default_project: Option<String>,
    #[arg(long)]
    pub default_dataset: Option<String>,
}

/// Runs a lineage command, writing results to `out`; returns the exit code.
pub fn run(
    cmd: LineageCommand,
    cfg: Option<&SourcesConfig>,
    base_dir: &Path,
    views: &[ViewDefinition],
    jobs: &[JobRecord],
    out: &mut dyn Write,
) -> Result<i32> {
    match cmd {
        LineageCommand::Extract(args) => run_extract(args, cfg, out),
        LineageCommand::Down(args) => run_walk(args, true, cfg, base_dir, views, jobs, out),
        LineageCommand::Up(args) => run_walk(args, false, cfg, base_dir, views, jobs, out),
    }
}

#[derive(Serialize)]
struct FileLine<'a> {
    path: String,
    reads: &'a std::collections::BTreeSet<String>,
    writes: &'a std::collections::BTreeSet<String>,
    parsed: bool,
    problems: &'a [Problem],
}

fn run_extract(args: ExtractArgs, cfg: Option<&SourcesConfig>, out: &mut dyn Write) -> Result<i32> {
    let opts = ExtractOptions {
        dialect: args.dialect.or(cfg.map(|c| c.dialect)).unwrap_or_default(),
        default_project: args
            .default_project
            .or_else(|| cfg.and_then(|c| c.default_project.clone())),
        default_dataset: args
            .default_dataset
            .or_else(|| cfg.and_then(|c| c.default_dataset.clone())),
    };
    let mut code = 0;
    for input in inputs(&args.paths) {
        let (path, text) = match input {
            Input::Text(path, text) => (path, text),
            Input::Failed(path, err) => {
                code = 1;
                let problem = Problem::new(ProblemKind::Io, err, None);
                let empty = Default::default();
                write_line(out, path, &empty, &empty, false, &[problem])?;
                continue;
            }
        };
        let ex = extract(&text, &opts);
        if args.strict && !ex.problems.is_empty() {
            code = 1;
        }
        write_line(out, path, &ex.reads, &ex.writes, ex.parsed, &ex.problems)?;
    }
    Ok(code)
}

fn write_line(
    out: &mut dyn Write,
    path: String,
    reads: &std::collections::BTreeSet<String>,
    writes: &std::collections::BTreeSet<String>,
    parsed: bool,
    problems: &[Problem],
) -> Result<()> {
    let line = FileLine {
        path,
        reads,
        writes,
        parsed,
        problems,
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")?;
    Ok(())
}

enum Input {
    Text(String, String),
    Failed(String, String),
}

/// Expands the arguments into texts, lazily so large trees stream.
fn inputs(paths: &[PathBuf]) -> impl Iterator<Item = Input> + '_ {
    paths
        .iter()
        .flat_map(|p| -> Box<dyn Iterator<Item = Input>> {
            if p.as_os_str() == "-" {
                let mut s = String::new();
                return Box::new(std::iter::once(
                    match std::io::stdin().read_to_string(&mut s) {
                        Ok(_) => Input::Text("-".into(), s),
                        Err(e) => Input::Failed("-".into(), e.to_string()),
                    },
                ));
            }
            if p.is_dir() {
                return match sources::list_sql_files(p) {
                    Ok(files) => Box::new(files.into_iter().map(|f| read_input(&f))),
                    Err(e) => Box::new(std::iter::once(Input::Failed(
                        p.display().to_string(),
                        e.to_string(),
                    ))),
                };
            }
            Box::new(std::iter::once(read_input(p)))
        })
}

fn read_input(p: &Path) -> Input {
    let name = p.display().to_string();
    match std::fs::read(p) {
        Ok(bytes) => Input::Text(name, String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => Input::Failed(name, e.to_string()),
    }
}

fn run_walk(
    args: WalkArgs,
    down: bool,
    cfg: Option<&SourcesConfig>,
    base_dir: &Path,
    views: &[ViewDefinition],
    jobs: &[JobRecord],
    out: &mut dyn Write,
) -> Result<i32> {
    let owned;
    let cfg = match (&args.sql_dir, cfg) {
        (Some(dir), base) => {
            let pattern = args
                .pattern
                .clone()
                .unwrap_or_else(|| "**/{table}.sql".into());
            if let Err(e) = PathPattern::parse(&pattern) {
                writeln!(out, "error: --pattern: {e}")?;
                return Ok(2);
            }
            let base = base.cloned().unwrap_or_default();
            owned = SourcesConfig {
                dialect: args.dialect.unwrap_or(base.dialect),
                default_project: args.default_project.clone().or(base.default_project),
                default_dataset: args.default_dataset.clone().or(base.default_dataset),
                sources: vec![SourceConfig::SqlFiles(SqlFilesSource {
                    root: dir.clone(),
                    pattern,
                    project: None,
                    dataset: None,
                    dialect: None,
                })],
            };
            &owned
        }
        (None, Some(cfg)) if !cfg.sources.is_empty() => cfg,
        _ => {
            writeln!(
                out,
                "error: no lineage sources: configure `lineage.sources` in ripple.yaml or pass --sql-dir DIR"
            )?;
            return Ok(2);
        }
    };
    let built = build_graph(cfg, base_dir, views, jobs);
    if !built.graph.contains(&args.table) {
        writeln!(
            out,
            "error: table `{}` is not in the lineage graph ({} tables)",
            args.table,
            built.graph.node_count()
        )?;
        return Ok(1);
    }
    let reached = if down {
        built.graph.downstream(&args.table, args.depth)
    } else {
        built.graph.upstream(&args.table, args.depth)
    };
    render(out, &args.table, down, &reached, args.format)?;
    Ok(0)
}

fn render(
    out: &mut dyn Write,
    start: &str,
    down: bool,
    reached: &[Reached],
    f: Format,
) -> Result<()> {
    match f {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, reached)?;
            writeln!(out)?;
        }
        Format::Text => {
            writeln!(out, "{start}")?;
            for r in reached {
                let arrow = if down { " <- " } else { " -> " };
                let via = if r.path.len() > 2 {
                    format!("{arrow}{}", r.path[r.path.len() - 2])
                } else {
                    String::new()
                };
                writeln!(out, "{}{}{via}", "  ".repeat(r.depth), r.table)?;
            }
        }
        Format::Dot => {
            writeln!(out, "digraph lineage {{\n  rankdir=LR;")?;
            for (a, b) in tree_edges(reached, down) {
                writeln!(out, "  {a:?} -> {b:?};")?;
            }
            writeln!(out, "}}")?;
        }
        Format::Mermaid => {
            writeln!(out, "graph LR")?;
            for (a, b) in tree_edges(reached, down) {
                writeln!(out, "  {}[\"{a}\"] --> {}[\"{b}\"]", node_id(a), node_id(b))?;
            }
        }
    }
    Ok(())
}

/// The BFS tree's edges, oriented in data-flow direction.
fn tree_edges(reached: &[Reached], down: bool) -> Vec<(&str, &str)> {
    reached
        .iter()
        .filter_map(|r| {
            let n = r.path.len();
            let (p, c) = (r.path.get(n.checked_sub(2)?)?, &r.path[n - 1]);
            Some(if down {
                (p.as_str(), c.as_str())
            } else {
                (c.as_str(), p.as_str())
            })
        })
        .collect()
}

fn node_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
