//! `ripple.yaml`: the deployment's configuration, validated without side effects.
//!
//! Unknown keys are errors (a typo must never silently disable a feature). Secrets are
//! never read from this file: they come from the environment through [`Secrets`], whose
//! `Debug` output is redacted so they cannot reach a log line.

use crate::diag::Diagnostic;
use crate::yaml;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    pub impact: crate::impact::ImpactConfig,
    /// Lineage sources (SQL files, views, job history); absent = no lineage.
    #[serde(default)]
    pub lineage: Option<crate::lineage::SourcesConfig>,
    /// `ripple serve`: jitter, rule reload, heartbeat, shutdown.
    #[serde(default)]
    pub serve: crate::app::serve::ServeConfig,
    /// Scheduled digests of what is still open.
    #[serde(default)]
    pub digests: Vec<crate::digest::DigestConfig>,
    /// Folder of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The config file itself, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// Where monitors run.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum WarehouseConfig {
    /// The embedded default: a folder with one SQLite file per dataset (`<dataset>.db`).
    Sqlite {
        path: PathBuf,
        /// SQL run by `ripple demo` to (re)create the warehouse.
        #[serde(default)]
        seed: Option<PathBuf>,
    },
    /// Google BigQuery, or anything that speaks its REST API (an emulator, a proxy).
    Bigquery {
        /// The project jobs run in (and are billed to).
        project: String,
        /// Where jobs run; also names the `region-…` of `INFORMATION_SCHEMA.JOBS_BY_PROJECT`.
        #[serde(default = "default_bq_location")]
        location: String,
        /// The REST API base, up to and including `/bigquery/v2`.
        #[serde(default = "default_bq_api")]
        api_url: String,
        #[serde(default)]
        credentials: BigqueryCredentials,
        /// IAM Credentials API base, for impersonating the teams' service accounts.
        #[serde(default = "default_iam_api")]
        iam_url: String,
        /// GCE/GKE metadata server, for `credentials: metadata`.
        #[serde(default = "default_metadata_url")]
        metadata_url: String,
    },
}

/// How Ripple authenticates to BigQuery. Key material comes from the environment only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BigqueryCredentials {
    /// Application default credentials: `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
    /// user credentials, then the metadata server.
    #[default]
    Adc,
    /// The service-account key file named by `GOOGLE_APPLICATION_CREDENTIALS`.
    KeyFile,
    /// The GCE/GKE metadata server (workload identity).
    Metadata,
    /// No credentials at all: for a local emulator.
    None,
}

/// Where Ripple keeps its own state (runs, incidents, outbox).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// SQLite file path, or a `sqlite:` URL.
    #[serde(default = "default_state_path")]
    pub path: PathBuf,
    /// SQLite `synchronous` in WAL mode: `full` (default) syncs every commit; `normal`
    /// syncs at checkpoints, which survives any process crash but may lose the last
    /// commits to a power loss (then a notification may be sent twice).
    #[serde(default)]
    pub synchronous: Synchronous,
}

/// How hard the store pushes each commit to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            path: default_state_path(),
            synchronous: Synchronous::Full,
        }
    }
}

/// A team: who owns monitors and where they hear about them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub name: String,
    #[serde(default)]
    pub slack_channel: Option<String>,
    /// `owner/repo` where the team's incidents become GitHub issues.
    #[serde(default)]
    pub github_repo: Option<String>,
    /// Logins assigned to every issue of the team, besides the rule's owners.
    #[serde(default)]
    pub github_assignees: Vec<String>,
    /// Overrides `github.on_recovery` for this team's issues.
    #[serde(default)]
    pub github_on_recovery: Option<OnRecovery>,
    /// Service accounts the team's rules may run as (`service_account:` in a rule).
    #[serde(default)]
    pub service_accounts: Vec<String>,
    /// Slack user-group ids (`S…`) invited to the team's incident channels and mentioned.
    #[serde(default)]
    pub slack_user_groups: Vec<String>,
    /// Overrides `slack.invite_consumers` for this team.
    #[serde(default)]
    pub slack_invite_consumers: Option<bool>,
}

