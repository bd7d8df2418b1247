//! The token-level fallback scanner for statements sqlparser rejects (or that
//! are too large to give it).
//!
//! It never fails and never recurses: a linear pass over tokens that finds
//! table names in FROM / JOIN / INTO / MERGE / UPDATE / DELETE / TRUNCATE /
//! LOAD DATA / TABLE / VIEW contexts, skips CTE names, and ignores `FROM`
//! inside function calls such as `EXTRACT(YEAR FROM d)` (a FROM counts only
//! when a SELECT opened at the same parenthesis depth, or when it starts a
//! query, as pipe syntax does). Everything it finds is low-confidence.
//!
//! Array paths (`FROM t, t.arr`, and correlated `(SELECT … FROM t.arr)` in a
//! SELECT list that comes *before* `FROM ds.t t`) are removed after the pass,
//! once every range variable of the statement is known.
//!
//! Tokens borrow from the text (or from sqlparser's tokens): a token costs 32
//! bytes and whitespace costs nothing, so scanning a large statement stays
//! within a small multiple of its size. They come from sqlparser's tokenizer
//! when it succeeded, otherwise from [`Lexer`], a tiny hand lexer that accepts
//! any input; [`split_statements`] uses it to cut a text into statements
//! without holding any tokens.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use sqlparser::tokenizer::{Token, TokenWithSpan};

/// A simplified token, shared by both token sources.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok<'a> {
    Word {
        text: &'a str,
        quoted: bool,
    },
    Punct(char),
    Number(&'a str),
    /// A string literal's contents (escapes not processed).
    Str(&'a str),
    Other,
}

/// A significant token and whether whitespace (or a comment) preceded it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sig<'a> {
    pub tok: Tok<'a>,
    pub ws: bool,
}

/// What role a name found by the scanner plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Read,
    Write,
    Create,
    CreateTemp,
    /// `CREATE TEMP FUNCTION f`: its body's reads flow into its callers.
    CreateTempFunction,
    Drop,
    /// `EXTERNAL_QUERY('connection', …)`: the single part is the connection.
    External,
}

/// A table name found by the scanner, as raw parts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub role: Role,
    pub parts: Vec<String>,
}

/// Converts sqlparser tokens (the failed statement's slice).
pub(crate) fn from_sqlparser(tokens: &[TokenWithSpan]) -> Vec<Sig<'_>> {
    let mut out = Vec::with_capacity(tokens.len() / 2);
    let mut ws = false;
    for t in tokens {
        let tok = match &t.token {
            Token::Whitespace(_) => {
                ws = true;
                continue;
            }
            Token::Word(w) => Tok::Word {
                text: &w.value,
                quoted: w.quote_style.is_some(),
            },
            Token::Number(n, _) => Tok::Number(n),
            Token::SingleQuotedString(s)
            | Token::DoubleQuotedString(s)
            | Token::TripleSingleQuotedString(s)
            | Token::TripleDoubleQuotedString(s)
            | Token::SingleQuotedRawStringLiteral(s)
            | Token::DoubleQuotedRawStringLiteral(s)
            | Token::TripleSingleQuotedRawStringLiteral(s)
            | Token::TripleDoubleQuotedRawStringLiteral(s) => Tok::Str(s),
            Token::Period => Tok::Punct('.'),
            Token::Comma => Tok::Punct(','),
            Token::LParen => Tok::Punct('('),
            Token::RParen => Tok::Punct(')'),
            Token::SemiColon => Tok::Punct(';'),
            Token::Minus => Tok::Punct('-'),
            Token::Mul => Tok::Punct('*'),
            _ => Tok::Other,
        };
        out.push(Sig { tok, ws });
        ws = false;
    }
    out
}

/// Hand-lexes a whole text into significant tokens.
pub(crate) fn lex(text: &str) -> Vec<Sig<'_>> {
    Lexer::new(text).map(|(s, _)| s).collect()
}

