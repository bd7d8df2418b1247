//! Socket Mode: Ripple dials out to Slack over a WebSocket (`SLACK_APP_TOKEN`), so
//! `/ripple` and the buttons work without a public URL. Same handler as HTTP.

use super::handler::{Handler, Invocation};
use crate::command::Commands;
use crate::config::{Secrets, SlackConfig, SlackMode};
use slack_morphism::prelude::*;
use std::sync::Arc;

/// Runs Socket Mode when `slack.mode: socket`; returns at once otherwise (so it can be
/// spawned unconditionally), and keeps running while the process lives.
pub async fn run(
    slack: Option<SlackConfig>,
    commands: Arc<dyn Commands>,
    clock: Arc<dyn crate::clock::Clock>,
) -> anyhow::Result<()> {
    let Some(slack) = slack.filter(|s| s.mode == SlackMode::Socket) else {
        return Ok(());
    };
    let secrets = Secrets::from_env();
    let Some(app_token) = secrets.slack_app_token.clone() else {
        tracing::error!("slack.mode is socket but SLACK_APP_TOKEN is not set: /ripple is off");
        return Ok(());
    };
    let mut handler = Handler::new(commands, secrets.slack_signing_secret.clone(), clock);
    handler.deliver_after_change = true;
    let handler = Arc::new(handler);
    let client = super::client::build_client(&slack.api_url)?;
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_interaction_events(on_interaction);
    let env = Arc::new(SlackClientEventsListenerEnvironment::new(client).with_user_state(handler));
    let listener =
        SlackClientSocketModeListener::new(&SlackClientSocketModeConfig::new(), env, callbacks);
    let token = SlackApiToken::new(SlackApiTokenValue(app_token.expose().to_string()));
    listener.listen_for(&token).await?;
    tracing::info!("Slack Socket Mode connected");
    listener.start().await;
    std::future::pending::<()>().await;
    Ok(())
}

async fn handler(states: &SlackClientEventsUserState) -> Arc<Handler> {
    states
        .read()
        .await
        .get_user_state::<Arc<Handler>>()
        .cloned()
        .expect("the handler is the listener's user state")
}

async fn on_command(
    ev: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let h = handler(&states).await;
    let reply = h
        .command(Invocation {
            user_id: ev.user_id.0,
            text: ev.text.unwrap_or_default(),
            response_url: Some(ev.response_url.0.to_string()),
        })
        .await;
    let kind = if reply.in_channel {
        SlackMessageResponseType::InChannel
    } else {
        SlackMessageResponseType::Ephemeral
    };
    Ok(
        SlackCommandEventResponse::new(SlackMessageContent::new().with_text(reply.text))
            .with_response_type(kind),
    )
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let SlackInteractionEvent::BlockActions(ev) = ev else {
        return Ok(());
    };
    let h = handler(&states).await;
    let user = ev.user.map(|u| u.id.0).unwrap_or_default();
    let url = ev.response_url.map(|u| u.0.to_string());
    // Socket Mode wants the envelope acknowledged promptly: answer via response_url.
    tokio::spawn(async move {
        for a in ev.actions.unwrap_or_default() {
            let value = a.value.unwrap_or_default();
            let r = h.button(&a.action_id.0, &value, &user).await;
            if let Some(url) = &url {
                h.respond(url, &r).await;
            }
        }
    });
    Ok(())
}
