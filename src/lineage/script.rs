//! Parsing a SQL text statement by statement, so one statement sqlparser
//! rejects does not lose the others.
//!
//! The text is tokenized once; sqlparser parses one statement at a time. On
//! an error the failed statement's tokens (up to the next `;` outside
//! parentheses) are recovered: `CREATE … AS <query>` forms sqlparser does not
//! know (CREATE TABLE FUNCTION, materialized views with PARTITION BY, …) get
//! their body parsed on its own, procedures get their BEGIN…END body parsed,
//! and everything else goes to the token-level [`fallback`] scanner. If even
//! tokenizing fails, the hand lexer splits the text and each piece is tried
//! again.

use sqlparser::dialect::Dialect as SpDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::fallback::{self, Found, Role, Tok};
use super::walker::Walker;
use super::{ExtractOptions, Extraction, ProblemKind, collapse};

/// Recovery parses nested bodies; this bounds how deep that may go.
const MAX_NEST: u32 = 3;

pub(crate) fn run(sql: &str, opts: &ExtractOptions) -> Extraction {
    let mut w = Walker::new(opts);
    let parsed = parse_text(sql, &mut w, 0);
    collapse::finish(w, parsed)
}

/// Parses and walks a whole text; returns whether every statement parsed.
fn parse_text(sql: &str, w: &mut Walker<'_>, nest: u32) -> bool {
    let d = w.opts.dialect.parser_dialect();
    match Tokenizer::new(d, sql).tokenize_with_location() {
        Ok(tokens) if block_keywords(&tokens) > MAX_BLOCKS_ON_NORMAL_STACK => {
            let parser = Parser::new(d).with_tokens_with_locations(tokens);
            stacker::grow(BIG_STACK, || parse_loop(parser, w, d, nest))
        }
        Ok(tokens) => parse_loop(
            Parser::new(d).with_tokens_with_locations(tokens),
            w,
            d,
            nest,
        ),
        Err(e) => {
            w.problem(
                ProblemKind::Tokenize,
                format!("tokenizer: {e}; statements split by the fallback lexer"),
            );
            split_and_retry(sql, w, nest);
            false
        }
    }
}

fn parse_loop(
    mut parser: Parser<'static>,
    w: &mut Walker<'_>,
    d: &'static dyn SpDialect,
    nest: u32,
) -> bool {
    let mut all_ok = true;
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        let next = parser.peek_token_ref();
        if next.token == Token::EOF {
            return all_ok;
        }
        w.line = Some(next.span.start.line + w.line_base);
        let start = parser.index();
        let err = match parser.parse_statement() {
            Ok(stmt) if at_statement_end(&parser) => {
                walk_and_drop(w, stmt, parser.index() - start);
                continue;
            }
            Ok(_) => format!(
                "unexpected {} after a statement",
                parser.peek_token_ref().token
            ),
            Err(e) => e.to_string(),
        };
        all_ok = false;
        let tokens = parser.into_tokens();
        let end = statement_end(&tokens, start);
        recover(&tokens[start..end], w, &err, nest);
        parser = Parser::new(d).with_tokens_with_locations(tokens);
        while parser.index() < end {
            parser.next_token_no_skip();
        }
    }
}

/// sqlparser's recursion limit guards expressions and queries but not
/// statement blocks (`BEGIN … END`, IF, WHILE, CASE, LOOP …), whose parsing
/// recurses once per level. Texts with many block keywords are therefore
/// parsed on a large stack; counting keywords over the tokens is cheap next
/// to parsing.
const MAX_BLOCKS_ON_NORMAL_STACK: usize = 32;

fn block_keywords(tokens: &[TokenWithSpan]) -> usize {
    use sqlparser::keywords::Keyword as K;
    tokens
        .iter()
        .filter(|t| {
            matches!(&t.token, Token::Word(w) if matches!(
                w.keyword,
                K::BEGIN | K::IF | K::WHILE | K::CASE | K::FOR | K::PROCEDURE
            ))
        })
        .count()
}

fn at_statement_end(parser: &Parser<'_>) -> bool {
    matches!(parser.peek_token_ref().token, Token::SemiColon | Token::EOF)
}

/// Index of the `;` ending the statement that starts at `start` (or the end).
fn statement_end(tokens: &[TokenWithSpan], start: usize) -> usize {
    let mut depth = 0i64;
    for (i, t) in tokens.iter().enumerate().skip(start) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::SemiColon if depth <= 0 => return i,
            _ => {}
        }
    }
    tokens.len()
}

/// Statements longer than this many tokens are walked and dropped on a
/// dedicated large stack.
const BIG_STATEMENT_TOKENS: usize = 4_000;
const BIG_STACK: usize = 256 * 1024 * 1024;

/// sqlparser builds long operator chains (`a + a + … + a`) iteratively, so the
/// AST can be far deeper than its recursion limit suggests; walking it (the
/// visitor recurses) and dropping it (drop glue recurses) would then overflow
/// a normal thread stack. Large statements get a big stack (reserved, only
/// touched pages are committed); small ones stay on the fast path.
fn walk_and_drop(w: &mut Walker<'_>, stmt: sqlparser::ast::Statement, tokens: usize) {
    if tokens > BIG_STATEMENT_TOKENS {
        stacker::grow(BIG_STACK, move || {
            w.top_level(&stmt);
            drop(stmt);
        });
    } else {
        w.top_level(&stmt);
    }
}

fn recover(tokens: &[TokenWithSpan], w: &mut Walker<'_>, err: &str, nest: u32) {
    w.problem(
        ProblemKind::Parse,
        format!("sqlparser rejected a statement ({err}); fallback used"),
    );
    if nest < MAX_NEST && recover_create(tokens, w, nest) {
        return;
    }
    let toks = fallback::from_sqlparser(tokens);
    record_fallback(w, &toks);
}

