//! Template rendering: Jinja/dbt (`{{ }}`, `{% %}`, `{# #}`), Dataform
//! (`${ref("x")}` and `.sqlx` `config {}` / `js {}` / `pre_operations {}`
//! blocks) and Terraform (`${var}`) are turned into plain SQL so lineage
//! survives templating.
//!
//! References become the tables they name (`ref('m')` → `m`, `source('s','t')`
//! → `s.t`, Dataform `ref("d","t")` → `d.t`). Any other expression becomes a
//! neutral placeholder identifier, which the name renderer drops when it is a
//! qualifier and reports when it is a table name. Statement tags (`{% … %}`)
//! and dbt `{{ config(…) }}` vanish. Both branches of an `{% if %}` are kept:
//! over-reporting a source is safer than missing one.

use std::borrow::Cow;

use super::names::PLACEHOLDER;
use super::{Problem, ProblemKind};

/// Rendered SQL plus what could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub sql: String,
    pub problems: Vec<Problem>,
}

/// Internal form that avoids copying untemplated text.
pub(crate) struct RenderedCow<'a> {
    pub sql: Cow<'a, str>,
    pub problems: Vec<Problem>,
}

/// Renders a possibly templated SQL text (flavour auto-detected).
pub fn render(text: &str) -> Rendered {
    let r = render_cow(text);
    Rendered {
        sql: r.sql.into_owned(),
        problems: r.problems,
    }
}

/// Like [`render`], with the table the text itself produces (Dataform
/// `${self()}`, dbt `{{ this }}`) when the caller knows it.
pub fn render_for(text: &str, this: Option<&str>) -> Rendered {
    let r = render_cow_for(text, this);
    Rendered {
        sql: r.sql.into_owned(),
        problems: r.problems,
    }
}

pub(crate) fn render_cow(text: &str) -> RenderedCow<'_> {
    render_cow_for(text, None)
}

pub(crate) fn render_cow_for<'a>(text: &'a str, this: Option<&str>) -> RenderedCow<'a> {
    let mut problems = Vec::new();
    if !text.contains('{') {
        return RenderedCow {
            sql: Cow::Borrowed(text),
            problems,
        };
    }
    let stripped = strip_sqlx_blocks(text);
    let base: &str = stripped.as_deref().unwrap_or(text);
    let sql = match expand(base, this, &mut problems) {
        Some(s) => Cow::Owned(s),
        None => match stripped {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(text),
        },
    };
    RenderedCow { sql, problems }
}

/// Expands template expressions; `None` when the text has none.
///
/// Linear in the text: each closing marker (`}}`, `%}`, `#}`) is searched for
/// at most once per position ([`Closers`]), and `${…}` brace matching shares a
/// scan budget ([`Budget`]), so thousands of unterminated openers cost one
/// pass, not one pass each. Unterminated openers are reported once, counted,
/// with the line of the first.
fn expand(text: &str, this: Option<&str>, problems: &mut Vec<Problem>) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut closers = Closers::default();
    let mut budget = Budget::for_text(text);
    let mut unterminated = Unterminated::default();
    let mut i = 0;
    let mut changed = false;
    while let Some(off) = text[i..].find(['{', '$']) {
        let pos = i + off;
        out.push_str(&text[i..pos]);
        let mut piece = String::new();
        let consumed = expand_one(
            text,
            pos,
            this,
            &mut piece,
            problems,
            &mut closers,
            &mut budget,
        );
        match consumed {
            Some(consumed) => {
                changed = true;
                i = pos + consumed;
                let rest = &text[i..];
                // `JOIN${ref("t")}` must not glue the name to the keyword.
                if out.ends_with(is_word_char) && piece.starts_with(is_word_char) {
                    out.push(' ');
                }
                out.push_str(&piece);
                if piece.ends_with(is_word_char) && rest.starts_with(is_word_char) {
                    out.push(' ');
                }
            }
            None => {
                if ["{{", "{%", "{#", "${"]
                    .iter()
                    .any(|m| text[pos..].starts_with(m))
                {
                    unterminated.note(pos);
                }
                out.push_str(&text[pos..pos + 1]);
                i = pos + 1;
            }
        }
    }
    out.push_str(&text[i..]);
    unterminated.report(text, problems);
    changed.then_some(out)
}

