//! The monitor kinds beyond hand-written SQL: `freshness`, `row_count`, `null_ratio`
//! and `deadline`. Each compiles to SQL that runs unchanged on SQLite and BigQuery and
//! fails, like every monitor, by returning rows; the judgement that needs more than
//! rows (a null ratio against its history, a deadline's phase) is `monitor::kinds`.
//!
//! Table and column names are checked to be plain identifiers before they are put into
//! SQL, and the compiled SQL goes through the same read-only validation as any rule.

use chrono::NaiveTime;
use chrono_tz::Tz;
use std::time::Duration;

/// `freshness: { table, column, max_age }`: fails when the newest `column` value is
/// older than `max_age` at run time (or the table is empty): the pipeline is silent.
#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    pub table: String,
    pub column: String,
    pub max_age: Duration,
}

/// `row_count: { table, min, max, where }`: fails when the count is out of bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct RowCount {
    pub table: String,
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub filter: Option<String>,
}

/// `null_ratio: { table, column, window, max_shift, where, min_history }`: fails when
/// the share of NULLs moves more than `max_shift` away from its mean over `window`.
#[derive(Debug, Clone, PartialEq)]
pub struct NullRatio {
    pub table: String,
    pub column: String,
    pub window: Duration,
    pub max_shift: f64,
    pub filter: Option<String>,
    /// Measurements needed before judging; until then the check only learns.
    pub min_history: u32,
}

/// `deadline: { at, timezone, breach_window }` with `sql` returning unfinished rows:
/// rows before `at` are at risk, rows at or after it (for `breach_window`) a breach.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadline {
    pub at: NaiveTime,
    pub tz: Tz,
    pub breach_window: Duration,
}

/// `dataset.table` or `project.dataset.table` (the project may contain `-`).
pub fn valid_table(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    let n = parts.len();
    (2..=3).contains(&n)
        && parts.iter().enumerate().all(|(i, p)| {
            let project = n == 3 && i == 0;
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || (project && c == '-'))
        })
}

pub fn valid_column(c: &str) -> bool {
    let mut chars = c.chars();
    chars
        .next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A table name as SQL: a project with `-` needs BigQuery's backticks.
fn table_sql(t: &str) -> String {
    if t.contains('-') {
        format!("`{t}`")
    } else {
        t.to_string()
    }
}

fn where_sql(filter: &Option<String>) -> String {
    filter
        .as_ref()
        .map(|f| format!(" WHERE ({f})"))
        .unwrap_or_default()
}

impl Freshness {
    /// `@stale_before` is bound to run time minus `max_age` (see `monitor::kinds`).
    pub fn sql(&self) -> String {
        let (t, c) = (table_sql(&self.table), &self.column);
        format!(
            "SELECT MAX({c}) AS newest FROM {t}\nHAVING MAX({c}) IS NULL OR MAX({c}) < @stale_before"
        )
    }
}

impl Freshness {
    pub fn bigquery_sql(&self) -> String {
        let (t, c) = (table_sql(&self.table), &self.column);
        format!(
            "SELECT MAX({c}) AS newest FROM {t}\nHAVING MAX({c}) IS NULL OR CAST(MAX({c}) AS TIMESTAMP) < @stale_before"
        )
    }
}

impl RowCount {
    pub fn sql(&self) -> String {
        let mut bounds = Vec::new();
        if let Some(min) = self.min {
            bounds.push(format!("COUNT(*) < {min}"));
        }
        if let Some(max) = self.max {
            bounds.push(format!("COUNT(*) > {max}"));
        }
        format!(
            "SELECT COUNT(*) AS row_count FROM {}{}\nHAVING {}",
            table_sql(&self.table),
            where_sql(&self.filter),
            bounds.join(" OR ")
        )
    }
}

impl NullRatio {
    /// Always one row: the ratio is computed in Rust, so no dialect's division rules
    /// (integer on SQLite, float on BigQuery) change the answer.
    pub fn sql(&self) -> String {
        format!(
            "SELECT COUNT(*) AS total, SUM(CASE WHEN {c} IS NULL THEN 1 ELSE 0 END) AS nulls\nFROM {t}{w}",
            c = self.column,
            t = table_sql(&self.table),
            w = where_sql(&self.filter)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_identifiers() {
        assert!(valid_table("shop.orders"));
        assert!(valid_table("acme-data.shop.orders"));
        assert!(!valid_table("orders"));
        assert!(!valid_table("shop.orders; DROP"));
        assert!(!valid_table("sh-op.orders"));
        assert!(valid_column("ordered_at"));
        assert!(!valid_column("1x"));
        assert!(!valid_column("a b"));
    }

    #[test]
    fn row_count_states_only_the_bounds_given() {
        let rc = RowCount {
            table: "shop.customers".into(),
            min: Some(100),
            max: None,
            filter: Some("country = 'JP'".into()),
        };
        assert_eq!(
            rc.sql(),
            "SELECT COUNT(*) AS row_count FROM shop.customers WHERE (country = 'JP')\nHAVING COUNT(*) < 100"
        );
    }
}
