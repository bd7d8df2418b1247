//! `serve:`: how the long-running service schedules, reloads, pings and stops.

use serde::Deserialize;
use std::time::Duration;

/// `serve:` in `ripple.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Each monitor runs up to this long after its tick (a stable per-monitor offset).
    #[serde(with = "crate::duration")]
    pub jitter: Duration,
    /// Poll the rules folder for changes (SIGHUP reloads too).
    pub watch_rules: bool,
    #[serde(with = "crate::duration")]
    pub reload_poll: Duration,
    /// How long in-flight runs may take to finish on SIGTERM.
    #[serde(with = "crate::duration")]
    pub shutdown_timeout: Duration,
    pub heartbeat: Option<HeartbeatConfig>,
    /// At start and reload, a monitor whose latest tick (at most this old) has no
    /// completed run runs at once.
    #[serde(with = "crate::duration")]
    pub catch_up: Duration,
    /// A Slack channel for notices about Ripple itself (downtime); the console when
    /// unset or without Slack.
    pub ops_channel: Option<String>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            jitter: Duration::from_secs(30),
            watch_rules: true,
            reload_poll: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(30),
            heartbeat: None,
            catch_up: Duration::from_secs(24 * 3600),
            ops_channel: None,
        }
    }
}

/// `serve.heartbeat` in `ripple.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// Pinged with GET; any 2xx counts.
    pub url: String,
    /// The shortest time between two pings.
    #[serde(default = "default_interval", with = "crate::duration")]
    pub interval: std::time::Duration,
}

fn default_interval() -> std::time::Duration {
    std::time::Duration::from_secs(60)
}