/// A lexer that accepts anything: words, backtick/double-quoted identifiers,
/// strings (unterminated ones run to the end), comments, numbers, punctuation.
/// Yields each significant token with its starting byte offset.
pub(crate) struct Lexer<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lexer { text, i: 0 }
    }

    /// Skips whitespace and comments; true when there were any.
    fn skip_blank(&mut self) -> bool {
        let b = self.text.as_bytes();
        let start = self.i;
        loop {
            let i = self.i;
            self.i = match b.get(i) {
                Some(c) if c.is_ascii_whitespace() => skip_while(b, i, |c| c.is_ascii_whitespace()),
                Some(b'-') if b.get(i + 1) == Some(&b'-') => skip_while(b, i, |c| c != b'\n'),
                Some(b'#') => skip_while(b, i, |c| c != b'\n'),
                Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                    find(b, i + 2, b"*/").map_or(b.len(), |e| e + 2)
                }
                _ => return self.i > start,
            };
        }
    }

    /// Lexes the token at `self.i` (not blank); returns it and its end.
    fn token(&self) -> (Tok<'a>, usize) {
        let (text, b, i) = (self.text, self.text.as_bytes(), self.i);
        match b[i] {
            b'"' if text.get(i..i + 3) == Some("\"\"\"") => {
                let end = find(b, i + 3, b"\"\"\"").map_or(b.len(), |e| e + 3);
                (
                    Tok::Str(text.get(i + 3..end.max(i + 6) - 3).unwrap_or("")),
                    end,
                )
            }
            b'`' | b'"' => {
                let end = quoted_end(b, i);
                let inner = text.get(i + 1..end.saturating_sub(1).max(i + 1));
                let word = Tok::Word {
                    text: inner.unwrap_or(""),
                    quoted: true,
                };
                (word, end)
            }
            b'\'' if text.get(i..i + 3) == Some("'''") => {
                let end = find(b, i + 3, b"'''").map_or(b.len(), |e| e + 3);
                (
                    Tok::Str(text.get(i + 3..end.max(i + 6) - 3).unwrap_or("")),
                    end,
                )
            }
            b'\'' => {
                let end = quoted_end(b, i);
                let inner = text.get(i + 1..end.saturating_sub(1).max(i + 1));
                (Tok::Str(inner.unwrap_or("")), end)
            }
            c if c.is_ascii_digit() => {
                let end = skip_while(b, i, |c| {
                    c.is_ascii_alphanumeric() || c == b'.' || c == b'_'
                });
                (Tok::Number(&text[i..end]), end)
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let end = skip_while(b, i, |c| {
                    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
                });
                let word = Tok::Word {
                    text: &text[i..end],
                    quoted: false,
                };
                (word, end)
            }
            c => (Tok::Punct(c as char), i + 1),
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = (Sig<'a>, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let ws = self.skip_blank();
        if self.i >= self.text.len() {
            return None;
        }
        let start = self.i;
        let (tok, end) = self.token();
        // Never stop inside a UTF-8 sequence: the next token starts on a char.
        self.i = next_boundary(self.text, end.max(start + 1));
        Some((Sig { tok, ws }, start))
    }
}

fn next_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i.min(text.len())
}

