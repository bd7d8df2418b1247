//! "Create it once": the intent-journal protocol every destination follows for the
//! remote things it creates (a Slack reply, a GitHub comment).
//!
//! Done → nothing to do. Started (a crash or a lost response after the intent) → look
//! the thing up by its marker; found → done, else create. Nothing → record the intent,
//! then create. The thing is created at most once per key as long as `lookup` finds
//! what `create` made.

use super::NotifyError;
use crate::store::{Intent, Store};
use chrono::{DateTime, Utc};
use std::future::Future;

/// The journal of one destination.
pub struct Journal<'a> {
    pub store: &'a Store,
    pub scope: &'static str,
}

impl Journal<'_> {
    /// Runs `create` once for `key`, reconciling a started intent with `lookup`.
    pub async fn once<L, C>(
        &self,
        key: &str,
        incident_id: i64,
        now: DateTime<Utc>,
        lookup: impl FnOnce() -> L,
        create: impl FnOnce() -> C,
    ) -> Result<(), NotifyError>
    where
        L: Future<Output = Result<bool, NotifyError>>,
        C: Future<Output = Result<(), NotifyError>>,
    {
        let set = |state| {
            self.store
                .set_intent(self.scope, key, incident_id, state, now)
        };
        match self
            .store
            .intent(self.scope, key)
            .await
            .map_err(store_err)?
        {
            Some(Intent::Done) => return Ok(()),
            Some(Intent::Started) => {
                if lookup().await? {
                    return set(Intent::Done).await.map_err(store_err);
                }
            }
            None => set(Intent::Started).await.map_err(store_err)?,
        }
        create().await?;
        set(Intent::Done).await.map_err(store_err)
    }
}

/// A store failure as a delivery failure (retried by the outbox).
pub fn store_err(e: anyhow::Error) -> NotifyError {
    NotifyError::new(format!("state store: {e:#}"))
}