/// Counts unterminated openers; one problem for all of them.
#[derive(Default)]
struct Unterminated {
    count: usize,
    first: Option<usize>,
}

impl Unterminated {
    fn note(&mut self, pos: usize) {
        self.count += 1;
        self.first.get_or_insert(pos);
    }

    fn report(&self, text: &str, problems: &mut Vec<Problem>) {
        let Some(first) = self.first else { return };
        let line = text[..first].matches('\n').count() as u64 + 1;
        let msg = match self.count {
            1 => "unterminated template expression left as text".to_string(),
            n => format!("{n} unterminated template expressions left as text (first on this line)"),
        };
        problems.push(Problem::new(ProblemKind::Template, msg, Some(line)));
    }
}

/// The next occurrence of each closing marker at or after the last position
/// asked about. Positions only grow during one pass, so a cached answer (or
/// "none left") stays valid: each marker is searched for over the text once.
#[derive(Default)]
struct Closers {
    next: [Option<Option<usize>>; 3],
}

impl Closers {
    fn find(&mut self, text: &str, from: usize, which: usize, marker: &str) -> Option<usize> {
        match self.next[which] {
            Some(None) => return None,
            Some(Some(p)) if p >= from => return Some(p),
            _ => {}
        }
        let found = text[from..].find(marker).map(|p| p + from);
        self.next[which] = Some(found);
        found
    }
}

/// Brace matching for `${…}` and `.sqlx` blocks may scan far (JS strings,
/// nested braces). The budget allows a few full passes over the text in
/// total; once spent, each further match looks at most [`Budget::CAP`]
/// bytes, so unterminated openers cannot make the scan quadratic.
struct Budget {
    left: usize,
}

impl Budget {
    /// A real Dataform/Terraform expression is far shorter than this.
    const CAP: usize = 256;

    fn for_text(text: &str) -> Self {
        Budget {
            left: text.len().saturating_mul(4).max(1 << 16),
        }
    }

    /// [`matching_brace_within`] within the budget.
    fn matching_brace(&mut self, s: &str) -> Option<usize> {
        let limit = self.left.max(Self::CAP);
        let (found, scanned) = matching_brace_within(s, limit);
        self.left = self.left.saturating_sub(scanned);
        found
    }
}

/// Expands the template construct at `pos`; returns the bytes consumed.
fn expand_one(
    text: &str,
    pos: usize,
    this: Option<&str>,
    out: &mut String,
    problems: &mut Vec<Problem>,
    closers: &mut Closers,
    budget: &mut Budget,
) -> Option<usize> {
    let s = &text[pos..];
    let body_at = pos + 2;
    if s.starts_with("{{") {
        let end = closers.find(text, body_at, 0, "}}")? - body_at;
        out.push_str(&jinja_expr(s[2..2 + end].trim(), this, problems));
        return Some(2 + end + 2);
    }
    if s.starts_with("{%") {
        let end = closers.find(text, body_at, 1, "%}")? - body_at;
        out.push(' ');
        return Some(2 + end + 2);
    }
    if s.starts_with("{#") {
        let end = closers.find(text, body_at, 2, "#}")? - body_at;
        out.push(' ');
        return Some(2 + end + 2);
    }
    if s.starts_with("$${") {
        out.push_str("${");
        return Some(3);
    }
    if let Some(body) = s.strip_prefix("${") {
        let end = budget.matching_brace(body)?;
        out.push_str(&dollar_expr(body[..end].trim(), this, problems));
        return Some(2 + end + 1);
    }
    None
}

