//! Slack: incident channels, live incident messages, and the `/ripple` command.
//!
//! - [`notifier`]: the `slack` destination (root message per incident, thread updates,
//!   root edited on resolve), with [`channel`] (dedicated incident channels) and
//!   [`escalate`] (a channel by hand);
//!   and [`adopt`] (taking over an earlier deployment's rooms after `--new-state`);
//! - [`blocks`]: pure Block Kit rendering within Slack's limits;
//! - [`client`]: slack-morphism on a configurable base URL, errors mapped for the outbox;
//! - [`state`]: what the store remembers (intents before every create);
//! - [`command`], [`reply`], [`handler`]: `/ripple` parsing, execution, 3-second acks;
//! - [`http`] (signed endpoints) and [`socket`] (Socket Mode): the two ways in;
//! - [`signature`]: `v0` request signatures; [`replay`]: each signed request acted on once;
//! - [`ops`]: operations notices to `serve.ops_channel`.

mod adopt;
pub mod blocks;
pub mod channel;
pub mod client;
pub mod escalate;
pub mod handler;
pub mod http;
pub mod notifier;
pub mod ops;
pub mod replay;
pub mod signature;
pub mod socket;
pub mod state;

pub use handler::{Handler, Invocation};

/// Slack's JSON for a command response or a `response_url` post.
pub fn reply_json(r: &crate::command::Reply) -> serde_json::Value {
    serde_json::json!({
        "response_type": if r.in_channel { "in_channel" } else { "ephemeral" },
        "text": blocks::clip(&r.text, 3000),
        "replace_original": false,
    })
}
pub use notifier::SlackNotifier;
pub use state::SlackLinks;
