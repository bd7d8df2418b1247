//! The embedded default warehouse: a folder of SQLite files, one per dataset.
//!
//! `<dir>/shop.db` is attached as schema `shop`, so BigQuery-style `shop.orders`
//! references work unchanged. Every run opens fresh read-only connections (monitors are
//! read-only even if validation were bypassed) and a timeout really stops the query
//! through SQLite's interrupt, instead of leaving it burning a thread.

use super::{MonitorQuery, QueryError, QueryResult, Rows, Warehouse};
use crate::rules::Check;
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, types::ValueRef};
use sqlparser::ast::{Expr, Statement, Value};
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
        let (check, sample) = (q.check.clone(), q.sample);
        self.blocking(q.timeout, move |conn| execute(conn, &check, sample))
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

fn execute(conn: &Connection, check: &Check, sample: u32) -> Result<QueryResult, QueryError> {
    match check {
        Check::Rows { sql } => count_rows(conn, sql, sample).map_err(sql_error),
        Check::Assert { sql } => run_asserts(conn, sql),
    }
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
fn count_rows(conn: &Connection, sql: &str, sample: u32) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare(sql.trim().trim_end_matches(';'))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([])?;
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
/// false condition fails the check with the assertion's own message.
fn run_asserts(conn: &Connection, sql: &str) -> Result<QueryResult, QueryError> {
    let stmts = crate::rules::sql::parse(sql).map_err(|p| QueryError::Sql(p.message))?;
    for stmt in stmts {
        let Statement::Assert { condition, message } = stmt else {
            return Err(QueryError::Sql(format!(
                "the SQLite warehouse runs only ASSERT statements in an assert monitor, not `{stmt}`"
            )));
        };
        let probe = format!("SELECT CASE WHEN {condition} THEN 1 ELSE 0 END");
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

fn literal_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}