/// Index of the `}` closing an already-open brace, skipping JS strings,
/// looking at no more than `limit` bytes; also returns how many it looked at.
fn matching_brace_within(s: &str, limit: usize) -> (Option<usize>, usize) {
    let mut depth = 1usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if i >= limit {
            return (None, i);
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (Some(i), i + 1);
                }
            }
            _ => {}
        }
    }
    (None, s.len())
}

/// dbt / Jinja `{{ … }}`.
fn jinja_expr(expr: &str, this: Option<&str>, problems: &mut [Problem]) -> String {
    if expr == "this" {
        return this_or_placeholder(this);
    }
    if let Some(args) = call_args(expr, "ref") {
        // dbt: ref('model') or ref('package', 'model').
        if let Some(model) = args.last() {
            return model.clone();
        }
    }
    if let Some(args) = call_args(expr, "source")
        && args.len() == 2
    {
        return format!("{}.{}", args[0], args[1]);
    }
    if expr.starts_with("config(") || expr.starts_with("config (") {
        return String::new();
    }
    placeholder(expr, problems)
}

/// Dataform / Terraform `${ … }`.
fn dollar_expr(expr: &str, this: Option<&str>, problems: &mut Vec<Problem>) -> String {
    if expr == "self()" {
        return this_or_placeholder(this);
    }
    // `when(cond, "sql", "other sql")`: keep the first SQL branch, rendered.
    if let Some(args) = call_args(expr, "when")
        && let Some(sql) = args.first()
    {
        return expand(sql, this, problems).unwrap_or_else(|| sql.clone());
    }
    for f in ["ref", "resolve"] {
        if let Some(args) = call_args(expr, f)
            && let Some(name) = dataform_ref(expr, &args)
        {
            return name;
        }
    }
    placeholder(expr, problems)
}

/// Dataform refs: `ref("t")`, `ref("schema", "t")`, `ref({schema: "s", name: "t"})`.
fn dataform_ref(expr: &str, args: &[String]) -> Option<String> {
    if expr.contains('{') {
        let keyed = |key: &str| keyed_literal(expr, key);
        let name = keyed("name")?;
        return Some(match (keyed("database"), keyed("schema")) {
            (Some(db), Some(s)) => format!("{db}.{s}.{name}"),
            (None, Some(s)) => format!("{s}.{name}"),
            _ => name,
        });
    }
    match args {
        [t] => Some(t.clone()),
        [s, t] => Some(format!("{s}.{t}")),
        [d, s, t] => Some(format!("{d}.{s}.{t}")),
        _ => None,
    }
}

fn keyed_literal(expr: &str, key: &str) -> Option<String> {
    let at = expr.find(&format!("{key}:"))?;
    string_literals(&expr[at + key.len() + 1..])
        .into_iter()
        .next()
}

/// Plain values (dates, variables) are common and harmless, so nothing is
/// reported here; the name renderer reports the placeholder only if it lands
/// in a table name.
fn placeholder(_expr: &str, _problems: &mut [Problem]) -> String {
    PLACEHOLDER.to_string()
}

