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
//!
//! Memory is bounded per statement: a text over [`WHOLE_TEXT_BYTES`] is cut
//! into statements first, and a statement over [`PARSE_STATEMENT_TOKENS`]
//! goes straight to the fallback scanner (a `parse` problem says so).

use sqlparser::dialect::Dialect as SpDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::fallback::{self, Found, Role, Sig};
use super::walker::Walker;
use super::{ExtractOptions, Extraction, ProblemKind, collapse};

/// Recovery parses nested bodies; this bounds how deep that may go.
const MAX_NEST: u32 = 3;

pub(crate) fn run(sql: &str, opts: &ExtractOptions) -> Extraction {
    let mut w = Walker::new(opts);
    let parsed = parse_text(sql, &mut w, 0);
    collapse::finish(w, parsed)
}

/// Texts up to this size are tokenized by sqlparser in one go (the fast
/// path: nearly every real-world file). Larger texts are first cut into
/// statements by the hand lexer, so sqlparser's tokens and AST exist for one
/// statement at a time. sqlparser costs about 500 bytes per significant token
/// (≈70× the text for real SQL, ≈360× for dense `a, a, …`), so 64 KiB is at
/// most ≈25 MB.
const WHOLE_TEXT_BYTES: usize = 64 * 1024;

/// Statements up to this size are parsed without counting their tokens.
const SMALL_STATEMENT_BYTES: usize = 16 * 1024;

/// Statements with more significant tokens than this are not given to
/// sqlparser (≈16 MB at its ≈500 bytes per token): the fallback scanner reads
/// them in ≈25× their size (see [`fallback`]), where sqlparser would need
/// gigabytes for a 20 MB SELECT. Real statements up to ≈200 KB still parse.
pub(crate) const PARSE_STATEMENT_TOKENS: usize = 32 * 1024;

/// Parses and walks a whole text; returns whether every statement parsed.
fn parse_text(sql: &str, w: &mut Walker<'_>, nest: u32) -> bool {
    if sql.len() > WHOLE_TEXT_BYTES {
        return parse_pieces(sql, w, nest);
    }
    let d = w.opts.dialect.parser_dialect();
    match Tokenizer::new(d, sql).tokenize_with_location() {
        Ok(tokens) => parse_tokens(tokens, w, nest),
        Err(e) => {
            w.problem(
                ProblemKind::Tokenize,
                format!("tokenizer: {e}; statements split by the fallback lexer"),
            );
            parse_pieces(sql, w, nest);
            false
        }
    }
}

fn parse_tokens(tokens: Vec<TokenWithSpan>, w: &mut Walker<'_>, nest: u32) -> bool {
    let d = w.opts.dialect.parser_dialect();
    let deep = block_keywords(&tokens) > MAX_BLOCKS_ON_NORMAL_STACK;
    let parser = Parser::new(d).with_tokens_with_locations(tokens);
    if deep {
        stacker::grow(BIG_STACK, || parse_loop(parser, w, d, nest))
    } else {
        parse_loop(parser, w, d, nest)
    }
}

/// Cuts the text into statements with the hand lexer and handles each on its
/// own: parsed when small enough (and tokenizable), scanned otherwise. Line
/// numbers of problems stay those of the whole text.
fn parse_pieces(sql: &str, w: &mut Walker<'_>, nest: u32) -> bool {
    let mut all_ok = true;
    let outer_base = w.line_base;
    let (mut lines, mut counted) = (0u64, 0usize);
    for range in fallback::split_statements(sql) {
        lines += sql.as_bytes()[counted..range.start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted = range.start;
        w.line_base = outer_base + lines;
        all_ok &= parse_piece(&sql[range], w, nest);
    }
    w.line_base = outer_base;
    all_ok
}

fn parse_piece(piece: &str, w: &mut Walker<'_>, nest: u32) -> bool {
    w.line = Some(w.line_base + 1 + leading_newlines(piece));
    let tokens = if piece.len() > SMALL_STATEMENT_BYTES {
        fallback::Lexer::new(piece).count()
    } else {
        0
    };
    if tokens > PARSE_STATEMENT_TOKENS {
        w.problem(
            ProblemKind::Parse,
            format!(
                "statement of {} bytes and {tokens} tokens is over the parser's budget of \
                 {PARSE_STATEMENT_TOKENS} tokens; scanned by the fallback scanner",
                piece.len()
            ),
        );
        record_fallback(w, &fallback::lex(piece));
        return false;
    }
    let d = w.opts.dialect.parser_dialect();
    match Tokenizer::new(d, piece).tokenize_with_location() {
        Ok(tokens) => parse_tokens(tokens, w, nest),
        Err(_) => {
            record_fallback(w, &fallback::lex(piece));
            false
        }
    }
}

fn leading_newlines(piece: &str) -> u64 {
    let blank = piece.len() - piece.trim_start().len();
    piece[..blank].matches('\n').count() as u64
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
fn record_fallback(w: &mut Walker<'_>, toks: &[Sig<'_>]) {
    w.flush();
    for found in fallback::scan(toks, &w.temp_functions) {
        record_found(w, found);
    }
    w.cur.low = true;
    w.flush();
}

fn record_found(w: &mut Walker<'_>, found: Found) {
    let parts: Vec<&str> = found.parts.iter().map(String::as_str).collect();
    match found.role {
        Role::CreateTemp => {
            w.create_temp_parts(&parts);
            return;
        }
        Role::CreateTempFunction => {
            if let Some(f) = w.create_temp_parts(&parts) {
                w.temp_functions.push(f);
            }
            return;
        }
        Role::External => {
            w.read_external(&found.parts.join("."));
            return;
        }
        _ => {}
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
        Role::CreateTemp | Role::CreateTempFunction | Role::External => {}
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
    let header_names: Vec<Found> = fallback::scan(&fallback::from_sqlparser(header), &[])
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
