//! `digests:`: when each digest is sent, where, and what it lists.

use super::Severity;
use crate::calendar::DigestSchedule;
use serde::Deserialize;

/// One digest in `ripple.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    pub name: String,
    /// Where it is posted (a Slack channel; the console sink prints it).
    pub channel: String,
    /// Local `HH:MM` times of the slots.
    pub times: Vec<String>,
    /// `mon`..`sun`; empty means every day.
    #[serde(default)]
    pub weekdays: Vec<String>,
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// `YYYY-MM-DD` local dates with no digest.
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub filter: DigestFilter,
    /// Also list open GitHub issues (Ripple's own) carrying this label.
    #[serde(default)]
    pub github_label: Option<String>,
    /// Items open longer than this are called out as stale.
    #[serde(default = "default_stale", with = "crate::duration")]
    pub stale_after: std::time::Duration,
    /// A slot missed while Ripple was down is sent on start when it is this recent.
    #[serde(default = "default_catch_up", with = "crate::duration")]
    pub catch_up: std::time::Duration,
}

/// Which items a digest shows; an empty list means "any".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestFilter {
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub severity: Vec<String>,
}

fn default_tz() -> String {
    "UTC".into()
}
fn default_stale() -> std::time::Duration {
    std::time::Duration::from_secs(3 * 86400)
}
fn default_catch_up() -> std::time::Duration {
    std::time::Duration::from_secs(12 * 3600)
}

impl DigestConfig {
    /// Every mistake a config can hold, as one message.
    pub fn validate(&self) -> Result<(), String> {
        self.schedule()?;
        if let Some(bad) = self
            .filter
            .severity
            .iter()
            .find(|s| Severity::parse(s).is_none())
        {
            return Err(format!(
                "unknown severity `{bad}` in filter; expected one of {}",
                Severity::NAMES.join(", ")
            ));
        }
        Ok(())
    }

    pub fn schedule(&self) -> Result<DigestSchedule, String> {
        DigestSchedule::parse(&self.times, &self.weekdays, &self.timezone, &self.holidays)
    }
}
