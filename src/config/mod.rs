//! `ripple.yaml`: the deployment's configuration, validated without side effects.
//!
//! The bottom of the house: every section type lives here and nothing here imports the
//! app, an adapter or the rules. Unknown keys are errors (a typo must never silently
//! disable a feature). Secrets are never read from this file: they come from the
//! environment through [`Secrets`], whose `Debug` output is redacted.

mod dialect;
mod digest;
mod impact;
mod integrations;
mod lineage;
mod secrets;
mod sections;
mod serve;
mod severity;
mod validate;

pub use dialect::{Dialect, UnknownDialect};
pub use digest::{DigestConfig, DigestFilter};
pub use impact::{ImpactConfig, Weights};
pub use integrations::{EscalatePolicy, GithubConfig, OnRecovery, SlackConfig, SlackMode};
pub use lineage::{
    DEFAULT_MAX_FILE_BYTES, JobsSource, SourceConfig, SourcesConfig, SqlFilesSource, ViewsSource,
};
pub use secrets::{Secret, Secrets};
pub use sections::{
    BigqueryCredentials, Defaults, NotifyConfig, StateConfig, Synchronous, TeamConfig,
    WarehouseConfig,
};
pub use serve::{HeartbeatConfig, HttpConfig, ServeConfig};
pub use severity::Severity;

use crate::diag::Diagnostic;
use crate::yaml;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole configuration, with relative paths already resolved against its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub warehouse: WarehouseConfig,
    #[serde(default)]
    pub state: StateConfig,
    /// Folder of monitor rule files.
    #[serde(default = "default_rules_dir")]
    pub rules: PathBuf,
    #[serde(default)]
    pub teams: Vec<TeamConfig>,
    #[serde(default)]
    pub slack: Option<SlackConfig>,
    #[serde(default)]
    pub github: Option<GithubConfig>,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub notify: NotifyConfig,
    #[serde(default)]
    pub impact: ImpactConfig,
    /// Lineage sources (SQL files, views, job history); absent = no lineage.
    #[serde(default)]
    pub lineage: Option<SourcesConfig>,
    /// `ripple serve`: jitter, rule reload, heartbeat, shutdown.
    #[serde(default)]
    pub serve: ServeConfig,
    /// Scheduled digests of what is still open.
    #[serde(default)]
    pub digests: Vec<DigestConfig>,
    /// Folder of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The config file itself, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

fn default_rules_dir() -> PathBuf {
    "rules".into()
}

