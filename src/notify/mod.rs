//! The notifier seam: what people are told, and the outbox that guarantees it.
//!
//! A [`Notification`] is written to the store's outbox in the same transaction as the
//! incident change that caused it, once per destination. Delivery happens afterwards
//! and is retried until it succeeds, so an outage of a destination delays a message but
//! never drops or duplicates it.

pub mod dispatch;
pub mod holder;
pub mod once;
pub mod ops;

use crate::incident::Condition;
pub use crate::incident::EventKind;
use crate::monitor::Outcome;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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

impl Notification {
    /// An outbox payload as a notification; the incident id is the outbox row's (a new
    /// incident's payload is built before its id exists).
    pub fn from_payload(payload: &str, incident_id: i64) -> anyhow::Result<Notification> {
        let mut n: Notification = serde_json::from_str(payload)?;
        n.incident_id = incident_id;
        Ok(n)
    }

    /// The notification of an incident's opening, as queued for any destination.
    pub async fn opened(
        store: &crate::store::Store,
        incident_id: i64,
    ) -> anyhow::Result<Option<Notification>> {
        let payload = store.opened_payload(incident_id).await?;
        payload
            .map(|p| Notification::from_payload(&p, incident_id))
            .transpose()
    }
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

/// Something Ripple left in a destination that outlives its state store: an open
/// issue carrying Ripple's markers, a root message carrying its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    /// Where, for people: `acme/orders#12`, `C0COMMERCE@1700000000.000100`.
    pub place: String,
    /// The incident it belongs to, when its marker says.
    pub incident_id: Option<i64>,
}

/// A destination: console, Slack, GitHub.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The destination's name in the outbox; stable across restarts.
    fn destination(&self) -> &str;
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError>;
    /// What an earlier deployment left here, so that a lost state file is noticed
    /// instead of silently starting over. A destination that keeps nothing has none.
    async fn footprints(&self) -> Result<Vec<Footprint>, NotifyError> {
        Ok(vec![])
    }
}
