//! Walking statements: which tables each statement kind writes, which it
//! reads, and how scripts (BEGIN…END, IF, WHILE, procedures) are flattened so
//! every inner statement gets its own lineage.

use sqlparser::ast::{
    AlterTableOperation, ConditionalStatementBlock, ConditionalStatements, CreateFunction,
    CreateTable, CreateTableLikeKind, Delete, Expr, FromTable, Insert, Merge, ObjectName,
    ObjectType, RenameTableNameKind, Statement, TableFactor, TableObject, Update,
};

use super::ProblemKind;
use super::walker::Walker;

impl Walker<'_> {
    /// Walks one top-level statement: scopes start empty, and the statement
    /// is closed afterwards.
    pub(crate) fn top_level(&mut self, s: &Statement) {
        self.scopes.clear();
        self.statement(s);
        self.flush();
    }

    /// Statements nested in a block each get their own lineage entry, so an
    /// IF with two INSERTs does not cross-wire their sources and targets.
    fn block(&mut self, statements: &[Statement]) {
        for s in statements {
            self.flush();
            self.statement(s);
            self.flush();
        }
    }

    pub(crate) fn statement(&mut self, s: &Statement) {
        if !self.enter() {
            return;
        }
        match s {
            Statement::Query(q) => self.query(q),
            Statement::Insert(i) => self.insert(i),
            Statement::Update(u) => self.update(u),
            Statement::Delete(d) => self.delete(d),
            Statement::Merge(m) => self.merge(m),
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::CreateView(cv) => {
                self.write(&cv.name);
                let created = self.name_of(&cv.name);
                self.cur.created.extend(created);
                self.query(&cv.query);
            }
            Statement::AlterView { name, query, .. } => {
                self.write(name);
                self.query(query);
            }
            Statement::CreateFunction(f) => self.create_function(f),
            Statement::ExportData(e) => self.query(&e.query),
            // Emptying or loading a table writes it (with nothing read).
            Statement::Truncate(t) => {
                for target in &t.table_names {
                    self.write(&target.name);
                }
            }
            Statement::LoadData { table_name, .. } => {
                self.write(table_name);
            }
            _ => self.control_statement(s),
        }
        self.leave();
    }

    /// Script control flow and statements that carry expressions only.
    fn control_statement(&mut self, s: &Statement) {
        match s {
            Statement::CreateProcedure { body, .. } => self.conditional(body),
            Statement::StartTransaction {
                statements,
                exception,
                ..
            } => {
                self.block(statements);
                for handler in exception.iter().flatten() {
                    self.block(&handler.statements);
                }
            }
            Statement::If(i) => {
                self.cond_block(&i.if_block);
                for b in &i.elseif_blocks {
                    self.cond_block(b);
                }
                if let Some(b) = &i.else_block {
                    self.cond_block(b);
                }
            }
            Statement::While(w) => self.cond_block(&w.while_block),
            Statement::Case(c) => {
                self.scan(&c.match_expr);
                for b in &c.when_blocks {
                    self.cond_block(b);
                }
                if let Some(b) = &c.else_block {
                    self.cond_block(b);
                }
            }
            Statement::Declare { stmts } => {
                for d in stmts {
                    self.scan(&d.assignment);
                    if let Some(q) = &d.for_query {
                        self.query(q);
                    }
                }
            }
            Statement::Set(set) => self.scan(set),
            Statement::Assert { condition, message } => {
                self.scan(condition);
                self.scan(message);
            }
            Statement::Call(f) => self.scan(f),
            Statement::Raise(r) => self.scan(r),
            Statement::Return(r) => self.scan(r),
            Statement::Execute { parameters, .. } => {
                self.problem(ProblemKind::DynamicSql, "EXECUTE IMMEDIATE is not analysed");
                self.cur.low = true;
                self.scan(parameters);
            }
            _ => self.ddl_statement(s),
        }
    }

    /// DROP/ALTER/RENAME feed the script pass; the rest have no lineage.
    fn ddl_statement(&mut self, s: &Statement) {
        match s {
            Statement::Drop {
                object_type: ObjectType::Table | ObjectType::View | ObjectType::MaterializedView,
                names,
                ..
            } => {
                for n in names {
                    let dropped = self.name_of(n);
                    self.cur.dropped.extend(dropped);
                }
            }
            Statement::AlterTable(at) => {
                for op in &at.operations {
                    if let AlterTableOperation::RenameTable { table_name } = op {
                        let (RenameTableNameKind::As(to) | RenameTableNameKind::To(to)) =
                            table_name;
                        self.rename(&at.name, to);
                    }
                }
            }
            Statement::RenameTable(renames) => {
                for r in renames {
                    self.rename(&r.old_name, &r.new_name);
                }
            }
            s if has_no_lineage(s) => {}
            other => {
                // Not modelled: collect every table it mentions as a read so
                // nothing is lost, and say so.
                let kind = statement_kind(other);
                self.problem(
                    ProblemKind::Unsupported,
                    format!("statement kind `{kind}` is not modelled; its tables are reported as low-confidence reads"),
                );
                self.cur.low = true;
                self.scan(other);
            }
        }
    }

    fn cond_block(&mut self, b: &ConditionalStatementBlock) {
        if let Some(c) = &b.condition {
            self.flush();
            self.scan(c);
        }
        self.conditional(&b.conditional_statements);
    }

    fn conditional(&mut self, c: &ConditionalStatements) {
        match c {
            ConditionalStatements::Sequence { statements } => self.block(statements),
            ConditionalStatements::BeginEnd(be) => self.block(&be.statements),
        }
    }

    fn insert(&mut self, i: &Insert) {
        match &i.table {
            TableObject::TableName(name) => {
                self.write(name);
            }
            TableObject::TableFunction(f) => self.scan(f),
            TableObject::TableQuery(q) => self.query(q),
        }
        if let Some(src) = &i.source {
            self.query(src);
        }
        self.scan(&i.assignments);
        self.scan(&i.on);
    }

    /// The target's alias is in scope for SET/WHERE; FROM items are reads.
    fn update(&mut self, u: &Update) {
        self.scopes.push();
        self.target_factor(&u.table.relation);
        for join in &u.table.joins {
            self.table_factor(&join.relation);
            self.scan(&join.join_operator);
        }
        if let Some(from) = &u.from {
            let (sqlparser::ast::UpdateTableFromKind::BeforeSet(items)
            | sqlparser::ast::UpdateTableFromKind::AfterSet(items)) = from;
            for twj in items {
                self.table_with_joins(twj);
            }
        }
        self.scan(&u.assignments);
        self.scan(&u.selection);
        self.scopes.pop();
    }

    /// `DELETE [FROM] t WHERE …` writes `t`; MySQL's `DELETE t1 FROM t1 JOIN
    /// t2` writes the listed tables and reads the rest.
    fn delete(&mut self, d: &Delete) {
        self.scopes.push();
        let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
        if d.tables.is_empty() {
            for (i, twj) in from.iter().enumerate() {
                if i == 0 {
                    self.target_factor(&twj.relation);
                    for join in &twj.joins {
                        self.table_factor(&join.relation);
                        self.scan(&join.join_operator);
                    }
                } else {
                    self.table_with_joins(twj);
                }
            }
        } else {
            for t in &d.tables {
                self.write(t);
            }
            for twj in from {
                self.table_with_joins(twj);
            }
        }
        for twj in d.using.iter().flatten() {
            self.table_with_joins(twj);
        }
        self.scan(&d.selection);
        self.scopes.pop();
    }

    /// MERGE writes its target and reads its source and every subquery in
    /// ON / WHEN clauses.
    fn merge(&mut self, m: &Merge) {
        self.scopes.push();
        self.target_factor(&m.table);
        self.table_factor(&m.source);
        self.scan(&*m.on);
        self.scan(&m.clauses);
        self.scopes.pop();
    }

    /// A DML target: written, and its alias bound for the rest of the statement.
    fn target_factor(&mut self, tf: &TableFactor) {
        match tf {
            TableFactor::Table { name, alias, .. } => {
                self.write(name);
                let bound = match alias {
                    Some(a) => Some(a.name.value.clone()),
                    None => name
                        .0
                        .last()
                        .and_then(|p| p.as_ident())
                        .map(|i| i.value.clone()),
                };
                if let Some(b) = bound {
                    self.scopes.bind_alias(&b);
                }
            }
            other => {
                self.problem(ProblemKind::Unsupported, "DML target is not a plain table");
                self.cur.low = true;
                self.table_factor(other);
            }
        }
    }

    fn create_table(&mut self, ct: &CreateTable) {
        if ct.temporary {
            self.create_temp(&ct.name);
        } else if let Some(n) = self.write(&ct.name) {
            self.cur.created.push(n);
        }
        if let Some(q) = &ct.query {
            self.query(q);
        }
        if let Some(CreateTableLikeKind::Parenthesized(like) | CreateTableLikeKind::Plain(like)) =
            &ct.like
        {
            self.read(&like.name);
        }
        if let Some(clone) = &ct.clone {
            self.read(clone);
        }
    }

    /// SQL function bodies can read tables. A TEMP function is treated like a
    /// temp table (its reads flow into the statements that call it); a
    /// persistent function is an object written by its CREATE when its body
    /// reads tables.
    fn create_function(&mut self, f: &CreateFunction) {
        let before = self.cur.reads.len();
        self.scan(&f.function_body);
        if self.cur.reads.len() == before {
            return;
        }
        if f.temporary {
            let name = self.create_temp(&f.name);
            if let Some(n) = name {
                self.temp_functions.push(n);
            }
        } else {
            self.write(&f.name);
        }
    }

    /// `ALTER TABLE d.a RENAME TO b`: BigQuery resolves a short new name in
    /// the old name's dataset.
    fn rename(&mut self, from: &ObjectName, to: &ObjectName) {
        let (Some(old), Some(new)) = (self.name_of(from), self.name_of(to)) else {
            return;
        };
        let new = if to.0.len() < from.0.len() {
            let keep = from.0.len() - to.0.len();
            let prefix: Vec<&str> = old.split('.').take(keep).collect();
            let to_raw: Vec<String> =
                to.0.iter()
                    .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
                    .collect();
            format!("{}.{}", prefix.join("."), to_raw.join("."))
        } else {
            new
        };
        self.cur.renamed = Some((old, new));
    }
}

