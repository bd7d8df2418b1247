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
fn expand(text: &str, this: Option<&str>, problems: &mut Vec<Problem>) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(pos) = rest.find(['{', '$']) {
        let (head, tail) = rest.split_at(pos);
        out.push_str(head);
        let mut piece = String::new();
        match expand_one(tail, this, &mut piece, problems) {
            Some(consumed) => {
                changed = true;
                rest = &tail[consumed..];
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
                if ["{{", "{%", "${"].iter().any(|m| tail.starts_with(m)) {
                    problems.push(Problem::new(
                        ProblemKind::Template,
                        "unterminated template expression left as text",
                        None,
                    ));
                }
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Expands the template construct at the start of `s`; returns the bytes consumed.
fn expand_one(
    s: &str,
    this: Option<&str>,
    out: &mut String,
    problems: &mut Vec<Problem>,
) -> Option<usize> {
    if let Some(body) = s.strip_prefix("{{") {
        let end = body.find("}}")?;
        out.push_str(&jinja_expr(body[..end].trim(), this, problems));
        return Some(2 + end + 2);
    }
    if let Some(body) = s.strip_prefix("{%") {
        let end = body.find("%}")?;
        out.push(' ');
        return Some(2 + end + 2);
    }
    if let Some(body) = s.strip_prefix("{#") {
        let end = body.find("#}")?;
        out.push(' ');
        return Some(2 + end + 2);
    }
    if s.starts_with("$${") {
        out.push_str("${");
        return Some(3);
    }
    if let Some(body) = s.strip_prefix("${") {
        let end = matching_brace(body)?;
        out.push_str(&dollar_expr(body[..end].trim(), this, problems));
        return Some(2 + end + 1);
    }
    None
}

/// Index of the `}` closing an already-open brace, skipping JS strings.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 1usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
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
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
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
    let mut i = 0;
    let mut changed = false;
    while i < text.len() {
        let line_start = i == 0 || text.as_bytes()[i - 1] == b'\n';
        if line_start && let Some((len, keep)) = block_at(&text[i..], &BLOCKS) {
            let open = i + len;
            if let Some(close) = matching_brace(&text[open..]) {
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
