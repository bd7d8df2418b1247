//! The walker's state and its generic expression scanner.
//!
//! The walker is our own traversal of sqlparser's AST (not `visit_relations`,
//! which mixes writes with reads and reports CTE names). Scope-relevant nodes
//! (queries, selects, table factors, statements) are walked by hand in
//! [`super::query`] and [`super::statement`]. Everything else — expressions,
//! ORDER BY, options, unmodelled statement kinds — goes through [`Walker::scan`],
//! which uses sqlparser's `Visitor` only to *find* nested queries and table
//! factors and hands each one back to the hand-written walk, so subqueries in
//! any expression position are seen with the right scopes.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectName, Query, TableFactor, Visit, Visitor};

use super::names::{self, Rendered};
use super::scope::Scopes;
use super::statement::called_function;
use super::{ExtractOptions, Problem, ProblemKind};

/// Deepest nesting of queries/table factors the walker follows. sqlparser's
/// own recursion limit keeps real ASTs far below this; the guard exists so no
/// AST shape can overflow our stack.
const MAX_DEPTH: u32 = 200;

/// Lineage collected for one flattened statement, plus the facts the script
/// pass needs (creates, drops, renames) to fold temp tables away.
#[derive(Debug, Default, Clone)]
pub(crate) struct StmtAcc {
    pub reads: Vec<String>,
    pub writes: Vec<String>,
    pub low: bool,
    /// Tables created by this statement (CREATE TABLE …).
    pub created: Vec<String>,
    /// Tables dropped by this statement.
    pub dropped: Vec<String>,
    /// `ALTER TABLE a RENAME TO b`.
    pub renamed: Option<(String, String)>,
    /// Temp tables (session-scoped) created by this statement, unqualified.
    pub temps: Vec<String>,
}

impl StmtAcc {
    fn is_empty(&self) -> bool {
        self.reads.is_empty()
            && self.writes.is_empty()
            && self.dropped.is_empty()
            && self.renamed.is_none()
    }
}

pub(crate) struct Walker<'o> {
    pub opts: &'o ExtractOptions,
    pub scopes: Scopes,
    /// Temp table names created so far in this script (compared
    /// case-insensitively, kept unqualified).
    pub temps: Vec<String>,
    /// Temp functions whose bodies read tables; a call reads the function
    /// (folded into its sources by the script pass).
    pub temp_functions: Vec<String>,
    pub cur: StmtAcc,
    pub out: Vec<StmtAcc>,
    pub problems: Vec<Problem>,
    /// Line of the statement being walked, for problems.
    pub line: Option<u64>,
    /// Added to parser line numbers when a piece of the text is parsed alone.
    pub line_base: u64,
    depth: u32,
}

/// How a table reference in a FROM position resolved.
pub(crate) enum Resolved {
    Table(String),
    /// A CTE, an array path or a templated name: not a table.
    NotATable,
}

impl<'o> Walker<'o> {
    pub(crate) fn new(opts: &'o ExtractOptions) -> Self {
        Walker {
            opts,
            scopes: Scopes::default(),
            temps: Vec::new(),
            temp_functions: Vec::new(),
            cur: StmtAcc::default(),
            out: Vec::new(),
            problems: Vec::new(),
            line: None,
            line_base: 0,
            depth: 0,
        }
    }

    /// Closes the current statement (if it found anything) and starts a new one.
    pub(crate) fn flush(&mut self) {
        let acc = std::mem::take(&mut self.cur);
        if !acc.is_empty() {
            self.out.push(acc);
        }
    }

    pub(crate) fn problem(&mut self, kind: ProblemKind, message: impl Into<String>) {
        self.problems.push(Problem::new(kind, message, self.line));
    }

