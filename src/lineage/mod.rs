//! Table lineage: extraction from SQL, templates, fallback scanner, graph.
//!
//! Reading order:
//! - [`extract`] (this file) is the entry point: template rendering, then
//!   [`script`] parses statement by statement, [`walker`] (+ [`query`],
//!   [`statement`], [`scope`], [`names`]) walks each AST with a scope stack,
//!   [`fallback`] scans statements sqlparser rejects, and [`collapse`] folds
//!   script-local temp tables away.
//! - [`sources`] says where SQL comes from (files, views, jobs); [`files`]
//!   lists and reads SQL files safely (regular files only, size limit, symlink
//!   loops) and extracts many in parallel; [`build_graph`] turns all of it into
//!   a [`graph::LineageGraph`].
//! - The `ripple lineage …` command is `cli::lineage`; the deterministic corpus
//!   generator of the benchmarks and tests is `benches/support/generator.rs`
//!   (compiled only for them).
//!
//! The contract (what counts as a read or a write, and where it differs from
//! other tools on purpose) is in `src/lineage/CONTRACT.md`.

pub mod files;
pub mod graph;
pub mod sources;
pub mod template;

mod build;
mod collapse;
mod dialect;
mod expr;
mod fallback;
mod names;
mod query;
mod scope;
mod script;
mod statement;
mod walker;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use build::{BuildStats, GraphBuild, SourceProblem, build_graph};
pub use dialect::{Dialect, UnknownDialect};
pub use sources::{JobRecord, SourceConfig, SourcesConfig, ViewDefinition};

/// How the extractor is configured for one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractOptions {
    pub dialect: Dialect,
    /// Prefixed to one- and two-part names (`t` → `p.d.t`, `d.t` → `p.d.t`).
    pub default_project: Option<String>,
    /// Prefixed to one-part names.
    pub default_dataset: Option<String>,
}

/// How much an edge can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Found by the token-level fallback scanner (sqlparser rejected the
    /// statement) or through a construct the walker does not model.
    Low,
    /// Found by walking a parsed AST.
    High,
}

/// What went wrong or was approximated while extracting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// sqlparser rejected a statement; the fallback scanner handled it.
    Parse,
    /// Even tokenizing failed; a hand scanner split the text.
    Tokenize,
    /// A construct the walker does not model; tables in it were still collected.
    Unsupported,
    /// Nesting deeper than the walker's guard.
    DepthLimit,
    /// A template expression could not be resolved to a table.
    Template,
    /// Dynamic SQL (`EXECUTE IMMEDIATE`) is not analysed.
    DynamicSql,
    /// A file or directory could not be read.
    Io,
    /// A path was deliberately not read: not a regular file (FIFO, socket,
    /// device), over the size limit, or a directory reached again through a
    /// symlink.
    Skipped,
}

/// One problem, with the 1-based line where it was found when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl Problem {
    pub(crate) fn new(kind: ProblemKind, message: impl Into<String>, line: Option<u64>) -> Self {
        Problem {
            kind,
            message: message.into(),
            line,
        }
    }
}

/// Lineage of one (flattened) statement: every table it reads feeds every
/// table it writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLineage {
    pub reads: BTreeSet<String>,
    pub writes: BTreeSet<String>,
    pub confidence: Confidence,
}

/// Lineage of one SQL text (a file, a view body, a job's query).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extraction {
    /// Tables read from outside the text (script-local temp tables folded away).
    pub reads: BTreeSet<String>,
    /// Tables written (created, inserted into, merged into, …).
    pub writes: BTreeSet<String>,
    /// True when sqlparser parsed every statement (no fallback used).
    pub parsed: bool,
    pub problems: Vec<Problem>,
    /// Per-statement lineage, in source order; statements with neither reads
    /// nor writes are left out.
    pub statements: Vec<StatementLineage>,
}

/// Extracts table lineage from SQL text. Never panics and always returns:
/// problems are reported in [`Extraction::problems`].
pub fn extract(sql: &str, opts: &ExtractOptions) -> Extraction {
    extract_for(sql, opts, None)
}

/// [`extract`] for a text whose own output table is known (a mapped SQL
/// file): Dataform `${self()}` and dbt `{{ this }}` render as that table.
pub fn extract_for(sql: &str, opts: &ExtractOptions, this: Option<&str>) -> Extraction {
    let rendered = template::render_cow_for(sql, this);
    let mut out = script::run(&rendered.sql, opts);
    if !rendered.problems.is_empty() {
        let mut problems = rendered.problems;
        problems.append(&mut out.problems);
        out.problems = problems;
    }
    out
}
