//! GitHub issues for incidents: exactly one issue per incident, assignable, kept up to
//! date, closed (or commented) on recovery, reopened on a quick relapse.
//!
//! - [`client`]: credentials (token or GitHub App) and raw calls through octocrab that
//!   keep status and rate-limit headers.
//! - [`error`]: GitHub failures → how long to wait (`Retry-After`, rate-limit resets,
//!   secondary limits, 5xx back-off).
//! - [`issues`]: repository operations (labels, assignee checks, find by marker, create,
//!   edit, comment).
//! - [`body`]: pure Markdown rendering (the impact section is `impact::render::markdown`).
//! - [`state`]: the incident → issue link and comment intents in the store.
//! - [`notifier`]: the `github` destination of the outbox; `open` finds, reopens or
//!   creates an incident's issue.
//!
//! Why it never duplicates: the link is read from the store first; an intent is
//! persisted before anything is created and reconciled on retry by listing open
//! `ripple`-labelled issues for the hidden fingerprint marker (never by search, which
//! lags); comments carry an event marker and an intent of their own.

pub mod body;
pub mod client;
pub mod error;
pub mod issues;
pub mod notifier;
mod open;
pub mod state;

pub use notifier::GithubNotifier;
pub use state::IssueLinks;
