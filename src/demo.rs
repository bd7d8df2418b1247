//! The bundled demo: (re)creates the SQLite warehouse from a seed SQL file.
//!
//! The seed names its tables BigQuery-style (`shop.orders`); every dataset it creates
//! becomes one `<dataset>.db` file, attached under the dataset's name, so the same
//! monitor SQL runs here and on BigQuery.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use sqlparser::ast::{ObjectName, Statement};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::path::Path;

/// Recreates the warehouse folder `dir` from `seed`, with `{{now}}` in the seed replaced
/// by `now` (so the demo's job history is always recent). Returns the datasets created.
pub fn seed_warehouse(dir: &Path, seed: &Path, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    let sql = std::fs::read_to_string(seed)
        .with_context(|| format!("cannot read the demo seed {}", seed.display()))?
        .replace("{{now}}", &now.format("%Y-%m-%d %H:%M:%S").to_string());
    let datasets = datasets_of(&sql).with_context(|| format!("in {}", seed.display()))?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let conn = Connection::open_in_memory()?;
    for ds in &datasets {
        let file = dir.join(format!("{ds}.db"));
        conn.execute("ATTACH DATABASE ?1 AS ?2", (file.to_string_lossy(), ds))?;
    }
    conn.execute_batch(&sql)
        .with_context(|| format!("the demo seed {} failed", seed.display()))?;
    Ok(datasets.into_iter().collect())
}

/// The dataset part of every table and view the seed creates.
fn datasets_of(sql: &str) -> anyhow::Result<BTreeSet<String>> {
    let stmts = Parser::parse_sql(&SQLiteDialect {}, sql)?;
    let names = stmts.iter().filter_map(|s| match s {
        Statement::CreateTable(t) => Some(&t.name),
        Statement::CreateView(v) => Some(&v.name),
        _ => None,
    });
    Ok(names.filter_map(dataset).collect())
}

fn dataset(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ds, _table] => ds.as_ident().map(|i| i.value.clone()),
        _ => None,
    }
}