fn skip_while(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// End (exclusive) of a quoted run starting at `i`, honouring backslash
/// escapes; an unterminated quote runs to the end of the input.
fn quoted_end(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// Byte ranges of the statements of `text` (without their `;`), found by the
/// hand lexer without keeping tokens. A `;` ends a statement only outside
/// parentheses and script blocks (`BEGIN … END`, `IF … END IF`, `CASE … END`,
/// loops), so a procedure or block stays one piece.
pub(crate) fn split_statements(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut parens = 0usize;
    let mut blocks = 0usize;
    let mut at_start = true;
    let mut swallow_next = false;
    let mut has_tokens = false;
    let mut lexer = Lexer::new(text).peekable();
    while let Some((sig, at)) = lexer.next() {
        if std::mem::take(&mut swallow_next) {
            continue;
        }
        let word = match sig.tok {
            Tok::Punct('(') => {
                parens += 1;
                None
            }
            Tok::Punct(')') => {
                parens = parens.saturating_sub(1);
                None
            }
            Tok::Punct(';') if parens == 0 && blocks == 0 => {
                if has_tokens {
                    out.push(start..at);
                }
                (start, has_tokens, at_start) = (at + 1, false, true);
                continue;
            }
            Tok::Word {
                text,
                quoted: false,
            } => Some(text),
            _ => None,
        };
        has_tokens = true;
        let next_is = |l: &mut std::iter::Peekable<Lexer<'_>>, kws: &[&str]| {
            l.peek().is_some_and(|(s, _)| match s.tok {
                Tok::Word {
                    text,
                    quoted: false,
                } => kws.iter().any(|k| text.eq_ignore_ascii_case(k)),
                Tok::Punct(';') => kws.contains(&";"),
                _ => false,
            })
        };
        let Some(w) = word else {
            at_start = sig.tok == Tok::Punct(';');
            continue;
        };
        let is = |k: &str| w.eq_ignore_ascii_case(k);
        if is("begin") {
            // `BEGIN;` / `BEGIN TRANSACTION` start a transaction, not a block.
            if !next_is(&mut lexer, &["transaction", ";"]) && lexer.peek().is_some() {
                blocks += 1;
            }
        } else if is("case") {
            blocks += 1;
        } else if is("end") {
            blocks = blocks.saturating_sub(1);
            swallow_next = next_is(
                &mut lexer,
                &["if", "while", "loop", "repeat", "for", "case"],
            );
        } else if at_start
            && ["if", "while", "loop", "repeat", "for"]
                .iter()
                .any(|k| is(k))
            && !glued_paren(&mut lexer)
        {
            // `IF(a, b, c)` right after THEN is the function, not a block.
            blocks += 1;
        }
        at_start = ["begin", "then", "else", "do", "loop", "repeat"]
            .iter()
            .any(|k| is(k));
    }
    if has_tokens {
        out.push(start..text.len());
    }
    out
}

fn glued_paren(l: &mut std::iter::Peekable<Lexer<'_>>) -> bool {
    l.peek()
        .is_some_and(|(s, _)| s.tok == Tok::Punct('(') && !s.ws)
}

/// Words that never start a table name in a FROM-like position.
const NOT_A_NAME: &[&str] = &[
    "select",
    "with",
    "unnest",
    "lateral",
    "where",
    "on",
    "using",
    "set",
    "values",
    "as",
    "if",
    "not",
    "exists",
    "table",
    "view",
    "function",
    "or",
    "replace",
    "temp",
    "temporary",
    "into",
    "from",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "outer",
    "group",
    "order",
    "by",
    "limit",
    "union",
    "except",
    "intersect",
    "qualify",
    "having",
    "window",
    "when",
    "then",
    "materialized",
    "recursive",
    "external_query",
    "row",
    "default",
    "null",
    "begin",
    "end",
    "overwrite",
];

fn is_not_a_name(w: &str) -> bool {
    NOT_A_NAME.iter().any(|k| w.eq_ignore_ascii_case(k))
}

fn is_kw(t: &Tok<'_>, kw: &str) -> bool {
    matches!(t, Tok::Word { text, quoted: false } if text.eq_ignore_ascii_case(kw))
}

/// A name found during the pass, before array paths are filtered out.
struct Candidate {
    found: Found,
    /// Statement index (`;`-separated) inside the scanned tokens.
    segment: usize,
    /// The range variable this name itself introduced, if any (lowercase).
    own_alias: Option<String>,
}

/// The scanner's state over the significant tokens.
struct Scanner<'s, 't> {
    sig: &'s [Sig<'t>],
    ctes: HashSet<String>,
    /// Range variables per (segment, lowercase name): how many introduced it.
    aliases: HashMap<(usize, String), usize>,
    /// Per parenthesis depth: whether a SELECT (or DELETE) opened there.
    select_at: Vec<bool>,
    found: Vec<Candidate>,
    in_merge: bool,
    created_any: bool,
    segment: usize,
    /// Temp functions known so far (lowercase): a call reads the function.
    temp_functions: HashSet<String>,
}

