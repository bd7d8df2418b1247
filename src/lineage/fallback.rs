//! The token-level fallback scanner for statements sqlparser rejects.
//!
//! It never fails and never recurses: a linear pass over tokens that finds
//! table names in FROM / JOIN / INTO / MERGE / UPDATE / TABLE / VIEW contexts,
//! skips CTE names and array paths, and ignores `FROM` inside function calls
//! such as `EXTRACT(YEAR FROM d)` (a FROM counts only when a SELECT opened at
//! the same parenthesis depth). Everything it finds is low-confidence.
//!
//! Tokens come from sqlparser's tokenizer when it succeeded, otherwise from
//! [`lex`], a tiny hand lexer that accepts any input.

use sqlparser::tokenizer::{Token, TokenWithSpan};

/// A simplified token, shared by both token sources.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Word { text: String, quoted: bool },
    Punct(char),
    Number(String),
    Ws,
    Other,
}

/// What role a name found by the scanner plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Read,
    Write,
    Create,
    CreateTemp,
    Drop,
}

/// A table name found by the scanner, as raw parts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub role: Role,
    pub parts: Vec<String>,
}

/// Converts sqlparser tokens (the failed statement's slice).
pub(crate) fn from_sqlparser(tokens: &[TokenWithSpan]) -> Vec<Tok> {
    tokens
        .iter()
        .map(|t| match &t.token {
            Token::Word(w) => Tok::Word {
                text: w.value.clone(),
                quoted: w.quote_style.is_some(),
            },
            Token::Number(n, _) => Tok::Number(n.clone()),
            Token::Whitespace(_) => Tok::Ws,
            Token::Period => Tok::Punct('.'),
            Token::Comma => Tok::Punct(','),
            Token::LParen => Tok::Punct('('),
            Token::RParen => Tok::Punct(')'),
            Token::SemiColon => Tok::Punct(';'),
            Token::Minus => Tok::Punct('-'),
            Token::Mul => Tok::Punct('*'),
            _ => Tok::Other,
        })
        .collect()
}

/// A lexer that accepts anything: words, backtick/double-quoted identifiers,
/// strings (unterminated ones run to the end), comments, numbers, punctuation.
#[cfg(test)]
pub(crate) fn lex(text: &str) -> Vec<Tok> {
    lex_spans(text).into_iter().map(|(t, _)| t).collect()
}

/// [`lex`] with each token's starting byte offset.
pub(crate) fn lex_spans(text: &str) -> Vec<(Tok, usize)> {
    let b = text.as_bytes();
    let mut out: Vec<(Tok, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        i = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                out.push((Tok::Ws, start));
                skip_while(b, i, |c| c.is_ascii_whitespace())
            }
            b'-' if b.get(i + 1) == Some(&b'-') => comment_end(b, i, &mut out),
            b'#' => comment_end(b, i, &mut out),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                out.push((Tok::Ws, start));
                find(b, i + 2, b"*/").map_or(b.len(), |e| e + 2)
            }
            b'`' | b'"' => {
                let end = quoted_end(b, i);
                let inner = text
                    .get(start + 1..end.saturating_sub(1).max(start + 1))
                    .unwrap_or("");
                if c == b'"' && text.get(start..start + 3) == Some("\"\"\"") {
                    out.push((Tok::Other, start));
                    find(b, i + 3, b"\"\"\"").map_or(b.len(), |e| e + 3)
                } else {
                    let word = Tok::Word {
                        text: inner.to_string(),
                        quoted: true,
                    };
                    out.push((word, start));
                    end
                }
            }
            b'\'' => {
                out.push((Tok::Other, start));
                if text.get(start..start + 3) == Some("'''") {
                    find(b, i + 3, b"'''").map_or(b.len(), |e| e + 3)
                } else {
                    quoted_end(b, i)
                }
            }
            c if c.is_ascii_digit() => {
                let end = skip_while(b, i, |c| {
                    c.is_ascii_alphanumeric() || c == b'.' || c == b'_'
                });
                out.push((Tok::Number(text[start..end].to_string()), start));
                end
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let end = skip_while(b, i, |c| {
                    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
                });
                let word = Tok::Word {
                    text: text[start..end].to_string(),
                    quoted: false,
                };
                out.push((word, start));
                end
            }
            c => {
                out.push((Tok::Punct(c as char), start));
                i + 1
            }
        };
    }
    out
}

fn skip_while(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

fn comment_end(b: &[u8], i: usize, out: &mut Vec<(Tok, usize)>) -> usize {
    out.push((Tok::Ws, i));
    skip_while(b, i, |c| c != b'\n')
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
];

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Word { text, quoted: false } if text.eq_ignore_ascii_case(kw))
}

/// The scanner's state over the significant (non-whitespace) tokens.
struct Scanner<'t> {
    /// Significant tokens, each with whether whitespace preceded it.
    sig: Vec<(&'t Tok, bool)>,
    ctes: Vec<String>,
    aliases: Vec<String>,
    /// Per parenthesis depth: whether a SELECT (or DELETE) opened there.
    select_at: Vec<bool>,
    found: Vec<Found>,
    in_merge: bool,
}

/// Scans one statement's tokens.
pub(crate) fn scan(tokens: &[Tok]) -> Vec<Found> {
    let mut sig = Vec::with_capacity(tokens.len());
    let mut ws = false;
    for t in tokens {
        if *t == Tok::Ws {
            ws = true;
        } else {
            sig.push((t, ws));
            ws = false;
        }
    }
    let mut s = Scanner {
        sig,
        ctes: Vec::new(),
        aliases: Vec::new(),
        select_at: vec![false],
        found: Vec::new(),
        in_merge: false,
    };
    s.run();
    s.found
}

