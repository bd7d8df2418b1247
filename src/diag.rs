//! Diagnostics: a problem found in a user's file, located as `file:line:col`.
//!
//! Every validation step (config, rules, SQL) reports through this one type so that
//! `ripple check` can list *every* problem at once, sorted, in the format editors and
//! CI annotations understand.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one file. Lines and columns are 1-based; 0 means "unknown".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: &Path, line: usize, col: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
        }
    }

    /// A problem located at a YAML span (or at the top of the file when the span is blank).
    pub fn at(file: &Path, span: &marked_yaml::Span, message: impl Into<String>) -> Self {
        let (line, col) = span
            .start()
            .map(|m| (m.line(), m.column()))
            .unwrap_or((1, 1));
        Diagnostic::new(file, line, col, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

/// Returns the closest candidate to `word` when it is a plausible typo (edit distance ≤ 2).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_a_compiler() {
        let d = Diagnostic::new(Path::new("rules/a.yaml"), 3, 7, "unknown key `sevrity`");
        assert_eq!(d.to_string(), "rules/a.yaml:3:7: unknown key `sevrity`");
    }

    #[test]
    fn suggests_close_words_only() {
        let keys = ["severity", "schedule", "sql"];
        assert_eq!(did_you_mean("sevrity", &keys), Some("severity"));
        assert_eq!(did_you_mean("owner", &keys), None);
    }
}