/// Slack section; its presence turns Slack on (tokens come from the environment).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Web API base (`https://slack.com/api/`), a proxy or a test server.
    #[serde(default = "default_slack_api")]
    pub api_url: String,
    /// How `/ripple` reaches Ripple: `http` (a public URL) or `socket` (Socket Mode).
    #[serde(default)]
    pub mode: SlackMode,
    /// Which incidents get their own channel; the others post in the team's channel.
    #[serde(default)]
    pub escalate: EscalatePolicy,
    /// User-group ids (`S…`) invited to every incident channel.
    #[serde(default)]
    pub invite_user_groups: Vec<String>,
    /// Invite the impact report's top consumers whose e-mail maps to a Slack user
    /// (teams may override with `slack_invite_consumers`).
    #[serde(default)]
    pub invite_consumers: bool,
    /// Ranked impacted tables shown in the incident message; the rest are summarised.
    #[serde(default = "default_impact_top")]
    pub impact_top: usize,
}

/// How slash commands and button clicks arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    /// Slack POSTs to `/slack/commands` and `/slack/interactivity` (signed).
    #[default]
    Http,
    /// Ripple dials out over a WebSocket with `SLACK_APP_TOKEN`; no public URL.
    Socket,
}

/// Incidents that get a dedicated channel: a listed severity, or impact at least this high.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscalatePolicy {
    pub severities: Vec<String>,
    /// The best impacted table's score (0–1); absent = impact never escalates.
    pub min_impact_score: Option<f64>,
}

impl Default for EscalatePolicy {
    fn default() -> Self {
        EscalatePolicy {
            severities: vec!["critical".into(), "high".into()],
            min_impact_score: Some(0.5),
        }
    }
}

/// GitHub section; its presence turns GitHub on (tokens come from the environment).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubConfig {
    /// REST base URL: `https://api.github.com`, `https://ghe.example.com/api/v3`, a proxy.
    #[serde(default = "default_github_api")]
    pub api_url: String,
    /// What a recovery does to the issue (teams may override).
    #[serde(default)]
    pub on_recovery: OnRecovery,
    /// A relapse within this long after recovery reopens the issue instead of opening
    /// a new one.
    #[serde(default = "default_reopen_window", with = "humantime_serde_compat")]
    pub reopen_window: Duration,
    /// Label name → 6-digit hex colour, overriding Ripple's colours.
    #[serde(default)]
    pub label_colours: std::collections::BTreeMap<String, String>,
}

/// What happens to a GitHub issue when its incident recovers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRecovery {
    /// Comment and close.
    #[default]
    Close,
    /// Comment only; people close the issue themselves.
    Comment,
}

/// Defaults for every monitor that does not say otherwise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub grace: Duration,
    /// How many monitors may run at once.
    pub concurrency: usize,
    pub min_consecutive_failures: u32,
    /// How often an open incident is re-announced while it keeps failing.
    #[serde(with = "humantime_serde_compat")]
    pub repeat_interval: Duration,
    pub severity: String,
    /// Flap damping: the `flap_threshold`-th incident of a monitor opened within
    /// `flap_window` is held open (quietly) instead of resolving on the next pass.
    /// 0 turns damping off.
    pub flap_threshold: u32,
    #[serde(with = "humantime_serde_compat")]
    pub flap_window: Duration,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timeout: Duration::from_secs(300),
            grace: Duration::from_secs(600),
            concurrency: 8,
            min_consecutive_failures: 1,
            repeat_interval: Duration::from_secs(4 * 3600),
            severity: "medium".into(),
            flap_threshold: 3,
            flap_window: Duration::from_secs(3600),
        }
    }
}

/// Console notifier: used whenever Slack or GitHub is not configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// `stdout`, or a file to append to.
    #[serde(default = "default_console")]
    pub console: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            console: default_console(),
        }
    }
}

fn default_rules_dir() -> PathBuf {
    "rules".into()
}
fn default_state_path() -> PathBuf {
    ".ripple/state.db".into()
}
fn default_slack_api() -> String {
    "https://slack.com/api/".into()
}
fn default_impact_top() -> usize {
    5
}
fn default_github_api() -> String {
    "https://api.github.com".into()
}
fn default_reopen_window() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_bq_location() -> String {
    "US".into()
}
fn default_bq_api() -> String {
    "https://bigquery.googleapis.com/bigquery/v2".into()
}
fn default_iam_api() -> String {
    "https://iamcredentials.googleapis.com/v1".into()
}
fn default_metadata_url() -> String {
    "http://metadata.google.internal".into()
}
fn default_console() -> String {
    "stdout".into()
}

