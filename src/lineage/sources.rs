//! Where lineage comes from: the `lineage` section of `ripple.yaml`, the
//! path → target-table mapping of SQL files, and the plain records the
//! warehouse layer supplies (view definitions, job history).
//!
//! ```yaml
//! lineage:
//!   dialect: bigquery            # default
//!   default_project: my-proj     # qualifies 1- and 2-part names
//!   default_dataset: analytics   # qualifies 1-part names
//!   sources:
//!     - sql_files:
//!         root: sql                               # relative to ripple.yaml
//!         pattern: "{project}/{dataset}/{table}/*.sql"
//!     - sql_files:
//!         root: models
//!         pattern: "**/{table}.sql"
//!         dataset: marts                          # per-source defaults
//!     - views: {}                                 # INFORMATION_SCHEMA.VIEWS
//!     - jobs: { days: 30 }                        # INFORMATION_SCHEMA.JOBS
//!   max_file_bytes: 5242880      # default 5 MiB; larger SQL files are skipped
//! ```
//!
//! Patterns are matched against the path relative to `root`, segment by
//! segment: `{project}`, `{dataset}`, `{table}` capture (within one segment),
//! `*` matches any run of characters within a segment, `**` any number of
//! segments. Files that do not match are ignored. A file whose statements
//! write nothing (a bare SELECT) writes its mapped target; a file that writes
//! tables itself keeps its own targets.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::config::{JobsSource, SourceConfig, SourcesConfig, SqlFilesSource, ViewsSource};

/// A view: its fully qualified name and its SQL (the SELECT body, or a full
/// CREATE VIEW statement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewDefinition {
    pub name: String,
    pub sql: String,
}

/// A finished job: its query text, destination table (if any) and user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub query: String,
    pub destination: Option<String>,
    pub user: Option<String>,
}

/// What a path pattern captured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    pub project: Option<String>,
    pub dataset: Option<String>,
    pub table: Option<String>,
}

/// A compiled path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segments: Vec<String>,
}

impl PathPattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let segments: Vec<String> = pattern
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if segments.is_empty() {
            return Err("empty path pattern".into());
        }
        for s in &segments {
            let mut rest = s.as_str();
            while let Some(open) = rest.find('{') {
                let close = rest[open..]
                    .find('}')
                    .ok_or_else(|| format!("unclosed `{{` in pattern segment `{s}`"))?;
                let key = &rest[open + 1..open + close];
                if !matches!(key, "project" | "dataset" | "table") {
                    return Err(format!(
                        "unknown placeholder `{{{key}}}` (use {{project}}, {{dataset}}, {{table}})"
                    ));
                }
                rest = &rest[open + close + 1..];
            }
        }
        Ok(PathPattern { segments })
    }

    /// Matches a path relative to the source root.
    pub fn matches(&self, rel: &Path) -> Option<Captures> {
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let mut caps = Captures::default();
        match_segments(&self.segments, &parts, &mut caps).then_some(caps)
    }
}

fn match_segments(pat: &[String], parts: &[&str], caps: &mut Captures) -> bool {
    match pat.split_first() {
        None => parts.is_empty(),
        Some((p, rest)) if p == "**" => {
            (0..=parts.len()).any(|skip| match_segments(rest, &parts[skip..], caps))
        }
        Some((p, rest)) => {
            let Some((part, more)) = parts.split_first() else {
                return false;
            };
            let saved = caps.clone();
            if match_segment(p, part, caps) && match_segments(rest, more, caps) {
                return true;
            }
            *caps = saved;
            false
        }
    }
}

