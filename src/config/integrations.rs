//! The `slack:` and `github:` sections (their presence turns each integration on;
//! tokens come from the environment, never from here).

use serde::Deserialize;
use std::time::Duration;

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
    #[serde(default = "default_reopen_window", with = "crate::duration")]
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
