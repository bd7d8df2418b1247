//! Warehouse metadata for lineage and usage statistics: view definitions and job history.
//!
//! Plain rows, no interpretation: the lineage sources parse `ViewRow::sql` and
//! `JobRow::query`, the impact ranking counts `JobRow::referenced_tables` per user. A
//! warehouse that has no such metadata returns empty lists (the trait's defaults).

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One view and the SQL that defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRow {
    /// `None` where the warehouse has no projects (SQLite).
    pub project: Option<String>,
    pub dataset: String,
    pub name: String,
    pub sql: String,
}

/// One query job from the warehouse's job history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub job_id: String,
    pub user_email: Option<String>,
    pub query: String,
    /// `project.dataset.table`, for jobs that wrote a table.
    pub destination: Option<String>,
    /// `project.dataset.table` of every table the job read.
    pub referenced_tables: Vec<String>,
    pub creation_time: DateTime<Utc>,
    /// `SELECT`, `INSERT`, `CREATE_TABLE_AS_SELECT`, `SCRIPT`, …
    pub statement_type: Option<String>,
    /// Job labels; Ripple's own runs carry `ripple_monitor` and `ripple_team`.
    pub labels: BTreeMap<String, String>,
    /// The job's error message, when it failed.
    pub error: Option<String>,
}

impl JobRow {
    /// Whether Ripple itself ran this job (a monitor run or a metadata read), so usage
    /// statistics can skip it.
    pub fn is_ripple(&self) -> bool {
        self.labels.keys().any(|k| k.starts_with("ripple_"))
    }
}
