//! What `/ripple` and the incident buttons do, whichever way they arrive (HTTP or
//! Socket Mode): parse, then hand the command to the app through [`Commands`].
//!
//! Slack wants an answer within 3 seconds. Quick commands (store reads and writes) are
//! answered directly; slow ones (a monitor run, lineage, a channel to create) are
//! acknowledged at once and answered later through the request's `response_url`.

use crate::clock::Clock;
use crate::command::{self, Command, Commands, Reply};
use crate::config::Secret;
use std::sync::Arc;
use std::time::Duration;

/// Shared by the HTTP endpoints and the Socket Mode runner.
pub struct Handler {
    /// The app, as it is at each command (the live app follows reloads).
    pub commands: Arc<dyn Commands>,
    /// Verifies HTTP requests; without it the HTTP endpoints refuse everything.
    pub signing_secret: Option<Secret>,
    /// Judges request timestamps (the injected clock, so tests control it).
    pub clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// Deliver the outbox right after an ack/resolve/silence, so the incident message
    /// changes now rather than at the next scheduler tick (off in tests: they deliver
    /// themselves).
    pub deliver_after_change: bool,
}

/// One `/ripple` invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub user_id: String,
    pub text: String,
    pub response_url: Option<String>,
}

impl Handler {
    pub fn new(
        commands: Arc<dyn Commands>,
        signing_secret: Option<Secret>,
        clock: Arc<dyn Clock>,
    ) -> Handler {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Handler {
            commands,
            signing_secret,
            clock,
            http,
            deliver_after_change: false,
        }
    }

    /// Answers a `/ripple` command within Slack's 3 seconds.
    pub async fn command(self: &Arc<Self>, inv: Invocation) -> Reply {
        let cmd = match command::parse(&inv.text) {
            Ok(c) => c,
            Err(usage) => return Reply::ephemeral(usage.0),
        };
        if cmd.is_slow()
            && let Some(url) = inv.response_url.clone()
        {
            let me = self.clone();
            let user = inv.user_id.clone();
            tokio::spawn(async move {
                let r = me.execute(cmd, &user).await;
                me.respond(&url, &r).await;
            });
            return Reply::ephemeral(format!(
                "Working on `/ripple {}`…",
                crate::escape::mrkdwn(inv.text.trim())
            ));
        }
        self.execute(cmd, &inv.user_id).await
    }

    async fn execute(self: &Arc<Self>, cmd: Command, user: &str) -> Reply {
        let changes = matches!(
            cmd,
            Command::Ack { .. } | Command::Resolve { .. } | Command::Silence { .. }
        );
        let r = match self.commands.execute(cmd, &format!("<@{user}>")).await {
            Ok(r) => r,
            Err(e) => e.reply(),
        };
        if changes && r.in_channel && self.deliver_after_change {
            self.commands.changed().await;
        }
        r
    }

    /// A button of the incident message; answered through `response_url`.
    pub async fn button(self: &Arc<Self>, action: &str, value: &str, user: &str) -> Reply {
        let Ok(incident) = value.parse::<i64>() else {
            return Reply::ephemeral(format!(
                "Unknown button value `{}`",
                crate::escape::mrkdwn(value)
            ));
        };
        let cmd = match action {
            "ripple_ack" => Command::Ack { incident },
            "ripple_resolve" => Command::Resolve {
                incident,
                note: String::new(),
            },
            "ripple_silence_1h" => match self.commands.monitor_of(incident).await {
                Some(monitor) => Command::Silence {
                    monitor,
                    duration: Duration::from_secs(3600),
                    reason: format!("from incident #{incident}'s message"),
                },
                None => return Reply::ephemeral(format!("No incident #{incident}")),
            },
            other => {
                let other = crate::escape::mrkdwn(other);
                return Reply::ephemeral(format!("Unknown action `{other}`"));
            }
        };
        self.execute(cmd, user).await
    }

    /// Posts a reply to a `response_url`; failures are logged (Slack expires them).
    pub async fn respond(&self, url: &str, r: &Reply) {
        let res = self.http.post(url).json(&super::reply_json(r)).send().await;
        match res {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => tracing::warn!(status = %resp.status(), "response_url refused the reply"),
            Err(e) => tracing::warn!(error = %e, "response_url unreachable"),
        }
    }
}
