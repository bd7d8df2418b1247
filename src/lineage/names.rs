//! Table names: from sqlparser's `ObjectName` to the canonical string form.
//!
//! Canonical form: every part kept, quotes and backticks stripped, original
//! case kept, parts joined with `.`. Partial names are qualified with the
//! default project/dataset when the options give them. Parts produced by a
//! template placeholder are dropped when they are leading qualifiers (so
//! `${project}.d.t` still yields `d.t`, qualified by the defaults, and the
//! walker reports a `template` problem) and make the whole name unknown when
//! they are the table part.

use sqlparser::ast::{ObjectName, ObjectNamePart};

use super::ExtractOptions;

/// The identifier the template renderer substitutes for unresolvable
/// expressions; chosen so it is a valid bare identifier in every dialect.
pub(crate) const PLACEHOLDER: &str = "__ripple_tpl__";

/// Splits a name into its parts. BigQuery allows `` `p.d.t` `` as one quoted
/// identifier; sqlparser already splits those in table clauses, and we split
/// again defensively for other positions (e.g. DML targets). Returns `None`
/// for names containing function parts (not a table).
pub(crate) fn parts(name: &ObjectName, bigquery: bool) -> Option<Vec<&str>> {
    let mut out = Vec::with_capacity(name.0.len());
    for part in &name.0 {
        let ObjectNamePart::Identifier(ident) = part else {
            return None;
        };
        if bigquery && ident.quote_style.is_some() && ident.value.contains('.') {
            out.extend(ident.value.split('.'));
        } else {
            out.push(ident.value.as_str());
        }
    }
    Some(out)
}

/// Outcome of rendering a table name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rendered {
    Name(String),
    /// A leading qualifier came from a template placeholder and was dropped;
    /// the name is the best one left (qualified by the defaults).
    PartlyTemplated(String),
    /// The table part came from a template placeholder: unknowable.
    Templated,
    Empty,
}

/// Renders parts into the canonical name, qualifying partial names.
pub(crate) fn render(parts: &[&str], opts: &ExtractOptions) -> Rendered {
    let Some((&table, _)) = parts.split_last() else {
        return Rendered::Empty;
    };
    if table.contains(PLACEHOLDER) {
        return Rendered::Templated;
    }
    let start = parts
        .iter()
        .position(|p| !p.contains(PLACEHOLDER))
        .unwrap_or(parts.len() - 1);
    let parts = &parts[start..];
    if parts.iter().all(|p| p.is_empty()) {
        return Rendered::Empty;
    }
    let name = qualified(parts, opts);
    if start > 0 {
        Rendered::PartlyTemplated(name)
    } else {
        Rendered::Name(name)
    }
}

fn qualified(parts: &[&str], opts: &ExtractOptions) -> String {
    let mut name = String::with_capacity(64);
    let missing = qualifiers(parts.len(), opts);
    for q in missing.into_iter().flatten() {
        name.push_str(q);
        name.push('.');
    }
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            name.push('.');
        }
        name.push_str(p);
    }
    name
}

/// The default qualifiers to prefix to a name of `len` parts. A project alone
/// is never prefixed to a one-part name (`p.t` would be a dataset `p`).
fn qualifiers(len: usize, opts: &ExtractOptions) -> [Option<&str>; 2] {
    let project = opts.default_project.as_deref();
    let dataset = opts.default_dataset.as_deref();
    match len {
        1 if dataset.is_some() => [project, dataset],
        2 => [project, None],
        _ => [None, None],
    }
}

/// Joins parts without qualification (used for temp tables, which live in
/// the script's own session and must not be prefixed).
pub(crate) fn join_raw(parts: &[&str]) -> String {
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::Ident;

    fn opts(p: Option<&str>, d: Option<&str>) -> ExtractOptions {
        ExtractOptions {
            default_project: p.map(String::from),
            default_dataset: d.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn qualifies_partial_names() {
        let o = opts(Some("p"), Some("d"));
        assert_eq!(render(&["t"], &o), Rendered::Name("p.d.t".into()));
        assert_eq!(render(&["x", "t"], &o), Rendered::Name("p.x.t".into()));
        assert_eq!(render(&["a", "b", "t"], &o), Rendered::Name("a.b.t".into()));
        let o = opts(Some("p"), None);
        assert_eq!(render(&["t"], &o), Rendered::Name("t".into()));
        let o = opts(None, Some("d"));
        assert_eq!(render(&["t"], &o), Rendered::Name("d.t".into()));
    }

    #[test]
    fn placeholders_drop_qualifiers_or_the_name() {
        let o = opts(Some("p"), None);
        let n = render(&[PLACEHOLDER, "d", "t"], &o);
        assert_eq!(n, Rendered::PartlyTemplated("p.d.t".into()));
        assert_eq!(render(&["d", PLACEHOLDER], &o), Rendered::Templated);
        let suffixed = format!("{PLACEHOLDER}_x");
        assert_eq!(render(&["d", &suffixed], &o), Rendered::Templated);
    }

    #[test]
    fn splits_dotted_backticks_for_bigquery_only() {
        let mut id = Ident::new("p.d.t");
        id.quote_style = Some('`');
        let name = ObjectName::from(vec![id]);
        assert_eq!(parts(&name, true).unwrap(), vec!["p", "d", "t"]);
        assert_eq!(parts(&name, false).unwrap(), vec!["p.d.t"]);
    }
}
