//! Fast path for expressions: the most frequent `Expr` shapes are walked by
//! hand (leaves cost nothing, subqueries go straight to the query walker);
//! anything else falls back to the generic [`Walker::scan`], so no variant
//! can hide a subquery. This keeps extraction within a few percent of
//! sqlparser's own parse time.

use sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, SelectItem};

use super::walker::Walker;

impl Walker<'_> {
    pub(crate) fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => {}
            Expr::BinaryOp { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
            Expr::UnaryOp { expr, .. }
            | Expr::Nested(expr)
            | Expr::IsNull(expr)
            | Expr::IsNotNull(expr)
            | Expr::IsTrue(expr)
            | Expr::IsFalse(expr)
            | Expr::Cast { expr, .. } => self.expr(expr),
            Expr::Subquery(q) => self.query(q),
            Expr::Exists { subquery, .. } => self.query(subquery),
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr(expr);
                self.query(subquery);
            }
            Expr::InList { expr, list, .. } => {
                self.expr(expr);
                self.exprs(list);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.expr(expr);
                self.expr(low);
                self.expr(high);
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(o) = operand {
                    self.expr(o);
                }
                for c in conditions {
                    self.expr(&c.condition);
                    self.expr(&c.result);
                }
                if let Some(e) = else_result {
                    self.expr(e);
                }
            }
            Expr::Function(f)
                if f.over.is_none() && f.filter.is_none() && f.within_group.is_empty() =>
            {
                if !self.temp_functions.is_empty() {
                    self.call_temp_function(&f.name);
                }
                self.function_args(&f.args);
                if !matches!(f.parameters, FunctionArguments::None) {
                    self.scan(&f.parameters);
                }
            }
            other => self.scan(other),
        }
    }

    pub(crate) fn exprs(&mut self, list: &[Expr]) {
        for e in list {
            self.expr(e);
        }
    }

    fn function_args(&mut self, args: &FunctionArguments) {
        match args {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(q) => self.query(q),
            FunctionArguments::List(list) => {
                for a in &list.args {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                        | FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        } => self.expr(e),
                        other => self.scan(other),
                    }
                }
                if !list.clauses.is_empty() {
                    self.scan(&list.clauses);
                }
            }
        }
    }

    pub(crate) fn select_items(&mut self, items: &[SelectItem]) {
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.expr(e)
                }
                other => self.scan(other),
            }
        }
    }
}
