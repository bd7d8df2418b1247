//! Operations notices posted to `serve.ops_channel`, through the process's one Slack
//! notifier (its client and channel-name cache).

use super::notifier::SlackNotifier;
use crate::notify::ops::OpsSink;
use async_trait::async_trait;
use slack_morphism::prelude::*;
use std::sync::Arc;

pub struct SlackOps {
    pub slack: Arc<SlackNotifier>,
    /// `#name` or a channel id.
    pub channel: String,
}

#[async_trait]
impl OpsSink for SlackOps {
    fn name(&self) -> String {
        format!("slack:{}", self.channel)
    }

    async fn tell(&self, text: &str) -> anyhow::Result<()> {
        let id = self
            .slack
            .team_channel_id(&self.channel)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        let content = SlackMessageContent::new().with_text(crate::escape::mrkdwn(text));
        self.slack
            .api()
            .post(&id, content, None)
            .await
            .map_err(|e| anyhow::anyhow!(crate::notify::NotifyError::from(e).message))?;
        Ok(())
    }
}
