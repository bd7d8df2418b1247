//! The embedded default warehouse: a folder of SQLite files, one per dataset.
//!
//! `<dir>/shop.db` is attached as schema `shop`, so BigQuery-style `shop.orders`
//! references work unchanged. Every run opens fresh read-only connections (monitors are
//! read-only even if validation were bypassed) and a timeout really stops the query
//! through SQLite's interrupt, instead of leaving it burning a thread.

use super::metadata::{JobRow, ViewRow};
use super::{DryRun, MonitorQuery, ParamValue, QueryError, QueryResult, Rows, Warehouse};
use crate::rules::Check;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, types::ValueRef};
use sqlparser::ast::{Expr, Statement, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A folder of `<dataset>.db` files.
#[derive(Debug, Clone)]
pub struct SqliteWarehouse {
    datasets: Vec<(String, PathBuf)>,
}

impl SqliteWarehouse {
    /// Opens the folder; each `*.db` file becomes a dataset.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let mut datasets = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            anyhow::anyhow!("cannot open the SQLite warehouse folder {}: {e} (run `ripple demo` to create the demo warehouse)", dir.display())
        })?;
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("db") {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                datasets.push((name.to_string(), path.clone()));
            }
        }
        datasets.sort();
        Ok(SqliteWarehouse { datasets })
    }

    pub fn datasets(&self) -> impl Iterator<Item = &str> {
        self.datasets.iter().map(|(n, _)| n.as_str())
    }

    /// A read-only connection with every dataset attached under its name.
    pub fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags("file::memory:?mode=memory", flags)?;
        for (name, path) in &self.datasets {
            let uri = format!("file:{}?mode=ro", path.display());
            conn.execute("ATTACH DATABASE ?1 AS ?2", (uri, name))?;
        }
        Ok(conn)
    }
}

/// Metadata queries get this long: they run on an interval, not on a hot path.
const METADATA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

#[async_trait]
impl Warehouse for SqliteWarehouse {
    async fn run(&self, q: &MonitorQuery) -> Result<QueryResult, QueryError> {
        let (check, sample, params) = (q.check.clone(), q.sample, q.params.clone());
        self.blocking(q.timeout, move |conn| {
            execute(conn, &check, sample, &params)
        })
        .await
    }

    async fn query_rows(
        &self,
        sql: &str,
        params: &[(&str, String)],
        limit: usize,
    ) -> Result<Rows, QueryError> {
        let sql = sql.to_string();
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.blocking(METADATA_TIMEOUT, move |conn| {
            fetch_rows(conn, &sql, &params, limit).map_err(sql_error)
        })
        .await
    }

    /// The demo's job history: the JOBS-shaped table `region_us.jobs_by_project`
    /// (arrays and labels as JSON text). None when the warehouse has no such table.
    async fn jobs(&self, since: DateTime<Utc>) -> Result<Vec<JobRow>, QueryError> {
        if !self.datasets().any(|d| d == "region_us") {
            return Ok(vec![]);
        }
        let since = since.format("%Y-%m-%d %H:%M:%S").to_string();
        self.blocking(METADATA_TIMEOUT, move |conn| {
            read_jobs(conn, &since).map_err(sql_error)
        })
        .await
    }

    /// SQLite compiles the statement without running it; it cannot say what it would read.
    async fn dry_run(&self, q: &MonitorQuery) -> Result<DryRun, QueryError> {
        let conn = self
            .connect()
            .map_err(|e| QueryError::Unavailable(e.to_string()))?;
        if let Check::Assert { sql } = &q.check {
            return run_asserts(&conn, sql, false).map(|_| DryRun::default());
        }
        let sql = q.check.sql();
        conn.prepare(sql.trim().trim_end_matches(';'))
            .map(drop)
            .map_err(sql_error)?;
        Ok(DryRun::default())
    }