/// Records what the fallback scanner finds as one low-confidence statement.
fn record_fallback(w: &mut Walker<'_>, toks: &[Tok]) {
    w.flush();
    for found in fallback::scan(toks) {
        record_found(w, found);
    }
    w.cur.low = true;
    w.flush();
}

fn record_found(w: &mut Walker<'_>, found: Found) {
    let parts: Vec<&str> = found.parts.iter().map(String::as_str).collect();
    if found.role == Role::CreateTemp {
        w.create_temp_parts(&parts);
        return;
    }
    let Some(name) = w.render_parts(&parts) else {
        return;
    };
    match found.role {
        Role::Read => w.cur.reads.push(name),
        Role::Write => w.cur.writes.push(name),
        Role::Create => {
            w.cur.writes.push(name.clone());
            w.cur.created.push(name);
        }
        Role::Drop => w.cur.dropped.push(name),
        Role::CreateTemp => {}
    }
}

/// `CREATE <object> name … AS <query>` and `CREATE PROCEDURE … BEGIN … END`
/// that sqlparser rejects: the object name comes from the tokens, the body is
/// parsed on its own (high confidence when it parses).
fn recover_create(tokens: &[TokenWithSpan], w: &mut Walker<'_>, nest: u32) -> bool {
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let word = |k: usize, kw: &str| {
        sig.get(k)
            .is_some_and(|&i| matches!(&tokens[i].token, Token::Word(wd) if wd.quote_style.is_none() && wd.value.eq_ignore_ascii_case(kw)))
    };
    if !word(0, "create") {
        return false;
    }
    if (1..6).any(|k| word(k, "procedure")) {
        return recover_procedure(tokens, &sig, w, nest);
    }
    let mut depth = 0i64;
    for (k, &i) in sig.iter().enumerate() {
        match tokens[i].token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        let body_starts = word(k + 1, "select")
            || word(k + 1, "with")
            || sig
                .get(k + 1)
                .is_some_and(|&j| tokens[j].token == Token::LParen);
        if depth == 0 && word(k, "as") && body_starts {
            return recover_body(&tokens[..i], &tokens[i + 1..], w, nest);
        }
    }
    false
}

fn recover_body(
    header: &[TokenWithSpan],
    body: &[TokenWithSpan],
    w: &mut Walker<'_>,
    nest: u32,
) -> bool {
    let text = tokens_text(body);
    let d = w.opts.dialect.parser_dialect();
    let Ok(mut parser) = Parser::new(d).try_with_sql(&text) else {
        return false;
    };
    let Ok(sqlparser::ast::Statement::Query(q)) = parser.parse_statement() else {
        return false;
    };
    if !at_statement_end(&parser) {
        return false;
    }
    let _ = nest;
    w.flush();
    w.scopes.clear();
    let header_names: Vec<Found> = fallback::scan(&fallback::from_sqlparser(header))
        .into_iter()
        .filter(|f| f.role != Role::Read)
        .collect();
    for found in header_names {
        record_found(w, found);
    }
    let stmt = sqlparser::ast::Statement::Query(q);
    walk_and_drop(w, stmt, body.len());
    true
}

fn recover_procedure(
    tokens: &[TokenWithSpan],
    sig: &[usize],
    w: &mut Walker<'_>,
    nest: u32,
) -> bool {
    let is_kw = |i: usize, kw: &str| matches!(&tokens[i].token, Token::Word(wd) if wd.quote_style.is_none() && wd.value.eq_ignore_ascii_case(kw));
    let Some(&begin) = sig.iter().find(|&&i| is_kw(i, "begin")) else {
        return false;
    };
    let end = sig
        .iter()
        .rev()
        .find(|&&i| is_kw(i, "end"))
        .copied()
        .unwrap_or(tokens.len());
    if end <= begin {
        return false;
    }
    let text = tokens_text(&tokens[begin + 1..end]);
    w.flush();
    parse_text(&text, w, nest + 1);
    true
}

fn tokens_text(tokens: &[TokenWithSpan]) -> String {
    let mut s = String::new();
    for t in tokens {
        s.push_str(&t.token.to_string());
    }
    s
}

/// Tokenizing failed: split with the hand lexer and retry each piece, so one
/// bad string literal does not lose the whole file.
fn split_and_retry(sql: &str, w: &mut Walker<'_>, nest: u32) {
    let spans = fallback::lex_spans(sql);
    let mut start = 0;
    let mut piece_start_tok = 0;
    for (k, (tok, off)) in spans.iter().enumerate() {
        if *tok == Tok::Punct(';') || k + 1 == spans.len() {
            let end = if *tok == Tok::Punct(';') {
                *off
            } else {
                sql.len()
            };
            let toks: Vec<Tok> = spans[piece_start_tok..=k]
                .iter()
                .map(|(t, _)| t.clone())
                .collect();
            retry_piece(&sql[start..end], &toks, w, nest);
            start = (end + 1).min(sql.len());
            piece_start_tok = k + 1;
        }
    }
}

fn retry_piece(piece: &str, toks: &[Tok], w: &mut Walker<'_>, nest: u32) {
    if piece.trim().is_empty() {
        return;
    }
    let d = w.opts.dialect.parser_dialect();
    if nest < MAX_NEST
        && let Ok(parser) = Parser::new(d).try_with_sql(piece)
    {
        parse_loop(parser, w, d, nest + 1);
        return;
    }
    record_fallback(w, toks);
}
