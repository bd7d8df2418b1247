//! `ripple lineage …`: extract lineage from files, walk the graph.
//!
//! Exit codes: `0` success; `1` when something could not be done for the
//! data (a path could not be read, `--strict` and some file had problems, the
//! table is not in the graph); `2` usage errors (no lineage sources, bad
//! pattern). Files that needed the fallback scanner are *not* an error by
//! default: their lineage is still produced and their problems are printed.
//! Nor are deliberately skipped paths (`skipped`: a FIFO or device, a file over
//! the size limit, a directory reached again through a symlink), which get a
//! line with the problem; `--strict` makes them an error.
//!
//! Extraction runs on every core ([`files::extract_files`]); lines come out in
//! argument order, directories sorted by path.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::lineage::files::{self, Input};
use crate::lineage::graph::Reached;
use crate::lineage::sources::{PathPattern, SqlFilesSource};
use crate::lineage::{
    Dialect, ExtractOptions, JobRecord, Problem, ProblemKind, SourceConfig, SourcesConfig,
    ViewDefinition, build_graph,
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
    /// Exit 1 when any file had problems (fallback, templates, skipped files, …).
    #[arg(long)]
    pub strict: bool,
    /// Skip (with a problem) files larger than this many bytes
    /// (default: `lineage.max_file_bytes`, else 5 MiB).
    #[arg(long)]
    pub max_file_bytes: Option<u64>,
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
    let max_bytes = args
        .max_file_bytes
        .or(cfg.map(|c| c.max_file_bytes))
        .unwrap_or(files::DEFAULT_MAX_FILE_BYTES);
    let inputs = inputs(&args.paths);
    let mut code = 0;
    // One buffer for all lines: a 300-file run is one write, not 300.
    let mut buf = std::io::BufWriter::new(out);
    files::extract_files(&inputs, &opts, max_bytes, |input, result| {
        let path = input.name();
        match result {
            Ok(ex) => {
                if args.strict && !ex.problems.is_empty() {
                    code = 1;
                }
                write_line(
                    &mut buf,
                    path,
                    &ex.reads,
                    &ex.writes,
                    ex.parsed,
                    &ex.problems,
                )
            }
            Err(problem) => {
                if args.strict || problem.kind == ProblemKind::Io {
                    code = 1;
                }
                let empty = Default::default();
                write_line(&mut buf, path, &empty, &empty, false, &[problem])
            }
        }
    })?;
    buf.flush()?;
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

/// Expands the arguments into inputs, in argument order (directories sorted).
fn inputs(paths: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut buf = Vec::new();
            out.push(match std::io::stdin().read_to_end(&mut buf) {
                Ok(_) => Input::Text("-".into(), files::into_string(buf)),
                Err(e) => io_skip(p, format!("cannot read stdin: {e}")),
            });
        } else if p.is_dir() {
            match files::list_sql_files(p) {
                Ok(listed) => out.extend(listed.into_iter().map(Input::from)),
                Err(e) => out.push(io_skip(p, format!("cannot list: {e}"))),
            }
        } else {
            out.push(Input::File(p.clone()));
        }
    }
    out
}

fn io_skip(p: &Path, msg: String) -> Input {
    Input::Skipped(p.to_path_buf(), Problem::new(ProblemKind::Io, msg, None))
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
                max_file_bytes: base.max_file_bytes,
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