    /// Each dataset's views from its `sqlite_master`, defined by their SELECT.
    async fn views(&self) -> Result<Vec<ViewRow>, QueryError> {
        let conn = self
            .connect()
            .map_err(|e| QueryError::Unavailable(e.to_string()))?;
        let mut out = Vec::new();
        for dataset in self.datasets() {
            let sql = format!(
                "SELECT name, sql FROM \"{dataset}\".sqlite_master WHERE type = 'view' ORDER BY name"
            );
            let mut stmt = conn.prepare(&sql).map_err(sql_error)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(sql_error)?;
            for row in rows {
                let (name, create) = row.map_err(sql_error)?;
                out.push(ViewRow {
                    project: None,
                    dataset: dataset.to_string(),
                    name,
                    sql: view_query(&create),
                });
            }
        }
        Ok(out)
    }
}

impl SqliteWarehouse {
    /// Runs `work` on a fresh read-only connection off the async threads, interrupting
    /// SQLite when `timeout` expires.
    async fn blocking<T: Send + 'static>(
        &self,
        timeout: std::time::Duration,
        work: impl FnOnce(&Connection) -> Result<T, QueryError> + Send + 'static,
    ) -> Result<T, QueryError> {
        let conn = self
            .connect()
            .map_err(|e| QueryError::Unavailable(e.to_string()))?;
        let interrupt = conn.get_interrupt_handle();
        let task = tokio::task::spawn_blocking(move || work(&conn));
        match tokio::time::timeout(timeout, task).await {
            Ok(joined) => joined.map_err(|e| QueryError::Unavailable(e.to_string()))?,
            Err(_) => {
                interrupt.interrupt();
                Err(QueryError::Timeout(timeout))
            }
        }
    }
}

fn fetch_rows(
    conn: &Connection,
    sql: &str,
    params: &[(String, String)],
    limit: usize,
) -> rusqlite::Result<Rows> {
    let mut stmt = conn.prepare(sql.trim().trim_end_matches(';'))?;
    for (name, value) in params {
        if let Some(i) = stmt.parameter_index(&format!("@{name}"))? {
            stmt.raw_bind_parameter(i, value)?;
        }
    }
    let columns: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut out = Rows {
        columns: columns.clone(),
        rows: Vec::new(),
    };
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        if out.rows.len() >= limit {
            break;
        }
        let obj = row_json(row, &columns);
        out.rows
            .push(columns.iter().map(|c| obj[c].clone()).collect());
    }
    Ok(out)
}

const JOBS_SQL: &str = "SELECT job_id, user_email, query, destination_table, referenced_tables,
        creation_time, statement_type, labels, error_result
    FROM region_us.jobs_by_project
    WHERE creation_time >= ?1 AND job_type = 'QUERY'
    ORDER BY creation_time";