    /// Enters one nesting level; false (and a problem) when the guard trips.
    pub(crate) fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            self.problem(
                ProblemKind::DepthLimit,
                "nesting too deep; inner part skipped",
            );
            self.cur.low = true;
            return false;
        }
        self.depth += 1;
        true
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Resolves a table reference in a FROM-like position.
    pub(crate) fn resolve_read(&mut self, name: &ObjectName) -> Resolved {
        let Some(parts) = names::parts(name, self.opts.dialect.is_bigquery()) else {
            return Resolved::NotATable;
        };
        match parts.as_slice() {
            [single] if self.scopes.is_cte(single) => return Resolved::NotATable,
            [first, _, ..] if self.scopes.is_alias(first) => return Resolved::NotATable,
            _ => {}
        }
        match self.render_parts(&parts) {
            Some(n) => Resolved::Table(n),
            None => Resolved::NotATable,
        }
    }

    /// Records a table read (after CTE/alias resolution).
    pub(crate) fn read(&mut self, name: &ObjectName) {
        if let Resolved::Table(n) = self.resolve_read(name) {
            self.cur.reads.push(n);
        }
    }

    /// Records a table written. Targets are never CTEs or aliases.
    pub(crate) fn write(&mut self, name: &ObjectName) -> Option<String> {
        let parts = names::parts(name, self.opts.dialect.is_bigquery())?;
        let n = self.render_parts(&parts)?;
        self.cur.writes.push(n.clone());
        Some(n)
    }

    /// Canonical name of a table written or dropped, without recording it.
    pub(crate) fn name_of(&mut self, name: &ObjectName) -> Option<String> {
        let parts = names::parts(name, self.opts.dialect.is_bigquery())?;
        self.render_parts(&parts)
    }

    /// Renders parts; known temp tables stay unqualified, also when named
    /// through BigQuery's `_SESSION` dataset.
    pub(crate) fn render_parts(&mut self, parts: &[&str]) -> Option<String> {
        let session = session_name(parts);
        if let Some(name) = session.or(match parts {
            [single] => Some(*single),
            _ => None,
        }) && let Some(t) = self.temps.iter().find(|t| t.eq_ignore_ascii_case(name))
        {
            return Some(t.clone());
        }
        if session.is_some() {
            // Another script's temp table: never qualified by the defaults.
            return Some(names::join_raw(parts));
        }
        match names::render(parts, self.opts) {
            Rendered::Name(n) => Some(n),
            Rendered::PartlyTemplated(n) => {
                self.problem(
                    ProblemKind::Template,
                    format!(
                        "the qualifier of table `{}` comes from a template expression; reported as `{n}`",
                        names::join_raw(parts).replace(names::PLACEHOLDER, "{template}")
                    ),
                );
                Some(n)
            }
            Rendered::Templated => {
                self.problem(
                    ProblemKind::Template,
                    "table name comes from a template expression",
                );
                None
            }
            Rendered::Empty => None,
        }
    }

    /// Registers a session temp table so later references stay unqualified.
    pub(crate) fn create_temp(&mut self, name: &ObjectName) -> Option<String> {
        let parts = names::parts(name, self.opts.dialect.is_bigquery())?;
        self.create_temp_parts(&parts)
    }

    pub(crate) fn create_temp_parts(&mut self, parts: &[&str]) -> Option<String> {
        if parts.is_empty() {
            return None;
        }
        let raw = match session_name(parts) {
            Some(name) => name.to_string(),
            None => names::join_raw(parts),
        };
        if !self.temps.iter().any(|t| t.eq_ignore_ascii_case(&raw)) {
            self.temps.push(raw.clone());
        }
        self.cur.writes.push(raw.clone());
        self.cur.temps.push(raw.clone());
        Some(raw)
    }

    /// `EXTERNAL_QUERY('connection', …)` reads from outside the warehouse:
    /// a named external source, so the table it feeds has an upstream.
    pub(crate) fn read_external(&mut self, connection: &str) {
        self.cur.reads.push(format!("external:{connection}"));
    }

    pub(crate) fn call_temp_function(&mut self, name: &ObjectName) {
        let [part] = name.0.as_slice() else {
            return;
        };
        let Some(ident) = part.as_ident() else {
            return;
        };
        let found = self
            .temp_functions
            .iter()
            .find(|f| f.eq_ignore_ascii_case(&ident.value))
            .cloned();
        if let Some(f) = found {
            self.cur.reads.push(f);
        }
    }

    /// Scans any AST node for nested queries and table factors (reads).
    pub(crate) fn scan<V: Visit + ?Sized>(&mut self, node: &V) {
        let mut scanner = Scan {
            walker: self,
            depth: 0,
        };
        let _ = node.visit(&mut scanner);
    }
}

/// `_SESSION.t` names the session temp table `t`.
fn session_name<'p>(parts: &[&'p str]) -> Option<&'p str> {
    match parts {
        [session, name] if session.eq_ignore_ascii_case("_session") => Some(name),
        _ => None,
    }
}

/// Finds the outermost queries and table factors inside a node and walks them
/// by hand; everything below them is skipped (the `depth` counter) because the
/// hand walk already covered it.
struct Scan<'w, 'o> {
    walker: &'w mut Walker<'o>,
    depth: u32,
}

impl Visitor for Scan<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if self.depth == 0 {
            self.walker.query(query);
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        if self.depth == 0 {
            self.walker.table_factor(tf);
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, _: &TableFactor) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    /// A call of a script's temp function reads whatever its body reads.
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.depth == 0
            && !self.walker.temp_functions.is_empty()
            && let Some(name) = called_function(expr)
        {
            self.walker.call_temp_function(name);
        }
        ControlFlow::Continue(())
    }

    /// A relation outside any query or table factor: only reachable through a
    /// statement kind the walker does not model. Counted as a read so no table
    /// is silently lost; the caller has already recorded the problem.
    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<()> {
        if self.depth == 0 {
            self.walker.read(name);
            self.walker.cur.low = true;
        }
        ControlFlow::Continue(())
    }
}
