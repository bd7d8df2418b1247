//! The `lineage` section of `ripple.yaml`: where lineage comes from. The pattern
//! matching and the warehouse records are the lineage engine's (`lineage::sources`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Dialect;

/// SQL files larger than this are skipped with a problem unless `max_file_bytes` says
/// otherwise: a generated or vendored file must not take the whole run's memory.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// The `lineage` section of `ripple.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesConfig {
    pub dialect: Dialect,
    pub default_project: Option<String>,
    pub default_dataset: Option<String>,
    pub sources: Vec<SourceConfig>,
    /// SQL files larger than this are skipped with a problem.
    pub max_file_bytes: u64,
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            dialect: Dialect::default(),
            default_project: None,
            default_dataset: None,
            sources: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// One lineage source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    SqlFiles(SqlFilesSource),
    Views(ViewsSource),
    Jobs(JobsSource),
}

/// SQL files under `root` mapped to target tables by `pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlFilesSource {
    pub root: PathBuf,
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// Overrides the section's default project for these files.
    #[serde(default)]
    pub project: Option<String>,
    /// Overrides the section's default dataset for these files.
    #[serde(default)]
    pub dataset: Option<String>,
    /// Overrides the section's dialect for these files.
    #[serde(default)]
    pub dialect: Option<Dialect>,
}

fn default_pattern() -> String {
    "**/{table}.sql".to_string()
}

/// View definitions, fetched by the warehouse layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewsSource {
    /// INFORMATION_SCHEMA region qualifier (e.g. `region-us`) for the
    /// warehouse layer; the lineage engine does not use it.
    pub region: Option<String>,
}

/// Job history (query text + destination), fetched by the warehouse layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsSource {
    /// How many days of history the warehouse layer should read.
    #[serde(default = "default_days")]
    pub days: u32,
    #[serde(default)]
    pub region: Option<String>,
}

fn default_days() -> u32 {
    30
}
