//! Credentials, from the environment only; [`Secret`]'s `Debug` is redacted so a
//! secret cannot reach a log line.

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