/// Durations written as `90s`, `10m`, `1h 30m`.
pub mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration `{text}` ({e}); write it like `90s`, `10m` or `1h 30m`"
            ))
        })
    }
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

    fn validate(&self, node: &marked_yaml::Node) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let teams = node.as_mapping().and_then(|m| m.get_sequence("teams"));
        let mut seen = std::collections::HashSet::new();
        for (i, team) in self.teams.iter().enumerate() {
            if !seen.insert(team.name.as_str()) {
                let span = teams
                    .and_then(|t| t.get_mapping(i))
                    .and_then(|m| m.get_scalar("name"))
                    .map(|n| *n.span());
                let (line, col) = span.as_ref().map(yaml::line_col).unwrap_or((1, 1));
                let msg = format!("duplicate team `{}`", team.name);
                out.push(Diagnostic::new(&self.path, line, col, msg));
            }
        }
        out.extend(self.validate_github());
        out.extend(self.validate_slack());
        out.extend(self.validate_digests());
        if self.defaults.concurrency == 0 {
            out.push(Diagnostic::new(
                &self.path,
                1,
                1,
                "defaults.concurrency must be at least 1",
            ));
        }
        out
    }

    /// `owner/repo` shapes and label colours: mistakes here would only show up as
    /// GitHub errors at the first incident.
    fn validate_github(&self) -> Vec<Diagnostic> {
        let mut msgs = Vec::new();
        for t in &self.teams {
            if let Some(repo) = &t.github_repo
                && !valid_repo(repo)
            {
                msgs.push(format!(
                    "team `{}`: github_repo `{repo}` must look like `owner/repo`",
                    t.name
                ));
            }
        }
        if let Some(gh) = &self.github {
            for (label, colour) in &gh.label_colours {
                if colour.len() != 6 || !colour.chars().all(|c| c.is_ascii_hexdigit()) {
                    msgs.push(format!(
                        "github.label_colours: `{label}` needs a 6-digit hex colour like `d93f0b`, not `{colour}`"
                    ));
                }
            }
        }
        msgs.into_iter()
            .map(|m| Diagnostic::new(&self.path, 1, 1, m))
            .collect()
    }

    /// Escalation severities must be real severities: a typo would silently never escalate.
    fn validate_slack(&self) -> Vec<Diagnostic> {
        let Some(slack) = &self.slack else {
            return Vec::new();
        };
        let mut msgs = Vec::new();
        for s in &slack.escalate.severities {
            if crate::rules::Severity::parse(s).is_none() {
                msgs.push(format!(
                    "slack.escalate.severities: `{s}` is not a severity ({})",
                    crate::rules::Severity::NAMES.join(", ")
                ));
            }
        }
        if let Some(score) = slack.escalate.min_impact_score
            && !(0.0..=1.0).contains(&score)
        {
            msgs.push(format!(
                "slack.escalate.min_impact_score must be between 0 and 1, not {score}"
            ));
        }
        msgs.into_iter()
            .map(|m| Diagnostic::new(&self.path, 1, 1, m))
            .collect()
    }

    /// Digest names, times, weekdays, zones and holidays: checked here so a typo fails
    /// `ripple check` instead of silently never sending.
    fn validate_digests(&self) -> Vec<Diagnostic> {
        let mut seen = std::collections::HashSet::new();
        let mut msgs = Vec::new();
        for d in &self.digests {
            if !seen.insert(d.name.as_str()) {
                msgs.push(format!("duplicate digest `{}`", d.name));
            }
            if let Err(e) = d.validate() {
                msgs.push(format!("digest `{}`: {e}", d.name));
            }
        }
        msgs.into_iter()
            .map(|m| Diagnostic::new(&self.path, 1, 1, m))
            .collect()
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

fn valid_repo(repo: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repo.split_once('/'), Some((o, r)) if ok(o) && ok(r))
}

/// A secret value: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every credential Ripple may use, read from the environment only.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub slack_bot_token: Option<Secret>,
    pub slack_app_token: Option<Secret>,
    pub slack_signing_secret: Option<Secret>,
    pub github_token: Option<Secret>,
    pub github_app_id: Option<Secret>,
    pub github_app_private_key: Option<Secret>,
    pub github_app_installation_id: Option<Secret>,
}

impl Secrets {
    /// Reads the conventional variables (empty values count as absent).
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let s = |k: &str| get(k).filter(|v| !v.is_empty()).map(Secret);
        Secrets {
            slack_bot_token: s("SLACK_BOT_TOKEN"),
            slack_app_token: s("SLACK_APP_TOKEN"),
            slack_signing_secret: s("SLACK_SIGNING_SECRET"),
            github_token: s("GITHUB_TOKEN"),
            github_app_id: s("GITHUB_APP_ID"),
            github_app_private_key: s("GITHUB_APP_PRIVATE_KEY"),
            github_app_installation_id: s("GITHUB_APP_INSTALLATION_ID"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
