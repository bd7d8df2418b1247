//! Walking queries: WITH, set operations, SELECT, FROM items and every kind of
//! table factor. This is where CTE scoping, alias binding and the
//! "UNNEST / array path / EXTERNAL_QUERY are not tables" rules live
//! (`EXTERNAL_QUERY('conn', …)` reads the external source `external:conn`).

use sqlparser::ast::{
    Cte, FunctionArg, ObjectName, Query, Select, SetExpr, TableAlias, TableFactor, TableWithJoins,
    With,
};

use super::names;
use super::walker::Walker;

/// Table-valued functions that are not tables themselves; their arguments
/// (subqueries, `TABLE t`) are still walked. Compared case-insensitively on
/// the last name part; `ML.*`/`AI.*`/`VECTOR_SEARCH`-style built-ins are
/// matched by their first part below.
const BUILTIN_TVFS: &[&str] = &[
    "unnest",
    "external_query",
    "appends",
    "changes",
    "gap_fill",
    "vector_search",
    "range_sessionize",
    "generate_array",
    "obj.fetch_metadata",
];

impl Walker<'_> {
    pub(crate) fn query(&mut self, q: &Query) {
        if !self.enter() {
            return;
        }
        self.scopes.push();
        if let Some(with) = &q.with {
            self.with(with);
        }
        self.set_expr(&q.body);
        if let Some(order_by) = &q.order_by {
            self.scan(order_by);
        }
        if let Some(limit) = &q.limit_clause {
            self.scan(limit);
        }
        // Pipe syntax (`|> JOIN t`, `|> WHERE …`): table factors and
        // subqueries inside are found by the scanner.
        for op in &q.pipe_operators {
            self.scan(op);
        }
        self.scopes.pop();
        self.leave();
    }

    /// A CTE is visible to the CTEs after it and to the body — not inside its
    /// own definition unless the WITH is RECURSIVE (`WITH t AS (SELECT * FROM
    /// t)` reads the real table `t`).
    fn with(&mut self, with: &With) {
        for cte in &with.cte_tables {
            self.cte(cte, with.recursive);
        }
    }

    fn cte(&mut self, cte: &Cte, recursive: bool) {
        let name = cte.alias.name.value.as_str();
        if recursive {
            self.scopes.bind_cte(name);
        }
        self.query(&cte.query);
        if !recursive {
            self.scopes.bind_cte(name);
        }
    }

    pub(crate) fn set_expr(&mut self, body: &SetExpr) {
        if !self.enter() {
            return;
        }
        match body {
            SetExpr::Select(select) => self.select(select),
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left);
                self.set_expr(right);
            }
            SetExpr::Values(values) => self.scan(values),
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
                self.statement(s)
            }
            SetExpr::Table(t) => {
                if let Some(name) = &t.table_name {
                    let mut parts: Vec<&str> = t.schema_name.iter().map(String::as_str).collect();
                    parts.push(name);
                    let on = ObjectName::from(
                        parts
                            .into_iter()
                            .map(sqlparser::ast::Ident::new)
                            .collect::<Vec<_>>(),
                    );
                    self.read(&on);
                }
            }
        }
        self.leave();
    }

    /// FROM items are bound left to right, so `FROM t, t.arr` and
    /// `JOIN UNNEST(t.arr)` see `t`; the other clauses see all of them, so a
    /// correlated subquery in SELECT/WHERE can use `FROM t.arr`.
    fn select(&mut self, s: &Select) {
        self.scopes.push();
        for twj in &s.from {
            self.table_with_joins(twj);
        }
        for lv in &s.lateral_views {
            self.scan(&lv.lateral_view);
        }
        self.select_items(&s.projection);
        if let Some(e) = &s.prewhere {
            self.expr(e);
        }
        if let Some(e) = &s.selection {
            self.expr(e);
        }
        match &s.group_by {
            sqlparser::ast::GroupByExpr::Expressions(list, mods) if mods.is_empty() => {
                self.exprs(list)
            }
            other => self.scan(other),
        }
        if let Some(e) = &s.having {
            self.expr(e);
        }
        if let Some(e) = &s.qualify {
            self.expr(e);
        }
        self.scan(&s.named_window);
        self.scan(&s.connect_by);
        self.scan(&s.sort_by);
        self.scopes.pop();
    }

    pub(crate) fn table_with_joins(&mut self, twj: &TableWithJoins) {
        self.table_factor(&twj.relation);
        for join in &twj.joins {
            self.table_factor(&join.relation);
            self.scan(&join.join_operator);
        }
    }

    pub(crate) fn table_factor(&mut self, tf: &TableFactor) {
        if !self.enter() {
            return;
        }
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                version,
                ..
            } => {
                match args {
                    Some(args) => self.table_function(name, &args.args),
                    None => self.read(name),
                }
                if let Some(v) = version {
                    self.scan(v);
                }
                self.bind_table_alias(alias.as_ref(), Some(name));
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                self.query(subquery);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::TableFunction { expr, alias } => {
                self.scan(expr);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::Function {
                name, args, alias, ..
            } => {
                self.table_function(name, args);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset_alias,
                ..
            } => {
                self.scan(array_exprs);
                self.bind_table_alias(alias.as_ref(), None);
                if let Some(a) = with_offset_alias {
                    self.scopes.bind_alias(&a.value);
                }
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                self.table_with_joins(table_with_joins);
                self.bind_table_alias(alias.as_ref(), None);
            }
            _ => self.other_table_factor(tf),
        }
        self.leave();
    }

    /// PIVOT/UNPIVOT/MATCH_RECOGNIZE wrap another factor; JSON/XML tables and
    /// semantic views are dialect extras. Their inner factor is walked by hand
    /// and the remaining clauses are scanned for subqueries.
    fn other_table_factor(&mut self, tf: &TableFactor) {
        match tf {
            TableFactor::Pivot {
                table,
                aggregate_functions,
                value_column,
                value_source,
                default_on_null,
                alias,
            } => {
                self.table_factor(table);
                self.scan(aggregate_functions);
                self.scan(value_column);
                self.scan(value_source);
                self.scan(default_on_null);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::Unpivot {
                table,
                value,
                columns,
                alias,
                ..
            } => {
                self.table_factor(table);
                self.scan(value);
                self.scan(columns);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::MatchRecognize { table, alias, .. } => {
                self.table_factor(table);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::SemanticView { name, alias, .. } => {
                self.read(name);
                self.bind_table_alias(alias.as_ref(), Some(name));
            }
            TableFactor::JsonTable {
                json_expr, alias, ..
            }
            | TableFactor::OpenJsonTable {
                json_expr, alias, ..
            } => {
                self.scan(json_expr);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::XmlTable {
                row_expression,
                passing,
                alias,
                ..
            } => {
                self.scan(row_expression);
                self.scan(passing);
                self.bind_table_alias(alias.as_ref(), None);
            }
            TableFactor::UnpivotExpr { expression, .. } => self.scan(expression),
            // Handled by `table_factor`; listed so a new sqlparser variant is
            // noticed here rather than silently ignored.
            TableFactor::Table { .. }
            | TableFactor::Derived { .. }
            | TableFactor::TableFunction { .. }
            | TableFactor::Function { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::NestedJoin { .. } => {}
        }
    }

    /// `FROM f(args)`: built-in TVFs (UNNEST, EXTERNAL_QUERY, ML.*, …) are not
    /// tables; a user table function is read like a table (its own lineage
    /// comes from its CREATE TABLE FUNCTION). Arguments are always walked, so
    /// `ML.PREDICT(MODEL m, (SELECT … FROM t))` reads `t`.
    fn table_function(&mut self, name: &ObjectName, args: &[FunctionArg]) {
        if !is_builtin_tvf(name, self.opts.dialect.is_bigquery()) {
            self.read(name);
        } else if let Some(conn) = external_connection(name, args) {
            self.read_external(&conn);
        }
        for arg in args {
            self.scan(arg);
        }
    }

    /// Binds the range variable a FROM item introduces: its alias, or for a
    /// plain table its last name part (BigQuery's implicit alias).
    fn bind_table_alias(&mut self, alias: Option<&TableAlias>, name: Option<&ObjectName>) {
        if let Some(a) = alias {
            self.scopes.bind_alias(&a.name.value);
        } else if let Some(parts) = name.and_then(|n| names::parts(n, true))
            && let Some(last) = parts.last()
        {
            self.scopes.bind_alias(last);
        }
    }
}

/// The connection of `EXTERNAL_QUERY('connection', 'sql')`.
fn external_connection(name: &ObjectName, args: &[FunctionArg]) -> Option<String> {
    use sqlparser::ast::{Expr, FunctionArgExpr, Value};
    let last = name.0.last()?.as_ident()?;
    if !last.value.eq_ignore_ascii_case("external_query") {
        return None;
    }
    match args.first()? {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn is_builtin_tvf(name: &ObjectName, bigquery: bool) -> bool {
    let Some(parts) = names::parts(name, bigquery) else {
        return true;
    };
    let full = parts.join(".").to_ascii_lowercase();
    let first = parts
        .first()
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_default();
    let last = parts
        .last()
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(first.as_str(), "ml" | "ai" | "keys" | "vector_search")
        || BUILTIN_TVFS.contains(&last.as_str())
        || BUILTIN_TVFS.contains(&full.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::Ident;

    fn on(parts: &[&str]) -> ObjectName {
        ObjectName::from(parts.iter().map(|p| Ident::new(*p)).collect::<Vec<_>>())
    }

    #[test]
    fn builtin_table_functions_are_not_tables() {
        assert!(is_builtin_tvf(&on(&["EXTERNAL_QUERY"]), true));
        assert!(is_builtin_tvf(&on(&["ML", "PREDICT"]), true));
        assert!(is_builtin_tvf(&on(&["Unnest"]), true));
        assert!(!is_builtin_tvf(&on(&["d", "my_tvf"]), true));
    }
}