impl Scanner<'_> {
    fn tok(&self, i: usize) -> Option<&Tok> {
        self.sig.get(i).map(|(t, _)| *t)
    }

    fn kw(&self, i: usize, kw: &str) -> bool {
        self.tok(i).is_some_and(|t| is_kw(t, kw))
    }

    fn punct(&self, i: usize, c: char) -> bool {
        self.tok(i) == Some(&Tok::Punct(c))
    }

    fn run(&mut self) {
        let mut i = 0;
        while i < self.sig.len() {
            i = self.step(i);
        }
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
                return i + 1;
            }
            Some(Tok::Word { quoted: false, .. }) => {}
            _ => return i + 1,
        }
        self.note_cte(i);
        let Some(Tok::Word { text, .. }) = self.tok(i) else {
            return i + 1;
        };
        match text.to_ascii_lowercase().as_str() {
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
            "merge" => {
                self.in_merge = true;
                let j = if self.kw(i + 1, "into") { i + 2 } else { i + 1 };
                self.name_at(j, Role::Write)
            }
            "using" if self.in_merge && !self.punct(i + 1, '(') => self.name_at(i + 1, Role::Read),
            "create" => self.create(i),
            "drop" => self.drop(i),
            "truncate" | "alter" => self.skip_object(i),
            "like" | "clone" if self.found.iter().any(|f| f.role == Role::Create) => {
                self.name_at(i + 1, Role::Read)
            }
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
            self.ctes.push(text.to_ascii_lowercase());
        }
    }

    /// `DELETE FROM t` writes; a FROM counts as a read only when a SELECT
    /// opened at this depth (so `EXTRACT(YEAR FROM d)` is ignored).
    fn from(&mut self, i: usize) -> usize {
        if i > 0 && self.kw(i - 1, "delete") {
            return self.name_at(i + 1, Role::Write);
        }
        if self.select_at.last().copied().unwrap_or(false) {
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
            let next = self.name_at(i, role);
            if next == i {
                return i;
            }
            i = self.skip_alias(next);
            if self.punct(i, ',') {
                i += 1;
                continue;
            }
            return i;
        }
    }

    fn skip_alias(&mut self, mut i: usize) -> usize {
        if self.kw(i, "as") {
            i += 1;
        }
        if let Some(Tok::Word { text, quoted }) = self.tok(i) {
            let lower = text.to_ascii_lowercase();
            if *quoted || !NOT_A_NAME.contains(&lower.as_str()) && !is_clause_word(&lower) {
                self.aliases.push(lower);
                return i + 1;
            }
        }
        i
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

    /// `TRUNCATE TABLE t`, `ALTER TABLE t …`: skip the name, no lineage.
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
    /// or `i` when there is no table name there.
    fn name_at(&mut self, i: usize, role: Role) -> usize {
        let Some((parts, next)) = self.parse_name(i) else {
            return i;
        };
        // In a read position `name(` is a function call (UNNEST,
        // EXTERNAL_QUERY, a TVF …); after a target it is a column list.
        if role == Role::Read && self.punct(next, '(') {
            return next;
        }
        let first = parts[0].to_ascii_lowercase();
        let is_cte = parts.len() == 1 && self.ctes.contains(&first);
        let is_path = parts.len() > 1 && self.aliases.contains(&first);
        if role == Role::Read && (is_cte || is_path) {
            return next;
        }
        if let Some(last) = parts.last() {
            self.aliases.push(last.to_ascii_lowercase());
        }
        self.found.push(Found { role, parts });
        next
    }

    /// `word(.word)*`, joining BigQuery hyphenated parts (`my-project`) when
    /// no whitespace separates them and splitting dotted quoted parts.
    fn parse_name(&self, mut i: usize) -> Option<(Vec<String>, usize)> {
        let mut parts = Vec::new();
        loop {
            let (part, next) = self.name_part(i, parts.is_empty())?;
            parts.extend(part);
            i = next;
            if self.punct(i, '.') && !self.sig.get(i).is_some_and(|(_, ws)| *ws) {
                i += 1;
                continue;
            }
            return Some((parts, i));
        }
    }

    fn name_part(&self, i: usize, first: bool) -> Option<(Vec<String>, usize)> {
        let Some(Tok::Word { text, quoted }) = self.tok(i) else {
            return None;
        };
        if *quoted {
            let parts = text.split('.').map(str::to_string).collect();
            return Some((parts, i + 1));
        }
        if first && NOT_A_NAME.contains(&text.to_ascii_lowercase().as_str()) {
            return None;
        }
        let mut s = text.clone();
        let mut j = i + 1;
        // Hyphenated project names: `my-project`, `region-us`, `p-123`.
        while self.punct(j, '-') && !self.sig[j].1 {
            match self.sig.get(j + 1) {
                Some((
                    Tok::Word {
                        text,
                        quoted: false,
                    },
                    false,
                ))
                | Some((Tok::Number(text), false)) => {
                    s.push('-');
                    s.push_str(text);
                    j += 2;
                }
                _ => break,
            }
        }
        Some((vec![s], j))
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
        scan(&lex(sql))
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
    fn lexer_accepts_garbage() {
        for s in [
            "'unterminated",
            "`x",
            "/* open",
            "\"\"\"",
            "\u{1F600} ; -- x",
            "a\\",
        ] {
            let _ = scan(&lex(s));
        }
    }
}