/// Statement kinds that carry no table lineage at all.
fn has_no_lineage(s: &Statement) -> bool {
    matches!(
        s,
        Statement::Drop { .. }
            | Statement::Use(_)
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Comment { .. }
            | Statement::Grant(_)
            | Statement::Revoke(_)
            | Statement::Deny(_)
            | Statement::Analyze(_)
            | Statement::Explain { .. }
            | Statement::ExplainTable { .. }
            | Statement::CreateSchema { .. }
            | Statement::CreateDatabase { .. }
            | Statement::AlterSchema(_)
            | Statement::DropFunction(_)
            | Statement::DropProcedure { .. }
            | Statement::CreateRole(_)
            | Statement::CreateIndex(_)
            | Statement::AlterIndex { .. }
            | Statement::Print(_)
            | Statement::Throw(_)
            | Statement::Kill { .. }
            | Statement::Pragma { .. }
            | Statement::Deallocate { .. }
            | Statement::ShowFunctions { .. }
            | Statement::ShowVariable { .. }
            | Statement::ShowStatus { .. }
            | Statement::ShowVariables { .. }
            | Statement::ShowCreate { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowDatabases { .. }
            | Statement::ShowSchemas { .. }
            | Statement::ShowTables { .. }
            | Statement::ShowViews { .. }
            | Statement::ShowCollation { .. }
            | Statement::AlterTable(_)
    )
}

/// The statement's variant name, for problem messages.
fn statement_kind(s: &Statement) -> String {
    let text = format!("{s:?}");
    let end = text
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(text.len());
    text[..end].to_string()
}

/// The function an expression calls, if it is a call.
pub(crate) fn called_function(e: &Expr) -> Option<&ObjectName> {
    match e {
        Expr::Function(f) => Some(&f.name),
        _ => None,
    }
}
