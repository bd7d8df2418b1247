//! Monitor definitions from `rules/`: the model, and loading with every problem located.
//!
//! Pure: reads files, never touches a warehouse, a store or the network. A broken rule
//! file yields diagnostics and no monitors, and never stops the other files.

pub mod kinds;
mod load;
mod read_only;
pub mod sql;

pub use load::{load_dir, load_file};

use crate::diag::Diagnostic;
use chrono_tz::Tz;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::config::Severity;

/// When a monitor runs: a 5-field cron pattern in an IANA time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub cron: croner::Cron,
    pub pattern: String,
    pub tz: Tz,
}

/// What a monitor checks. Every kind compiles to SQL whose rows are failures, so the
/// runner, the warehouses and the incident logic treat them alike; `monitor::kinds`
/// adds the judgement a kind needs beyond rows (history, deadline phase).
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Fails when the query returns rows.
    Rows { sql: String },
    /// Fails when an `ASSERT` statement is false, with the assertion's message.
    Assert { sql: String },
    /// Fails when a table's newest timestamp is too old.
    Freshness { sql: String, spec: kinds::Freshness },
    /// Fails when a table's row count is out of bounds.
    RowCount { sql: String, spec: kinds::RowCount },
    /// Fails when a column's share of NULLs shifts away from its recent history.
    NullRatio { sql: String, spec: kinds::NullRatio },
    /// Rows are unfinished work: at risk before the deadline, a breach at it.
    Deadline { sql: String, spec: kinds::Deadline },
}

impl Check {
    pub const KINDS: [&'static str; 6] = [
        "rows",
        "assert",
        "freshness",
        "row_count",
        "null_ratio",
        "deadline",
    ];

    /// The SQL that runs (compiled for the built-in kinds).
    pub fn sql(&self) -> &str {
        match self {
            Check::Rows { sql }
            | Check::Assert { sql }
            | Check::Freshness { sql, .. }
            | Check::RowCount { sql, .. }
            | Check::NullRatio { sql, .. }
            | Check::Deadline { sql, .. } => sql,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Check::Rows { .. } => "rows",
            Check::Assert { .. } => "assert",
            Check::Freshness { .. } => "freshness",
            Check::RowCount { .. } => "row_count",
            Check::NullRatio { .. } => "null_ratio",
            Check::Deadline { .. } => "deadline",
        }
    }

    /// The SQL as BigQuery runs it: a freshness column may be a DATETIME there, which
    /// must be cast to compare with the `@stale_before` TIMESTAMP (SQLite compares
    /// text and has no such cast).
    pub fn bigquery_sql(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Check::Freshness { spec, .. } => spec.bigquery_sql().into(),
            other => other.sql().into(),
        }
    }

    /// Assertions run as `ASSERT` scripts; every other kind counts rows.
    pub fn is_assert(&self) -> bool {
        matches!(self, Check::Assert { .. })
    }
}

/// One validated monitor.
#[derive(Debug, Clone)]
pub struct Monitor {
    pub id: String,
    pub team: String,
    pub description: String,
    pub severity: Severity,
    pub schedule: Schedule,
    pub grace: Duration,
    pub timeout: Duration,
    pub owners: Vec<String>,
    pub labels: Vec<String>,
    pub min_consecutive_failures: u32,
    pub check: Check,
    /// Rows to fetch as a sample on failure; 0 = row count only (the default).
    pub sample: u32,
    /// The service account the monitor runs as; always one granted to its team.
    pub service_account: Option<String>,
    /// Where the monitor was defined, for messages and links.
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

/// The result of loading a rules folder: what is good, and every problem.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub monitors: Vec<Monitor>,
    pub problems: Vec<Diagnostic>,
    pub files: usize,
}

impl RuleSet {
    pub fn get(&self, id: &str) -> Option<&Monitor> {
        self.monitors.iter().find(|m| m.id == id)
    }
}

/// The largest sample a rule may ask for: Ripple is not a data export tool.
pub const MAX_SAMPLE: u32 = crate::bounds::SAMPLE.1;