fn read_jobs(conn: &Connection, since: &str) -> rusqlite::Result<Vec<JobRow>> {
    let mut stmt = conn.prepare(JOBS_SQL)?;
    let rows = stmt.query_map([since], |r| {
        let refs: String = r.get(4)?;
        let created: String = r.get(5)?;
        let labels: String = r.get(7)?;
        Ok(JobRow {
            job_id: r.get(0)?,
            user_email: r.get(1)?,
            query: r.get(2)?,
            destination: r.get(3)?,
            referenced_tables: serde_json::from_str(&refs).unwrap_or_default(),
            creation_time: chrono::NaiveDateTime::parse_from_str(&created, "%Y-%m-%d %H:%M:%S")
                .map(|t| t.and_utc())
                .unwrap_or_default(),
            statement_type: r.get(6)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            error: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// The SELECT of a `CREATE VIEW … AS SELECT …` (the whole text if it does not parse), so
/// that SQLite's views look like BigQuery's `view_definition`.
fn view_query(create: &str) -> String {
    let dialect = sqlparser::dialect::SQLiteDialect {};
    match sqlparser::parser::Parser::parse_sql(&dialect, create).as_deref() {
        Ok([Statement::CreateView(v)]) => v.query.to_string(),
        _ => create.to_string(),
    }
}

fn execute(
    conn: &Connection,
    check: &Check,
    sample: u32,
    params: &BTreeMap<String, ParamValue>,
) -> Result<QueryResult, QueryError> {
    match check {
        Check::Assert { sql } => run_asserts(conn, sql, true),
        other => count_rows(conn, other.sql(), sample, params).map_err(sql_error),
    }
}

/// Binds the run's named parameters (`@run_time`) that the statement uses. Timestamps
/// are bound as `YYYY-MM-DD HH:MM:SS`, the text SQLite's own date functions produce.
fn bind_params(
    stmt: &mut rusqlite::Statement<'_>,
    params: &BTreeMap<String, ParamValue>,
) -> rusqlite::Result<()> {
    for i in 1..=stmt.parameter_count() {
        let Some(name) = stmt.parameter_name(i).map(|n| n[1..].to_string()) else {
            continue;
        };
        match params.get(&name) {
            Some(ParamValue::String(s)) => stmt.raw_bind_parameter(i, s)?,
            Some(ParamValue::Int64(n)) => stmt.raw_bind_parameter(i, n)?,
            Some(ParamValue::Timestamp(t)) => {
                stmt.raw_bind_parameter(i, t.format("%Y-%m-%d %H:%M:%S").to_string())?
            }
            None => {
                let known: Vec<String> = params.keys().map(|k| format!("@{k}")).collect();
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_RANGE),
                    Some(format!(
                        "unknown parameter @{name}; a run offers {}",
                        known.join(", ")
                    )),
                ));
            }
        }
    }
    Ok(())
}

/// SQLite's message, located as `line L, column C` of the monitor SQL rather than
/// rusqlite's default, which repeats the whole statement.
fn sql_error(e: rusqlite::Error) -> QueryError {
    match e {
        rusqlite::Error::SqlInputError {
            msg, sql, offset, ..
        } if offset >= 0 => {
            let before = &sql[..(offset as usize).min(sql.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            QueryError::Sql(format!(
                "{msg} (line {line}, column {col} of the monitor SQL)"
            ))
        }
        rusqlite::Error::SqliteFailure(_, Some(msg)) => QueryError::Sql(msg),
        other => QueryError::Sql(other.to_string()),
    }
}

/// Steps through the result counting rows; only the first `sample` are read.
fn count_rows(
    conn: &Connection,
    sql: &str,
    sample: u32,
    params: &BTreeMap<String, ParamValue>,
) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare(sql.trim().trim_end_matches(';'))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    bind_params(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
    let mut out = QueryResult::default();
    while let Some(row) = rows.next()? {
        out.rows += 1;
        if out.rows <= u64::from(sample) {
            out.sample.push(row_json(row, &names));
        }
    }
    Ok(out)
}

fn row_json(row: &rusqlite::Row<'_>, names: &[String]) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for (i, name) in names.iter().enumerate() {
        let v = match row.get_ref(i) {
            Ok(ValueRef::Integer(n)) => n.into(),
            Ok(ValueRef::Real(f)) => f.into(),
            Ok(ValueRef::Text(t)) => String::from_utf8_lossy(t).into(),
            Ok(ValueRef::Blob(b)) => format!("<{} bytes>", b.len()).into(),
            _ => serde_json::Value::Null,
        };
        obj.insert(name.clone(), v);
    }
    obj.into()
}

/// SQLite has no `ASSERT`: each one becomes `SELECT CASE WHEN cond …` and the first
/// false condition fails the check with the assertion's own message. With `evaluate`
/// false the probes are only compiled (a dry run).
fn run_asserts(conn: &Connection, sql: &str, evaluate: bool) -> Result<QueryResult, QueryError> {
    let stmts = crate::rules::sql::parse(sql).map_err(|p| QueryError::Sql(p.message))?;
    for stmt in stmts {
        let Statement::Assert { condition, message } = stmt else {
            return Err(QueryError::Sql(format!(
                "the SQLite warehouse runs only ASSERT statements in an assert monitor, not `{stmt}`"
            )));
        };
        let probe = format!("SELECT CASE WHEN {condition} THEN 1 ELSE 0 END");
        if !evaluate {
            conn.prepare(&probe).map_err(sql_error)?;
            continue;
        }
        let ok: i64 = conn
            .query_row(&probe, [], |r| r.get(0))
            .map_err(sql_error)?;
        if ok == 0 {
            let text = message
                .map(|m| literal_text(&m))
                .unwrap_or_else(|| format!("ASSERT {condition}"));
            return Ok(QueryResult {
                assertion: Some(text),
                ..Default::default()
            });
        }
    }
    Ok(QueryResult::default())
}

pub(crate) fn literal_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}
