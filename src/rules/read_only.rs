//! The read-only check of monitor SQL, over the whole statement.
//!
//! A [`Visitor`] walks every node sqlparser produced: CTE bodies, subqueries in any
//! expression, both sides of set operations, `DECLARE` defaults. Every statement it
//! meets, at any depth, must be on the allow-list (a query, `ASSERT`, `DECLARE`, a
//! variable `SET`), and a statement nested inside a query must be a query (so
//! `WITH d AS (DELETE … RETURNING id) SELECT …` is refused). `SELECT … INTO` (it
//! creates a table) and `FOR UPDATE`/`FOR SHARE` (they lock rows) are refused too.
//! The first problem stops the walk and is located at its node.

use super::sql::SqlProblem;
use sqlparser::ast::{Query, Select, Set, Spanned, Statement, Visit, Visitor};
use sqlparser::tokenizer::Span;
use std::ops::ControlFlow;

/// Checks one top-level statement and everything inside it.
pub fn check(stmt: &Statement) -> Result<(), SqlProblem> {
    let mut walker = ReadOnly {
        depth: 0,
        outer: stmt.span(),
    };
    match stmt.visit(&mut walker) {
        ControlFlow::Break(p) => Err(p),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The walk's state: how many statements enclose the current node, and the span of
/// the top-level statement (used when a nested node has no span of its own).
struct ReadOnly {
    depth: usize,
    outer: Span,
}

impl Visitor for ReadOnly {
    type Break = SqlProblem;

    fn pre_visit_statement(&mut self, stmt: &Statement) -> ControlFlow<SqlProblem> {
        let nested = self.depth > 0;
        self.depth += 1;
        match refusal(stmt, nested) {
            Some(message) => ControlFlow::Break(self.at(stmt.span(), message)),
            None => ControlFlow::Continue(()),
        }
    }

    fn post_visit_statement(&mut self, _stmt: &Statement) -> ControlFlow<SqlProblem> {
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<SqlProblem> {
        let Some(into) = &select.into else {
            return ControlFlow::Continue(());
        };
        let message = "monitors are read-only, but this SQL contains `SELECT … INTO`, \
                       which writes its rows into a table; remove the `INTO` clause and \
                       return the bad rows instead";
        ControlFlow::Break(self.at(into.span(), message.into()))
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<SqlProblem> {
        let Some(lock) = query.locks.first() else {
            return ControlFlow::Continue(());
        };
        let message = format!(
            "monitors are read-only, but this SQL contains `{lock}`, which locks rows \
             for writing; remove it"
        );
        ControlFlow::Break(self.at(query.span(), message))
    }
}

impl ReadOnly {
    /// A problem at `span`'s start, or at the top-level statement when it has none.
    fn at(&self, span: Span, message: String) -> SqlProblem {
        let start = if span.start.line > 0 {
            span.start
        } else {
            self.outer.start
        };
        SqlProblem {
            line: (start.line as usize).max(1),
            col: (start.column as usize).max(1),
            message,
        }
    }
}

/// Why a statement may not appear where it is, or `None` when it may.
fn refusal(stmt: &Statement, nested: bool) -> Option<String> {
    let kw = keyword(stmt);
    if writes(stmt, &kw) {
        let place = if nested { " inside a query" } else { "" };
        return Some(format!(
            "monitors are read-only, but this SQL contains `{kw}`{place}; \
             write a SELECT that returns the bad rows instead"
        ));
    }
    if nested || !allowed(stmt) {
        return Some(format!(
            "`{kw}` statements are not allowed in a monitor; use SELECT (or ASSERT)"
        ));
    }
    None
}

/// The allow-list: a statement kind sqlparser adds later is refused until someone
/// decides it is safe.
fn allowed(stmt: &Statement) -> bool {
    match stmt {
        Statement::Query(_) | Statement::Assert { .. } | Statement::Declare { .. } => true,
        Statement::Set(set) => matches!(
            set,
            Set::SingleAssignment { .. }
                | Set::ParenthesizedAssignments { .. }
                | Set::MultipleAssignments { .. }
        ),
        _ => false,
    }
}

/// Statements that change data or schema, named as such in the message.
fn writes(stmt: &Statement, kw: &str) -> bool {
    let first = kw.split(' ').next().unwrap_or("");
    matches!(
        first,
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "CREATE" | "DROP" | "TRUNCATE" | "ALTER"
    ) || matches!(
        stmt,
        Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_)
            | Statement::ExportData(_)
            | Statement::Copy { .. }
            | Statement::LoadData { .. }
    )
}

/// The statement's leading keywords, for messages (`INSERT`, `CREATE TABLE`, …).
pub fn keyword(stmt: &Statement) -> String {
    let text = stmt.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [a, b] if matches!(*a, "CREATE" | "DROP" | "ALTER") => format!("{a} {b}"),
        [a, ..] => a.to_string(),
        [] => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::sql::parse;

    fn refused(sql: &str) -> SqlProblem {
        let stmts = parse(sql).expect("parses");
        stmts
            .iter()
            .find_map(|s| check(s).err())
            .unwrap_or_else(|| panic!("accepted: {sql}"))
    }

    fn accepted(sql: &str) {
        for s in parse(sql).expect("parses") {
            assert_eq!(check(&s), Ok(()), "{sql}");
        }
    }

    #[test]
    fn reads_at_any_depth_are_fine() {
        accepted("WITH a AS (SELECT 1 AS x) SELECT * FROM a WHERE x IN (SELECT 2)");
        accepted("SELECT 1 UNION ALL (SELECT 2 EXCEPT DISTINCT SELECT 3)");
        accepted("DECLARE d INT64 DEFAULT (SELECT 1); SET d = (SELECT 2); SELECT d");
    }

    #[test]
    fn a_data_modifying_cte_is_refused_where_it_is() {
        let p = refused(
            "WITH d AS (\n  DELETE FROM shop.orders WHERE true RETURNING id\n) SELECT * FROM d",
        );
        assert!(
            p.message.contains("`DELETE` inside a query"),
            "{}",
            p.message
        );
        assert_eq!((p.line, p.col), (2, 3));
        for body in [
            "INSERT INTO t (a) VALUES (1) RETURNING a",
            "UPDATE t SET a = 1 WHERE true RETURNING a",
        ] {
            let p = refused(&format!("WITH d AS ({body}) SELECT * FROM d"));
            assert!(p.message.contains("read-only"), "{body}: {}", p.message);
        }
    }

    #[test]
    fn writes_nested_in_subqueries_and_set_operations_are_refused() {
        let p = refused(
            "SELECT 1 UNION ALL SELECT * FROM (WITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d)",
        );
        assert!(p.message.contains("`DELETE`"), "{}", p.message);
        let p = refused(
            "SELECT * FROM t WHERE id IN (WITH d AS (UPDATE t SET a = 1 RETURNING id) SELECT id FROM d)",
        );
        assert!(p.message.contains("`UPDATE`"), "{}", p.message);
    }

    #[test]
    fn select_into_and_row_locks_are_refused() {
        let p = refused("SELECT *\nINTO backup_orders FROM shop.orders");
        assert!(p.message.contains("`SELECT … INTO`"), "{}", p.message);
        let p = refused("SELECT id FROM shop.orders FOR UPDATE");
        assert!(p.message.contains("`FOR UPDATE`"), "{}", p.message);
        let p = refused("SELECT * FROM (SELECT id FROM t FOR SHARE)");
        assert!(p.message.contains("`FOR SHARE`"), "{}", p.message);
    }

    #[test]
    fn statements_off_the_allow_list_are_refused() {
        let p = refused("SELECT 1; COMMIT");
        assert!(p.message.contains("not allowed"), "{}", p.message);
        let p = refused("SET ROLE admin");
        assert!(p.message.contains("not allowed"), "{}", p.message);
        let p = refused("TRUNCATE TABLE t");
        assert!(p.message.contains("read-only"), "{}", p.message);
    }
}