impl Config {
    /// Reads and validates a config file; every problem is returned at once.
    pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic::new(
                path,
                0,
                0,
                format!("cannot read the config file: {e} (pass --config or set RIPPLE_CONFIG)"),
            )]
        })?;
        Self::parse(path, &text)
    }

    /// Parses config text that was read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let node = yaml::parse(path, text).map_err(|d| vec![d])?;
        let mut cfg: Config = yaml::from_node(path, &node).map_err(|d| vec![d])?;
        cfg.path = path.to_path_buf();
        cfg.base_dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let problems = cfg.validate(&node);
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(problems)
        }
    }

    /// Resolves a path from the config against the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    pub fn team(&self, name: &str) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MINIMAL: &str = "warehouse:\n  kind: sqlite\n  path: wh\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let cfg = Config::parse(Path::new("conf/ripple.yaml"), MINIMAL).unwrap();
        assert_eq!(cfg.rules, PathBuf::from("rules"));
        assert_eq!(cfg.resolve(&cfg.rules), PathBuf::from("conf/rules"));
        assert_eq!(cfg.defaults.concurrency, 8);
    }

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let text = format!("{MINIMAL}defaults:\n  timeuot: 5s\n");
        let err = Config::parse(Path::new("r.yaml"), &text).unwrap_err();
        assert_eq!(err[0].line, 5);
        assert!(
            err[0].message.contains("unknown key `timeuot`"),
            "{}",
            err[0]
        );
    }

    #[test]
    fn bad_duration_names_the_format() {
        let text = format!("{MINIMAL}defaults:\n  timeout: soon\n");
        let err = Config::parse(Path::new("r.yaml"), &text).unwrap_err();
        assert!(
            err[0].message.contains("invalid duration `soon`"),
            "{}",
            err[0]
        );
    }

    #[test]
    fn duplicate_teams_are_reported() {
        let text = format!("{MINIMAL}teams:\n  - name: a\n  - name: a\n");
        let err = Config::parse(Path::new("r.yaml"), &text).unwrap_err();
        assert_eq!(err[0].to_string(), "r.yaml:6:11: duplicate team `a`");
    }

    #[test]
    fn github_section_defaults_and_team_override() {
        let text = format!(
            "{MINIMAL}github: {{ on_recovery: comment }}\nteams:\n  - {{ name: a, github_repo: o/r, github_on_recovery: close }}\n"
        );
        let cfg = Config::parse(Path::new("r.yaml"), &text).unwrap();
        let gh = cfg.github.unwrap();
        assert_eq!(gh.api_url, "https://api.github.com");
        assert_eq!(gh.on_recovery, OnRecovery::Comment);
        assert_eq!(gh.reopen_window, Duration::from_secs(86400));
        assert_eq!(cfg.teams[0].github_on_recovery, Some(OnRecovery::Close));
    }

    #[test]
    fn github_mistakes_are_reported() {
        let text = format!(
            "{MINIMAL}github:\n  label_colours: {{ ripple: red }}\nteams:\n  - {{ name: a, github_repo: just-a-name }}\n"
        );
        let err = Config::parse(Path::new("r.yaml"), &text).unwrap_err();
        let all: Vec<String> = err.iter().map(|d| d.message.clone()).collect();
        assert!(all[0].contains("`owner/repo`"), "{all:?}");
        assert!(all[1].contains("6-digit hex"), "{all:?}");
        let typo = format!("{MINIMAL}github:\n  on_recovry: close\n");
        assert!(Config::parse(Path::new("r.yaml"), &typo).is_err());
    }

    #[test]
    fn bigquery_warehouse_gets_defaults_and_rejects_unknown_keys() {
        let text = "warehouse:\n  kind: bigquery\n  project: acme\n  credentials: metadata\n";
        let cfg = Config::parse(Path::new("r.yaml"), text).unwrap();
        let WarehouseConfig::Bigquery {
            location,
            api_url,
            credentials,
            ..
        } = &cfg.warehouse
        else {
            panic!("{:?}", cfg.warehouse);
        };
        assert_eq!(location, "US");
        assert_eq!(api_url, "https://bigquery.googleapis.com/bigquery/v2");
        assert_eq!(*credentials, BigqueryCredentials::Metadata);
        let typo = "warehouse:\n  kind: bigquery\n  project: acme\n  api_ur: x\n";
        let err = Config::parse(Path::new("r.yaml"), typo).unwrap_err();
        assert!(
            err[0].message.contains("unknown key `api_ur`"),
            "{}",
            err[0]
        );
    }

    #[test]
    fn slack_section_defaults_and_mistakes() {
        let text = format!("{MINIMAL}slack: {{}}\n");
        let cfg = Config::parse(Path::new("r.yaml"), &text).unwrap();
        let slack = cfg.slack.unwrap();
        assert_eq!(slack.mode, SlackMode::Http);
        assert_eq!(slack.escalate.severities, ["critical", "high"]);
        assert_eq!(slack.impact_top, 5);
        let bad = format!(
            "{MINIMAL}slack:\n  mode: socket\n  escalate: {{ severities: [urgent], min_impact_score: 2 }}\n"
        );
        let err = Config::parse(Path::new("r.yaml"), &bad).unwrap_err();
        assert!(
            err[0].message.contains("`urgent` is not a severity"),
            "{err:?}"
        );
        assert!(err[1].message.contains("between 0 and 1"), "{err:?}");
        let typo = format!("{MINIMAL}slack:\n  escalte: {{}}\n");
        assert!(Config::parse(Path::new("r.yaml"), &typo).is_err());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secrets::from_lookup(|k| (k == "GITHUB_TOKEN").then(|| "ghp_x".to_string()));
        let shown = format!("{s:?}");
        assert!(!shown.contains("ghp_x"));
        assert_eq!(s.github_token.unwrap().expose(), "ghp_x");
    }
}
