//! Monitor SQL validation: it must parse (BigQuery dialect) and it must be read-only.
//!
//! Monitors are read-only by contract: a rule that writes would turn a monitoring
//! service into an arbitrary-write service. The check (`rules::read_only`) walks the
//! whole statement and uses an allow-list of statement kinds rather than a deny-list,
//! so that a statement type added to sqlparser later is refused until someone decides
//! it is safe.

use sqlparser::ast::Statement;
use sqlparser::dialect::BigQueryDialect;
use sqlparser::parser::{Parser, ParserError};

/// A problem in a piece of SQL, located relative to the SQL text (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlProblem {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// What a monitor's SQL is expected to contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A query (optionally after DECLARE/SET) whose rows are failures.
    Rows,
    /// One or more `ASSERT` statements.
    Assert,
}

/// Parses `sql` and checks it against the monitor contract.
pub fn validate(sql: &str, expect: Expect) -> Result<Vec<Statement>, SqlProblem> {
    let stmts = parse(sql)?;
    if stmts.is_empty() {
        return Err(at_start("the SQL is empty"));
    }
    for stmt in &stmts {
        super::read_only::check(stmt)?;
    }
    check_shape(&stmts, expect)?;
    Ok(stmts)
}

/// Parses with the BigQuery dialect, mapping sqlparser's error to a position.
pub fn parse(sql: &str) -> Result<Vec<Statement>, SqlProblem> {
    Parser::parse_sql(&BigQueryDialect {}, sql).map_err(|e| parse_problem(sql, &e))
}

fn parse_problem(sql: &str, e: &ParserError) -> SqlProblem {
    let text = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s.clone(),
        ParserError::RecursionLimitExceeded => "the SQL is nested too deeply".to_string(),
    };
    // sqlparser gives no position for a premature end: point just past the last token.
    let fallback = if text.contains("found: EOF") {
        end_of(sql)
    } else {
        (1, 1)
    };
    let (line, col) = position_in(&text).unwrap_or(fallback);
    let message = strip_position(&text);
    SqlProblem {
        line,
        col,
        message: format!("SQL does not parse: {message}"),
    }
}

/// sqlparser appends "at Line: L, Column: C" to its messages.
fn position_in(msg: &str) -> Option<(usize, usize)> {
    let rest = &msg[msg.rfind("Line: ")? + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, col.parse().ok()?))
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at Line: ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Line and column just after the last non-blank character.
fn end_of(sql: &str) -> (usize, usize) {
    let trimmed = sql.trim_end();
    let line = trimmed.lines().count().max(1);
    let col = trimmed.lines().last().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn at_start(message: &str) -> SqlProblem {
    SqlProblem {
        line: 1,
        col: 1,
        message: message.to_string(),
    }
}

fn check_shape(stmts: &[Statement], expect: Expect) -> Result<(), SqlProblem> {
    let asserts = stmts
        .iter()
        .filter(|s| matches!(s, Statement::Assert { .. }))
        .count();
    let queries = stmts
        .iter()
        .filter(|s| matches!(s, Statement::Query(_)))
        .count();
    match expect {
        Expect::Rows if asserts > 0 => Err(at_start(
            "ASSERT belongs in a monitor of `kind: assert`; a `rows` monitor fails on returned rows",
        )),
        Expect::Rows if queries != 1 => Err(at_start(&format!(
            "a `rows` monitor needs exactly one SELECT (found {queries})"
        ))),
        Expect::Assert if asserts == 0 => Err(at_start(
            "a monitor of `kind: assert` needs at least one ASSERT statement",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_select_is_fine() {
        assert!(validate("SELECT id FROM shop.orders WHERE amount < 0", Expect::Rows).is_ok());
    }

    #[test]
    fn writes_are_rejected_by_name() {
        let e = validate("DELETE FROM shop.orders WHERE true", Expect::Rows).unwrap_err();
        assert!(e.message.contains("`DELETE`"), "{}", e.message);
        let e = validate("CREATE TABLE x AS SELECT 1", Expect::Rows).unwrap_err();
        assert!(e.message.contains("`CREATE TABLE`"), "{}", e.message);
    }

    #[test]
    fn parse_errors_carry_the_position() {
        let e = validate("SELECT id\nFROM shop.orders WHERE", Expect::Rows).unwrap_err();
        assert_eq!((e.line, e.col), (2, 23));
        let eof = validate("SELECT id\nFROM t\nWHERE", Expect::Rows).unwrap_err();
        assert_eq!((eof.line, eof.col), (3, 6));
        assert!(
            e.message.starts_with("SQL does not parse: "),
            "{}",
            e.message
        );
        assert!(!e.message.contains("Line:"), "{}", e.message);
    }

    #[test]
    fn assert_kind_needs_assert() {
        let ok = "ASSERT (SELECT COUNT(*) FROM t) > 0 AS 't is empty'";
        assert!(validate(ok, Expect::Assert).is_ok());
        assert!(validate("SELECT 1", Expect::Assert).is_err());
        assert!(validate(ok, Expect::Rows).is_err());
    }

    #[test]
    fn scripts_may_declare_variables() {
        let sql = "DECLARE d DATE DEFAULT CURRENT_DATE();\nSELECT * FROM t WHERE day = d";
        assert!(validate(sql, Expect::Rows).is_ok());
    }
}
