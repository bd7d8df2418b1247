//! YAML loading shared by `ripple.yaml` and rule files: parse with positions, deserialize
//! with serde, and turn every failure into a located [`Diagnostic`].
//!
//! A file is one document: a second one (after `---` or `...`) is an error at its
//! marker, not silently ignored. A leading UTF-8 byte-order mark is skipped (positions
//! stay as editors show them), and a scan error in a file indented with tabs says so.

use crate::diag::Diagnostic;
use marked_yaml::{LoadError, Marker, Node, Span};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Parses YAML text into a marked node tree, or a diagnostic saying where it broke.
pub fn parse(file: &Path, text: &str) -> Result<Node, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((line, marker)) = second_document(text) {
        let msg = format!(
            "a second YAML document starts at this `{marker}`; a file holds one document \
             (put the rest in another file, or remove the marker)"
        );
        return Err(Diagnostic::new(file, line, 1, msg));
    }
    let opts = marked_yaml::LoaderOptions::default().error_on_duplicate_keys(true);
    marked_yaml::parse_yaml_with_options(0, text, opts).map_err(|e| {
        let mut d = load_error(file, e);
        if let Some(line) = tab_indented(text) {
            d.message.push_str(&format!(
                "; line {line} is indented with a tab, and YAML indents with spaces only"
            ));
        }
        d
    })
}

/// The line (1-based) and marker of a document marker that follows content: `---`
/// after anything but comments and blank lines, or any content after `...`.
fn second_document(text: &str) -> Option<(usize, &'static str)> {
    let mut content = false;
    let mut ended: Option<usize> = None;
    for (i, line) in lines(text).enumerate() {
        let blank = line.trim().is_empty() || line.trim_start().starts_with('#');
        if is_marker(line, "---") {
            if content || ended.is_some() {
                return Some((i + 1, "---"));
            }
            content = true;
        } else if is_marker(line, "...") {
            ended.get_or_insert(i + 1);
        } else if !blank {
            if let Some(at) = ended {
                return Some((at, "..."));
            }
            content = true;
        }
    }
    None
}

/// A document marker at the start of a line: the three characters, then nothing, a
/// space or a tab.
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// The lines as YAML counts them: broken at `\n`, `\r\n` and a lone `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').flat_map(|l| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        l.split('\r')
    })
}

/// The first line (1-based) whose indentation holds a tab.
fn tab_indented(text: &str) -> Option<usize> {
    lines(text)
        .position(|l| {
            let indent = &l[..l.len() - l.trim_start().len()];
            indent.contains('\t')
        })
        .map(|i| i + 1)
}

/// Deserializes one node into `T`, locating serde's complaint in the file.
pub fn from_node<T: DeserializeOwned>(file: &Path, node: &Node) -> Result<T, Diagnostic> {
    marked_yaml::from_node(node).map_err(|e| {
        let (line, col) = match e.start_mark() {
            Some(m) => (m.line(), m.column()),
            None => line_col(node.span()),
        };
        let inner: &marked_yaml::Error = &e;
        let message = match (inner, e.path()) {
            (marked_yaml::Error::UnknownFieldError(..), _) | (_, None) => inner.to_string(),
            (_, Some(path)) => format!("{path}: {inner}"),
        };
        Diagnostic::new(file, line, col, humanize(&message))
    })
}

/// serde's wording ("Unknown field `x`, expected one of …") made consistent with ours.
fn humanize(msg: &str) -> String {
    let msg = msg.replacen("Unknown field", "unknown key", 1);
    let msg = msg.replacen("missing field", "missing key", 1);
    msg.replacen("unknown field", "unknown key", 1)
}

fn load_error(file: &Path, e: LoadError) -> Diagnostic {
    let (mark, what) = match &e {
        LoadError::TopLevelMustBeMapping(m) => (*m, "the top level must be a mapping".into()),
        LoadError::TopLevelMustBeSequence(m) => (*m, "the top level must be a list".into()),
        LoadError::UnexpectedAnchor(m) => (*m, "YAML anchors and aliases are not supported".into()),
        LoadError::MappingKeyMustBeScalar(m) => (*m, "mapping keys must be plain strings".into()),
        LoadError::UnexpectedTag(m) => (*m, "YAML tags (`!x`) are not supported".into()),
        LoadError::ScanError(m, s) => (*m, format!("invalid YAML: {}", scan_message(s))),
        LoadError::DuplicateKey(d) => {
            let m = d
                .key
                .span()
                .start()
                .copied()
                .unwrap_or(Marker::new(0, 0, 1, 1));
            (m, format!("duplicate key `{}`", d.key.as_str()))
        }
    };
    Diagnostic::new(file, mark.line().max(1), mark.column().max(1), what)
}

/// The scanner's message without its own "at byte N line L column C" suffix.
fn scan_message(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    match text.find(" at byte ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Line and column of a span's start (1,1 when unknown).
pub fn line_col(span: &Span) -> (usize, usize) {
    span.start()
        .map(|m| (m.line(), m.column()))
        .unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: u32,
    }

    #[test]
    fn unknown_key_is_located() {
        let f = Path::new("x.yaml");
        let node = parse(f, "a: 1\nb: 2\n").unwrap();
        let err = from_node::<T>(f, &node).unwrap_err();
        assert_eq!(err.to_string(), "x.yaml:2:1: unknown key `b`, expected `a`");
    }

    #[test]
    fn duplicate_key_is_located() {
        let f = Path::new("x.yaml");
        let err = parse(f, "a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.to_string(), "x.yaml:2:1: duplicate key `a`");
    }

    #[test]
    fn a_second_document_is_an_error_at_its_marker() {
        let f = Path::new("x.yaml");
        let err = parse(f, "a: 1\n---\na: 2\n").unwrap_err();
        assert_eq!((err.line, err.col), (2, 1));
        assert!(err.message.contains("second YAML document"), "{err}");
        let err = parse(f, "a: 1\n...\n# c\nb: 2\n").unwrap_err();
        assert_eq!((err.line, err.col), (2, 1));
        // A leading marker, a final `...` and `---` inside a value are one document.
        assert!(parse(f, "# c\n---\na: 1\n...\n").is_ok());
        assert!(parse(f, "a: |\n  x\n  ---\n").is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let f = Path::new("x.yaml");
        let node = parse(f, "\u{feff}a: 1\nb: 2\n").unwrap();
        let err = from_node::<T>(f, &node).unwrap_err();
        assert_eq!(err.to_string(), "x.yaml:2:1: unknown key `b`, expected `a`");
    }

    #[test]
    fn tabs_get_a_hint() {
        let f = Path::new("x.yaml");
        let err = parse(f, "a:\n\tb: 1\n").unwrap_err();
        assert!(
            err.message.contains("line 2 is indented with a tab"),
            "{err}"
        );
    }

    #[test]
    fn scan_errors_are_located() {
        let f = Path::new("x.yaml");
        let err = parse(f, "a: [1\n").unwrap_err();
        assert!(err.to_string().starts_with("x.yaml:"), "{err}");
        assert!(err.message.contains("invalid YAML"), "{err}");
    }
}