fn this_or_placeholder(this: Option<&str>) -> String {
    this.map_or_else(|| PLACEHOLDER.to_string(), |t| format!("`{t}`"))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The string-literal arguments of `name(...)` when `expr` is that call.
fn call_args(expr: &str, name: &str) -> Option<Vec<String>> {
    let rest = expr.strip_prefix(name)?.trim_start();
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    Some(string_literals(inner))
}

/// String literals (single or double quoted) in order of appearance.
fn string_literals(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices();
    while let Some((_, c)) = chars.next() {
        if c != '"' && c != '\'' && c != '`' {
            continue;
        }
        let mut lit = String::new();
        for (_, d) in chars.by_ref() {
            if d == c {
                break;
            }
            lit.push(d);
        }
        out.push(lit);
    }
    out
}

/// Dataform `.sqlx`: drops `config { … }` and `js { … }` blocks and unwraps
/// `pre_operations { … }` / `post_operations { … }` into plain statements.
/// Blocks are recognised only at the start of a line. `None` when there are none.
fn strip_sqlx_blocks(text: &str) -> Option<String> {
    const BLOCKS: [(&str, bool); 4] = [
        ("config", false),
        ("js", false),
        ("pre_operations", true),
        ("post_operations", true),
    ];
    let mut out = String::with_capacity(text.len());
    let mut budget = Budget::for_text(text);
    let mut i = 0;
    let mut changed = false;
    while i < text.len() {
        let line_start = i == 0 || text.as_bytes()[i - 1] == b'\n';
        if line_start && let Some((len, keep)) = block_at(&text[i..], &BLOCKS) {
            let open = i + len;
            if let Some(close) = budget.matching_brace(&text[open..]) {
                if keep {
                    out.push_str(&text[open..open + close]);
                    out.push_str(";\n");
                } else {
                    // Keep line count so later line numbers stay right.
                    let lines = text[i..open + close].matches('\n').count();
                    out.extend(std::iter::repeat_n('\n', lines));
                }
                i = open + close + 1;
                changed = true;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    changed.then_some(out)
}

/// If `s` starts with `<ws>keyword<ws>{`, the length up to and including `{`.
fn block_at(s: &str, blocks: &[(&str, bool)]) -> Option<(usize, bool)> {
    let trimmed = s.trim_start_matches([' ', '\t']);
    let indent = s.len() - trimmed.len();
    for &(kw, keep) in blocks {
        if let Some(after) = trimmed.strip_prefix(kw) {
            let rest = after.trim_start();
            if rest.starts_with('{') {
                return Some((indent + kw.len() + (after.len() - rest.len()) + 1, keep));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbt_refs_and_sources() {
        let r = render("select * from {{ ref('orders') }} join {{ source('raw', 'users') }} u");
        assert_eq!(r.sql, "select * from orders join raw.users u");
        let r = render(
            "{{ config(materialized='table') }}\nselect {{ var('x') }} from {{ ref('pkg', 'm') }}",
        );
        assert_eq!(r.sql, "\nselect __ripple_tpl__ from m");
        let r = render("{% if is_incremental() %}where a > 1{% endif %}{# note #}");
        assert_eq!(r.sql, " where a > 1  ");
    }

    #[test]
    fn dataform_and_terraform() {
        let r =
            render("SELECT * FROM ${ref(\"d\", \"t\")} JOIN ${ref({schema: \"s\", name: \"n\"})}");
        assert_eq!(r.sql, "SELECT * FROM d.t JOIN s.n");
        let r = render("SELECT * FROM `${project}.ds.t` WHERE x = '$${literal}'");
        assert_eq!(
            r.sql,
            "SELECT * FROM `__ripple_tpl__.ds.t` WHERE x = '${literal}'"
        );
    }

    #[test]
    fn self_and_spacing() {
        let r = render_for(
            "INSERT ${self()} SELECT 1 FROM a JOIN${ref(\"b\")} x",
            Some("p.d.t"),
        );
        assert_eq!(r.sql, "INSERT `p.d.t` SELECT 1 FROM a JOIN b x");
        assert_eq!(
            render("SELECT * FROM {{ this }}").sql,
            "SELECT * FROM __ripple_tpl__"
        );
    }

    #[test]
    fn sqlx_blocks() {
        let text = "config {\n  type: \"table\",\n  tags: [\"a\"]\n}\njs { const x = {a: 1}; }\npre_operations {\n  DECLARE d DATE\n}\nSELECT 1";
        let r = render(text);
        assert!(r.sql.contains("DECLARE d DATE\n;\n"), "{}", r.sql);
        assert!(!r.sql.contains("config"));
        assert!(r.sql.ends_with("SELECT 1"));
    }

    #[test]
    fn untemplated_text_is_borrowed() {
        assert!(matches!(render_cow("SELECT 1").sql, Cow::Borrowed(_)));
        assert!(matches!(
            render_cow("SELECT '{\"a\":1}'").sql,
            Cow::Borrowed(_)
        ));
    }
}