/// Scans one statement's tokens. `temp_functions` are the script's temp
/// functions known so far; a call of one is reported as a read of it.
pub(crate) fn scan(tokens: &[Sig<'_>], temp_functions: &[String]) -> Vec<Found> {
    let mut s = Scanner {
        sig: tokens,
        ctes: HashSet::new(),
        aliases: HashMap::new(),
        select_at: vec![false],
        found: Vec::new(),
        in_merge: false,
        created_any: false,
        segment: 0,
        temp_functions: temp_functions
            .iter()
            .map(|f| f.to_ascii_lowercase())
            .collect(),
    };
    s.run();
    s.finish()
}

impl<'s, 't> Scanner<'s, 't> {
    fn tok(&self, i: usize) -> Option<&'s Tok<'t>> {
        self.sig.get(i).map(|s| &s.tok)
    }

    fn kw(&self, i: usize, kw: &str) -> bool {
        self.tok(i).is_some_and(|t| is_kw(t, kw))
    }

    fn punct(&self, i: usize, c: char) -> bool {
        self.tok(i) == Some(&Tok::Punct(c))
    }

    fn glued(&self, i: usize) -> bool {
        self.sig.get(i).is_some_and(|s| !s.ws)
    }

    fn run(&mut self) {
        let mut i = 0;
        while i < self.sig.len() {
            i = self.step(i);
        }
    }

    /// Drops reads that are array paths of a range variable bound anywhere in
    /// the same statement (other than by the name itself).
    fn finish(self) -> Vec<Found> {
        let aliases = self.aliases;
        self.found
            .into_iter()
            .filter(|c| {
                if c.found.role != Role::Read || c.found.parts.len() < 2 {
                    return true;
                }
                let first = c.found.parts[0].to_ascii_lowercase();
                let bound = aliases
                    .get(&(c.segment, first.clone()))
                    .copied()
                    .unwrap_or(0);
                let own = usize::from(c.own_alias.as_deref() == Some(first.as_str()));
                bound <= own
            })
            .map(|c| c.found)
            .collect()
    }

    fn bind_alias(&mut self, name: &str) {
        let key = (self.segment, name.to_ascii_lowercase());
        *self.aliases.entry(key).or_default() += 1;
    }

    /// Handles the token at `i`; returns the index of the next one to look at.
    fn step(&mut self, i: usize) -> usize {
        match self.tok(i) {
            Some(Tok::Punct('(')) => {
                self.select_at.push(false);
                return i + 1;
            }
            Some(Tok::Punct(')')) => {
                if self.select_at.len() > 1 {
                    self.select_at.pop();
                }
                return i + 1;
            }
            Some(Tok::Punct(';')) => {
                self.select_at = vec![false];
                self.in_merge = false;
                self.segment += 1;
                return i + 1;
            }
            Some(Tok::Word { quoted: false, .. }) => {}
            _ => return i + 1,
        }
        self.note_cte(i);
        let Some(&Tok::Word { text, .. }) = self.tok(i) else {
            return i + 1;
        };
        if self.punct(i + 1, '(') {
            return self.call(i, text);
        }
        self.keyword(i, &text.to_ascii_lowercase())
    }

    /// `word(`: EXTERNAL_QUERY names its connection; a temp function call
    /// reads the function.
    fn call(&mut self, i: usize, name: &str) -> usize {
        if name.eq_ignore_ascii_case("external_query")
            && let Some(Tok::Str(conn)) = self.tok(i + 2)
        {
            let conn = conn.to_string();
            self.push(Role::External, vec![conn], None);
            return i + 3;
        }
        let dotted = i > 0 && self.punct(i - 1, '.');
        if !dotted && self.temp_functions.contains(&name.to_ascii_lowercase()) {
            self.push(Role::Read, vec![name.to_string()], None);
            return i + 1;
        }
        self.keyword(i, &name.to_ascii_lowercase())
    }

    fn keyword(&mut self, i: usize, word: &str) -> usize {
        match word {
            "select" => {
                if let Some(top) = self.select_at.last_mut() {
                    *top = true;
                }
                i + 1
            }
            "from" => self.from(i),
            "join" => self.table_list(i + 1, Role::Read),
            "into" if i > 0 && (self.kw(i - 1, "insert") || self.kw(i - 1, "merge")) => {
                self.name_at(i + 1, Role::Write)
            }
            "insert" if !self.kw(i + 1, "into") && !self.kw(i + 1, "row") => {
                self.name_at(i + 1, Role::Write)
            }
            "update" if !self.kw(i.wrapping_sub(1), "then") => self.name_at(i + 1, Role::Write),
            // `DELETE t WHERE …` (BigQuery allows omitting FROM).
            "delete" if !self.kw(i + 1, "from") && !self.kw(i.wrapping_sub(1), "then") => {
                self.name_at(i + 1, Role::Write)
            }
            "merge" => {
                self.in_merge = true;
                let j = if self.kw(i + 1, "into") { i + 2 } else { i + 1 };
                self.name_at(j, Role::Write)
            }
            "using" if self.in_merge && !self.punct(i + 1, '(') => self.name_at(i + 1, Role::Read),
            "create" => self.create(i),
            "drop" => self.drop(i),
            "truncate" => self.truncate(i),
            "load" if self.kw(i + 1, "data") => self.load_data(i + 2),
            "alter" => self.skip_object(i),
            "like" | "clone" if self.created_any => self.name_at(i + 1, Role::Read),
            "table" if i > 0 && (self.punct(i - 1, '(') || self.punct(i - 1, ',')) => {
                self.name_at(i + 1, Role::Read)
            }
            _ => i + 1,
        }
    }

    /// `WITH name AS (` / `, name AS (` declares a CTE.
    fn note_cte(&mut self, i: usize) {
        let prev_ok = i > 0
            && (self.kw(i - 1, "with") || self.kw(i - 1, "recursive") || self.punct(i - 1, ','));
        if prev_ok
            && self.kw(i + 1, "as")
            && self.punct(i + 2, '(')
            && let Some(Tok::Word { text, .. }) = self.tok(i)
        {
            self.ctes.insert(text.to_ascii_lowercase());
        }
    }

    /// `DELETE FROM t` writes; a FROM counts as a read when a SELECT opened at
    /// this depth (so `EXTRACT(YEAR FROM d)` is ignored) or when it starts a
    /// query (pipe syntax: `FROM t |> …`, `(FROM t)`, `AS FROM t`).
    fn from(&mut self, i: usize) -> usize {
        if i > 0 && self.kw(i - 1, "delete") {
            return self.name_at(i + 1, Role::Write);
        }
        let depth0 = self.select_at.len() == 1;
        let starts_query = i == 0
            || self.punct(i - 1, '(')
            || self.punct(i - 1, ';')
            || self.kw(i - 1, "as")
            || (depth0 && self.punct(i - 1, ')'));
        if starts_query || self.select_at.last().copied().unwrap_or(false) {
            return self.table_list(i + 1, Role::Read);
        }
        i + 1
    }

    /// A comma-separated list of FROM items starting at `i`.
    fn table_list(&mut self, mut i: usize, role: Role) -> usize {
        loop {
            // `FROM (t1 JOIN t2 …)`: a parenthesised join, not a subquery.
            while self.punct(i, '(') && !self.kw(i + 1, "select") && !self.kw(i + 1, "with") {
                self.select_at.push(true);
                i += 1;
            }
            let Some((parts, next)) = self.parse_name(i) else {
                return i;
            };
            // In a read position `name(` is a function call (UNNEST,
            // EXTERNAL_QUERY, a TVF …): left to `step`.
            if self.punct(next, '(') {
                return i;
            }
            let (alias, after) = self.alias_at(next);
            let range_var = alias
                .clone()
                .or_else(|| parts.last().map(|l| l.to_ascii_lowercase()));
            if let Some(v) = &range_var {
                self.bind_alias(v);
            }
            let own = if alias.is_some() { None } else { range_var };
            self.record(role, parts, own);
            i = after;
            if self.punct(i, ',') {
                i += 1;
                continue;
            }
            return i;
        }
    }

    /// An explicit alias (`AS a` / `a`) at `i`: the alias and the index after.
    fn alias_at(&self, i: usize) -> (Option<String>, usize) {
        let j = if self.kw(i, "as") { i + 1 } else { i };
        if let Some(Tok::Word { text, quoted }) = self.tok(j) {
            let lower = text.to_ascii_lowercase();
            if *quoted || !is_not_a_name(&lower) && !is_clause_word(&lower) {
                return (Some(lower), j + 1);
            }
        }
        (None, i)
    }

    fn create(&mut self, i: usize) -> usize {
        let mut j = i + 1;
        let mut temp = false;
        while let Some(Tok::Word {
            text,
            quoted: false,
        }) = self.tok(j)
        {
            match text.to_ascii_lowercase().as_str() {
                "or" | "replace" | "materialized" | "external" | "snapshot" | "if" | "not"
                | "exists" => j += 1,
                "temp" | "temporary" => {
                    temp = true;
                    j += 1;
                }
                "table" if self.kw(j + 1, "function") => {
                    return self.name_after_ifne(j + 2, Role::Write);
                }
                "function" if temp => {
                    return self.name_after_ifne(j + 1, Role::CreateTempFunction);
                }
                "table" | "view" => {
                    let role = match (temp, self.kw(j, "table")) {
                        (true, _) => Role::CreateTemp,
                        (false, true) => Role::Create,
                        (false, false) => Role::Write,
                    };
                    return self.name_after_ifne(j + 1, role);
                }
                _ => return j,
            }
        }
        j
    }

    fn drop(&mut self, i: usize) -> usize {
        let j = i + 1;
        if self.kw(j, "table") || self.kw(j, "view") {
            return self.name_after_ifne(j + 1, Role::Drop);
        }
        j
    }

    /// `TRUNCATE TABLE t` empties `t`: a write (with nothing read).
    fn truncate(&mut self, i: usize) -> usize {
        let j = if self.kw(i + 1, "table") {
            i + 2
        } else {
            i + 1
        };
        self.name_after_ifne(j, Role::Write)
    }

    /// `LOAD DATA [OVERWRITE | INTO] [TEMP TABLE] t …` writes `t`.
    fn load_data(&mut self, mut j: usize) -> usize {
        if self.kw(j, "overwrite") || self.kw(j, "into") {
            j += 1;
        }
        let mut role = Role::Write;
        if self.kw(j, "temp") || self.kw(j, "temporary") {
            role = Role::CreateTemp;
            j += 1;
        }
        if self.kw(j, "table") {
            j += 1;
        }
        self.name_at(j, role)
    }

    /// `ALTER TABLE t …`: skip the name, no lineage.
    fn skip_object(&mut self, i: usize) -> usize {
        let mut j = i + 1;
        if self.kw(j, "table") || self.kw(j, "view") {
            j += 1;
        }
        self.parse_name(j).map_or(j, |(_, next)| next)
    }

    fn name_after_ifne(&mut self, mut j: usize, role: Role) -> usize {
        if self.kw(j, "if") && self.kw(j + 1, "not") && self.kw(j + 2, "exists") {
            j += 3;
        } else if self.kw(j, "if") && self.kw(j + 1, "exists") {
            j += 2;
        }
        self.name_at(j, role)
    }

    /// Reads a table name at `i` and records it; returns the index after it,
    /// or `i` when there is no table name there. The name's last part is bound
    /// as a range variable (`UPDATE ds.t SET … (SELECT … FROM t.arr)`).
    fn name_at(&mut self, i: usize, role: Role) -> usize {
        let Some((parts, next)) = self.parse_name(i) else {
            return i;
        };
        if role == Role::Read && self.punct(next, '(') {
            return next;
        }
        let own = parts.last().map(|l| l.to_ascii_lowercase());
        if let Some(v) = &own {
            self.bind_alias(v);
        }
        self.record(role, parts, own);
        next
    }

    /// Records a name unless it is a CTE read.
    fn record(&mut self, role: Role, parts: Vec<String>, own_alias: Option<String>) {
        let is_cte = parts.len() == 1 && self.ctes.contains(&parts[0].to_ascii_lowercase());
        if role == Role::Read && is_cte {
            return;
        }
        if role == Role::Create {
            self.created_any = true;
        }
        if role == Role::CreateTempFunction
            && let Some(f) = parts.last()
        {
            self.temp_functions.insert(f.to_ascii_lowercase());
        }
        self.push(role, parts, own_alias);
    }

    fn push(&mut self, role: Role, parts: Vec<String>, own_alias: Option<String>) {
        self.found.push(Candidate {
            found: Found { role, parts },
            segment: self.segment,
            own_alias,
        });
    }

    /// `word(.word)*`, joining BigQuery hyphenated parts (`my-project`) when
    /// no whitespace separates them and splitting dotted quoted parts.
    fn parse_name(&self, mut i: usize) -> Option<(Vec<String>, usize)> {
        let mut parts = Vec::new();
        loop {
            let (more, next, dotted) = self.name_part(i, parts.is_empty())?;
            parts.extend(more);
            i = next;
            if dotted && matches!(self.tok(i), Some(Tok::Word { .. })) && self.glued(i) {
                continue;
            }
            if self.punct(i, '.') && self.glued(i) {
                i += 1;
                continue;
            }
            return Some((parts, i));
        }
    }

    /// One name part at `i` (a hyphenated run counts as one). Returns the
    /// parts, the index after them, and whether they ended with a dot that
    /// belongs to the name (`my-project-123.` lexed as a number `123.`).
    fn name_part(&self, i: usize, first: bool) -> Option<(Vec<String>, usize, bool)> {
        let Some(Tok::Word { text, quoted }) = self.tok(i) else {
            return None;
        };
        if *quoted {
            let parts = text.split('.').map(str::to_string).collect();
            return Some((parts, i + 1, false));
        }
        if first && is_not_a_name(text) {
            return None;
        }
        let mut parts = vec![text.to_string()];
        let mut j = i + 1;
        let mut dotted = false;
        // Hyphenated project names: `my-project`, `region-us`, `p-123`.
        while self.punct(j, '-') && self.glued(j) && self.glued(j + 1) {
            let last = parts.last_mut().expect("parts is never empty");
            match self.tok(j + 1) {
                Some(Tok::Word {
                    text,
                    quoted: false,
                }) => {
                    last.push('-');
                    last.push_str(text);
                }
                // `123.d` / `123.`: a number swallowed the dot (and maybe the
                // next part); the digits end this part, the rest follow.
                Some(Tok::Number(n)) => {
                    let mut pieces = n.split('.');
                    last.push('-');
                    last.push_str(pieces.next().unwrap_or(""));
                    let rest: Vec<&str> = pieces.collect();
                    if let Some((tail, mid)) = rest.split_last() {
                        parts.extend(mid.iter().map(|p| p.to_string()));
                        if tail.is_empty() {
                            dotted = true;
                        } else {
                            parts.push(tail.to_string());
                        }
                    }
                    j += 2;
                    break;
                }
                _ => break,
            }
            j += 2;
        }
        Some((parts, j, dotted))
    }
}

/// Clause words that may follow a FROM item without being its alias.
fn is_clause_word(w: &str) -> bool {
    matches!(
        w,
        "tablesample" | "for" | "pivot" | "unpivot" | "natural" | "asof" | "match_recognize"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<(Role, String)> {
        scan(&lex(sql), &[])
            .into_iter()
            .map(|f| (f.role, f.parts.join(".")))
            .collect()
    }

    #[test]
    fn finds_reads_writes_and_skips_noise() {
        let got = names(
            "WITH c AS (SELECT EXTRACT(YEAR FROM d) FROM `p.d.src` s, s.arr) \
             INSERT INTO my-proj.ds.out SELECT * FROM c JOIN other o ON TRUE",
        );
        assert_eq!(
            got,
            vec![
                (Role::Read, "p.d.src".into()),
                (Role::Write, "my-proj.ds.out".into()),
                (Role::Read, "other".into()),
            ]
        );
    }

    #[test]
    fn create_merge_drop() {
        let got = names(
            "CREATE TEMP TABLE t AS SELECT 1; MERGE x USING y ON a WHEN MATCHED THEN UPDATE SET a=1; \
             DROP TABLE IF EXISTS z; CREATE OR REPLACE TABLE FUNCTION d.f(a INT64) AS SELECT * FROM d.t",
        );
        assert_eq!(
            got,
            vec![
                (Role::CreateTemp, "t".into()),
                (Role::Write, "x".into()),
                (Role::Read, "y".into()),
                (Role::Drop, "z".into()),
                (Role::Write, "d.f".into()),
                (Role::Read, "d.t".into()),
            ]
        );
    }

    #[test]
    fn correlated_path_before_its_range_variable_is_not_a_table() {
        let got = names("SELECT (SELECT COUNT(*) FROM t.arr) AS n FROM ds.t t");
        assert_eq!(got, vec![(Role::Read, "ds.t".into())]);
        // A name's own implicit alias does not hide it.
        assert_eq!(names("SELECT * FROM t.t"), vec![(Role::Read, "t.t".into())]);
        // Aliases do not leak across statements.
        let got = names("SELECT 1 FROM x AS ds; SELECT 2 FROM ds.t");
        assert_eq!(got[1], (Role::Read, "ds.t".into()));
    }

    #[test]
    fn hyphenated_project_ending_in_digits() {
        let got = names("SELECT * FROM my-project-123.d.t JOIN p-1.d.u ON TRUE");
        assert_eq!(
            got,
            vec![
                (Role::Read, "my-project-123.d.t".into()),
                (Role::Read, "p-1.d.u".into()),
            ]
        );
    }

    #[test]
    fn writes_without_from_truncate_load_and_pipe_from() {
        let got = names(
            "DELETE ds.a WHERE x; TRUNCATE TABLE ds.b; LOAD DATA INTO ds.c FROM FILES(uris=['x']); \
             LOAD DATA OVERWRITE ds.d FROM FILES(); FROM ds.e |> JOIN ds.f USING (k)",
        );
        let want = [
            (Role::Write, "ds.a"),
            (Role::Write, "ds.b"),
            (Role::Write, "ds.c"),
            (Role::Write, "ds.d"),
            (Role::Read, "ds.e"),
            (Role::Read, "ds.f"),
        ];
        assert_eq!(got, want.map(|(r, n)| (r, n.to_string())));
    }

    #[test]
    fn external_query_and_temp_function_calls() {
        let got = scan(
            &lex("SELECT f(x), g(y) FROM EXTERNAL_QUERY('p.us.conn', 'SELECT 1')"),
            &["F".to_string()],
        );
        let got: Vec<(Role, String)> = got
            .into_iter()
            .map(|f| (f.role, f.parts.join(".")))
            .collect();
        assert_eq!(
            got,
            vec![
                (Role::Read, "f".into()),
                (Role::External, "p.us.conn".into())
            ]
        );
    }

    #[test]
    fn splits_statements_but_not_blocks() {
        let text = "SELECT 1; BEGIN SELECT 2; IF x THEN SELECT 3; END IF; END; \
                    BEGIN TRANSACTION; SELECT CASE WHEN a THEN 1 END; SELECT ';' -- ;\n";
        let pieces: Vec<&str> = split_statements(text)
            .into_iter()
            .map(|r| text[r].trim())
            .collect();
        assert_eq!(
            pieces,
            [
                "SELECT 1",
                "BEGIN SELECT 2; IF x THEN SELECT 3; END IF; END",
                "BEGIN TRANSACTION",
                "SELECT CASE WHEN a THEN 1 END",
                "SELECT ';' -- ;",
            ]
        );
    }

    #[test]
    fn lexer_accepts_garbage() {
        for s in [
            "'unterminated",
            "`x",
            "/* open",
            "\"\"\"",
            "'''",
            "\u{1F600} ; -- x",
            "a\\",
            "'\\",
        ] {
            let _ = scan(&lex(s), &[]);
            let _ = split_statements(s);
        }
    }
}