/// Matches one segment with literals, `*` and `{name}` captures (non-empty,
/// shortest first, backtracking).
fn match_segment(pat: &str, s: &str, caps: &mut Captures) -> bool {
    if pat.is_empty() {
        return s.is_empty();
    }
    if let Some(rest) = pat.strip_prefix('*') {
        return (0..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| match_segment(rest, &s[i..], caps));
    }
    if let Some(body) = pat.strip_prefix('{') {
        let close = body.find('}').unwrap_or(body.len());
        let key = &body[..close];
        let rest = body.get(close + 1..).unwrap_or("");
        for i in (1..=s.len()).filter(|&i| s.is_char_boundary(i)) {
            let saved = caps.clone();
            set_capture(caps, key, &s[..i]);
            if match_segment(rest, &s[i..], caps) {
                return true;
            }
            *caps = saved;
        }
        return false;
    }
    let lit_len = pat.find(['*', '{']).unwrap_or(pat.len());
    s.starts_with(&pat[..lit_len]) && match_segment(&pat[lit_len..], &s[lit_len..], caps)
}

fn set_capture(caps: &mut Captures, key: &str, value: &str) {
    let v = Some(value.to_string());
    match key {
        "project" => caps.project = v,
        "dataset" => caps.dataset = v,
        _ => caps.table = v,
    }
}

/// The target table of a mapped file: captured parts, then the source's
/// defaults, then the section's defaults. `None` without a `{table}`.
pub fn target_of(caps: &Captures, src: &SqlFilesSource, cfg: &SourcesConfig) -> Option<String> {
    let table = caps.table.as_deref()?;
    let dataset = caps
        .dataset
        .as_deref()
        .or(src.dataset.as_deref())
        .or(cfg.default_dataset.as_deref());
    let project = caps
        .project
        .as_deref()
        .or(src.project.as_deref())
        .or(cfg.default_project.as_deref());
    let parts: Vec<&str> = match dataset {
        Some(d) => project.into_iter().chain([d, table]).collect(),
        None => vec![table],
    };
    Some(parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(pattern: &str, path: &str) -> Option<Captures> {
        PathPattern::parse(pattern)
            .unwrap()
            .matches(Path::new(path))
    }

    #[test]
    fn bigquery_etl_layout() {
        let c = caps("{project}/{dataset}/{table}/*.sql", "p/d/t_v1/query.sql").unwrap();
        assert_eq!(c.project.as_deref(), Some("p"));
        assert_eq!(c.dataset.as_deref(), Some("d"));
        assert_eq!(c.table.as_deref(), Some("t_v1"));
        assert!(caps("{project}/{dataset}/{table}/*.sql", "p/d/query.sql").is_none());
    }

    #[test]
    fn globstar_and_suffix() {
        let c = caps("**/{table}.sql", "a/b/orders.sql").unwrap();
        assert_eq!(c.table.as_deref(), Some("orders"));
        let c = caps("{dataset}__{table}.sqlx", "mart__daily.sqlx").unwrap();
        assert_eq!(c.dataset.as_deref(), Some("mart"));
        assert!(caps("**/{table}.sql", "x.sqlx").is_none());
        assert!(PathPattern::parse("{nope}.sql").is_err());
    }

    #[test]
    fn target_uses_defaults() {
        let src = SqlFilesSource {
            root: "m".into(),
            pattern: "**/{table}.sql".into(),
            project: None,
            dataset: Some("marts".into()),
            dialect: None,
        };
        let cfg = SourcesConfig {
            default_project: Some("p".into()),
            ..Default::default()
        };
        let c = Captures {
            table: Some("t".into()),
            ..Default::default()
        };
        assert_eq!(target_of(&c, &src, &cfg).as_deref(), Some("p.marts.t"));
    }

    #[test]
    fn config_is_strict_and_documented_shape_parses() {
        let json = r#"{"dialect":"bigquery","default_project":"p","sources":[
            {"sql_files":{"root":"sql","pattern":"{project}/{dataset}/{table}/*.sql"}},
            {"views":{}},{"jobs":{"days":7}}]}"#;
        let cfg: SourcesConfig = serde_json::from_str(json).unwrap();
        assert_eq!(cfg.sources.len(), 3);
        assert!(serde_json::from_str::<SourcesConfig>(r#"{"sorces":[]}"#).is_err());
        assert!(
            serde_json::from_str::<SourcesConfig>(r#"{"sources":[{"jobs":{"dayz":1}}]}"#).is_err()
        );
    }
}
