//! Talking to Slack's Web API through slack-morphism, with Slack's failures mapped.
//!
//! Slack reports most errors as HTTP 200 with `{"ok": false, "error": "..."}` and rate
//! limits as 429 with `Retry-After`. Both become a [`SlackError`] that keeps the error
//! code (callers branch on `name_taken`, `already_in_channel`, …) and the wait, which the
//! outbox honours. The client itself never retries or sleeps: the outbox owns back-off.

use crate::notify::NotifyError;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// A failed Slack call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SlackError {
    /// Slack's `error` code, when Slack answered with one.
    pub code: Option<String>,
    pub message: String,
    /// How long Slack asked us to wait (429), when it did.
    pub retry_after: Option<Duration>,
}

/// Slack's documented default wait when a 429 carries no usable `Retry-After`.
const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(30);

impl SlackError {
    /// Maps slack-morphism's error for the call `what` (e.g. `chat.postMessage`).
    pub fn from_client(what: &str, e: SlackClientError) -> SlackError {
        match e {
            SlackClientError::ApiError(api) => SlackError {
                message: format!("Slack refused {what}: {}", api.code),
                code: Some(api.code),
                retry_after: None,
            },
            SlackClientError::RateLimitError(r) => SlackError {
                code: Some("ratelimited".into()),
                message: format!("Slack rate limited {what}"),
                retry_after: Some(r.retry_after.unwrap_or(DEFAULT_RATE_WAIT)),
            },
            SlackClientError::HttpError(h) => SlackError {
                code: None,
                message: format!("Slack unavailable for {what} (HTTP {})", h.status_code),
                retry_after: None,
            },
            other => SlackError {
                code: None,
                message: format!("Slack {what}: {}", first_line(&other.to_string())),
                retry_after: None,
            },
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

impl From<SlackError> for NotifyError {
    fn from(e: SlackError) -> NotifyError {
        NotifyError {
            message: e.message,
            retry_after: e.retry_after,
        }
    }
}

pub type Result<T> = std::result::Result<T, SlackError>;

/// The Web API client with the bot token; cheap to clone.
#[derive(Clone)]
pub struct Api {
    client: Arc<SlackHyperClient>,
    token: SlackApiToken,
}

/// Builds slack-morphism's client on `api_url`. `SlackClientHyperConnector::new()`
/// refuses `http://`; a proxy or a loopback fake needs `https_or_http()`.
pub fn build_client(api_url: &str) -> anyhow::Result<Arc<SlackHyperClient>> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    // The connector joins `{base}/{method}`: no trailing slash, or Slack sees `//`.
    let url = api_url.trim_end_matches('/');
    let connector = SlackClientHyperConnector::with_connector(https).with_slack_api_url(url);
    Ok(Arc::new(SlackClient::new(connector)))
}

impl Api {
    pub fn new(client: Arc<SlackHyperClient>, bot_token: &str) -> Api {
        Api {
            client,
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.to_string())),
        }
    }

    pub fn client(&self) -> &Arc<SlackHyperClient> {
        &self.client
    }

