//! The notifier seam: what people are told, and the outbox that guarantees it.
//!
//! A [`Notification`] is written to the store's outbox in the same transaction as the
//! incident change that caused it, once per destination. Delivery happens afterwards
//! and is retried until it succeeds, so an outage of a destination delays a message but
//! never drops or duplicates it.

pub mod console;
pub mod dispatch;

use crate::incident::{Condition, UpdateReason};
use crate::monitor::Outcome;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What happened to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    Updated(UpdateReason),
    Resolved,
    /// Another monitor, downstream of this incident's tables, fails too.
    AlsoAffected,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Updated(UpdateReason::ConditionChanged) => "changed",
            EventKind::Updated(UpdateReason::Reminder) => "reminder",
            EventKind::Resolved => "resolved",
            EventKind::AlsoAffected => "also_affected",
        }
    }
}

/// Everything a destination needs to render one message, frozen at the time of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub incident_id: i64,
    pub event: EventKind,
    pub at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub monitor_id: String,
    pub team: String,
    pub severity: String,
    pub description: String,
    pub condition: Option<Condition>,
    pub outcome: Outcome,
    pub owners: Vec<String>,
    pub labels: Vec<String>,
    pub sql: String,
    /// `file:line` of the rule, for a link back to the source.
    pub source: String,
    /// What the break hurts and who to tell, when lineage and usage are known.
    #[serde(default)]
    pub impact: Option<crate::impact::ImpactReport>,
}

/// Why a delivery did not happen; `retry_after` honours a service's own back-off.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl NotifyError {
    pub fn new(message: impl Into<String>) -> Self {
        NotifyError {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// A destination: console, Slack, GitHub.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The destination's name in the outbox; stable across restarts.
    fn destination(&self) -> &str;
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError>;
}
