//! The deployment's own sections: warehouse, state, teams, defaults, the console.

use super::OnRecovery;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

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

/// Defaults for every monitor that does not say otherwise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    #[serde(with = "crate::duration")]
    pub timeout: Duration,
    #[serde(with = "crate::duration")]
    pub grace: Duration,
    /// How many monitors may run at once.
    pub concurrency: usize,
    pub min_consecutive_failures: u32,
    /// How often an open incident is re-announced while it keeps failing.
    #[serde(with = "crate::duration")]
    pub repeat_interval: Duration,
    pub severity: String,
    /// Flap damping: the `flap_threshold`-th incident of a monitor opened within
    /// `flap_window` is held open (quietly) instead of resolving on the next pass.
    /// 0 turns damping off.
    pub flap_threshold: u32,
    #[serde(with = "crate::duration")]
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

fn default_state_path() -> PathBuf {
    ".ripple/state.db".into()
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