    fn session(&self) -> SlackClientSession<'_, SlackClientHyperHttpsConnector> {
        self.client.open_session(&self.token)
    }

    pub async fn create_channel(&self, name: &str) -> Result<SlackChannelInfo> {
        let req = SlackApiConversationsCreateRequest::new(name.to_string());
        let res = self.session().conversations_create(&req).await;
        res.map(|r| r.channel)
            .map_err(|e| SlackError::from_client("conversations.create", e))
    }

    /// A channel by exact name, archived ones included (they keep their name taken).
    pub async fn find_channel(&self, name: &str) -> Result<Option<SlackChannelInfo>> {
        let bare = name.strip_prefix('#').unwrap_or(name);
        let mut hit = None;
        self.scan_channels(|c| {
            if c.name.as_deref() == Some(bare) {
                hit = Some(c);
            }
            hit.is_none()
        })
        .await?;
        Ok(hit)
    }

    /// Every channel the app can see (archived ones too) that `keep` accepts.
    pub async fn channels_where(
        &self,
        keep: impl Fn(&SlackChannelInfo) -> bool,
    ) -> Result<Vec<SlackChannelInfo>> {
        let mut out = vec![];
        self.scan_channels(|c| {
            if keep(&c) {
                out.push(c);
            }
            true
        })
        .await?;
        Ok(out)
    }

    /// conversations.list page by page, until `visit` says stop; bounded at 50 pages of
    /// 1,000 channels.
    async fn scan_channels(&self, mut visit: impl FnMut(SlackChannelInfo) -> bool) -> Result<()> {
        let mut cursor: Option<SlackCursorId> = None;
        for _ in 0..50 {
            let req = SlackApiConversationsListRequest::new()
                .with_limit(1000)
                .with_exclude_archived(false)
                .with_types(vec![
                    SlackConversationType::Public,
                    SlackConversationType::Private,
                ])
                .opt_cursor(cursor.clone());
            let page = self
                .session()
                .conversations_list(&req)
                .await
                .map_err(|e| SlackError::from_client("conversations.list", e))?;
            for c in page.channels {
                if !visit(c) {
                    return Ok(());
                }
            }
            cursor = page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.0.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(())
    }

    pub async fn invite(&self, channel: &str, users: &[String]) -> Result<()> {
        let users = users.iter().map(|u| SlackUserId(u.clone())).collect();
        let req = SlackApiConversationsInviteRequest::new(SlackChannelId(channel.into()), users);
        self.session()
            .conversations_invite(&req)
            .await
            .map(|_| ())
            .map_err(|e| SlackError::from_client("conversations.invite", e))
    }

    pub async fn set_topic(&self, channel: &str, topic: &str) -> Result<()> {
        let req =
            SlackApiConversationsSetTopicRequest::new(SlackChannelId(channel.into()), topic.into());
        self.session()
            .conversations_set_topic(&req)
            .await
            .map(|_| ())
            .map_err(|e| SlackError::from_client("conversations.setTopic", e))
    }

    pub async fn set_purpose(&self, channel: &str, purpose: &str) -> Result<()> {
        let req = SlackApiConversationsSetPurposeRequest::new(
            SlackChannelId(channel.into()),
            purpose.into(),
        );
        self.session()
            .conversations_set_purpose(&req)
            .await
            .map(|_| ())
            .map_err(|e| SlackError::from_client("conversations.setPurpose", e))
    }

    /// Members of a user group (`S…`).
    pub async fn group_members(&self, group: &str) -> Result<Vec<String>> {
        let req = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId(group.into()));
        self.session()
            .usergroups_users_list(&req)
            .await
            .map(|r| r.users.into_iter().map(|u| u.0).collect())
            .map_err(|e| SlackError::from_client("usergroups.users.list", e))
    }

    /// The Slack user with this e-mail; `None` when there is none.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<String>> {
        let req = SlackApiUsersLookupByEmailRequest::new(EmailAddress(email.into()));
        match self.session().users_lookup_by_email(&req).await {
            Ok(r) => Ok(Some(r.user.id.0)),
            Err(e) => {
                let e = SlackError::from_client("users.lookupByEmail", e);
                if e.is("users_not_found") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Posts a message (in a thread when `thread_ts`); returns (channel id, ts).
    pub async fn post(
        &self,
        channel: &str,
        content: SlackMessageContent,
        thread_ts: Option<&str>,
    ) -> Result<(String, String)> {
        let req = SlackApiChatPostMessageRequest::new(SlackChannelId(channel.into()), content)
            .opt_thread_ts(thread_ts.map(|t| SlackTs(t.into())));
        self.session()
            .chat_post_message(&req)
            .await
            .map(|r| (r.channel.0, r.ts.0))
            .map_err(|e| SlackError::from_client("chat.postMessage", e))
    }

    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        content: SlackMessageContent,
    ) -> Result<()> {
        let req = SlackApiChatUpdateRequest::new(
            SlackChannelId(channel.into()),
            content,
            SlackTs(ts.into()),
        );
        self.session()
            .chat_update(&req)
            .await
            .map(|_| ())
            .map_err(|e| SlackError::from_client("chat.update", e))
    }

    /// One page of a channel's top-level messages since `oldest`, newest first, with
    /// their metadata; the cursor of the next page when there is one.
    pub async fn history_page(
        &self,
        channel: &str,
        oldest: &str,
        cursor: Option<String>,
    ) -> Result<Page> {
        let req = SlackApiConversationsHistoryRequest::new()
            .with_channel(SlackChannelId(channel.into()))
            .with_limit(PAGE)
            .with_oldest(SlackTs(oldest.into()))
            .with_include_all_metadata(true)
            .opt_cursor(cursor.map(SlackCursorId));
        let r = self
            .session()
            .conversations_history(&req)
            .await
            .map_err(|e| SlackError::from_client("conversations.history", e))?;
        Ok(Page::new(r.messages, r.response_metadata))
    }

    /// One page of a thread (its parent first, then the replies) with their metadata.
    /// slack-morphism's request type lacks `include_all_metadata`, without which Slack
    /// leaves metadata out of replies, so this call is spelled out.
    pub async fn replies_page(
        &self,
        channel: &str,
        ts: &str,
        cursor: Option<String>,
    ) -> Result<Page> {
        let limit = PAGE.to_string();
        let params: Vec<(&str, Option<&str>)> = vec![
            ("channel", Some(channel)),
            ("ts", Some(ts)),
            ("limit", Some(&limit)),
            ("include_all_metadata", Some("true")),
            ("cursor", cursor.as_deref()),
        ];
        let r: SlackApiConversationsRepliesResponse = self
            .session()
            .http_session_api
            .http_get("conversations.replies", &params, None)
            .await
            .map_err(|e| SlackError::from_client("conversations.replies", e))?;
        Ok(Page::new(r.messages, r.response_metadata))
    }
}

/// Messages per page of history and replies (Slack recommends at most 200).
const PAGE: u16 = 200;

/// A page of messages and where the next one starts.
pub struct Page {
    pub messages: Vec<SlackHistoryMessage>,
    pub next: Option<String>,
}

impl Page {
    fn new(messages: Vec<SlackHistoryMessage>, meta: Option<SlackResponseMetadata>) -> Page {
        let next = meta
            .and_then(|m| m.next_cursor)
            .map(|c| c.0)
            .filter(|c| !c.is_empty());
        Page { messages, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slack_morphism::errors::{SlackClientApiError, SlackRateLimitError};

    #[test]
    fn api_errors_keep_their_code_and_rate_limits_their_wait() {
        let e = SlackError::from_client(
            "conversations.create",
            SlackClientError::ApiError(SlackClientApiError::new("name_taken".into())),
        );
        assert!(e.is("name_taken"));
        assert_eq!(e.message, "Slack refused conversations.create: name_taken");
        let r = SlackError::from_client(
            "chat.postMessage",
            SlackClientError::RateLimitError(
                SlackRateLimitError::new().with_retry_after(Duration::from_secs(7)),
            ),
        );
        assert_eq!(r.retry_after, Some(Duration::from_secs(7)));
        let n: NotifyError = r.into();
        assert_eq!(n.retry_after, Some(Duration::from_secs(7)));
    }
}
