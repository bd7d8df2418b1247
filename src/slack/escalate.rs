//! `/ripple incident <id>`: give an incident its own channel by hand.
//!
//! The root moves: a new root message is posted in the new channel and the old root's
//! thread (in the team channel) gets a pointer to it. Later updates go to the new root.

use super::SlackNotifier;
use super::blocks;
use super::notifier::{Step, store_err};
use super::state::{Channel, Root};
use crate::incident::fingerprint;
use crate::notify::{Notification, NotifyError};

impl SlackNotifier {
    /// Escalates an open incident; returns the channel id (also when it already had one).
    pub async fn escalate(&self, incident_id: i64) -> Step<String> {
        let n = Notification::opened(&self.store, incident_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| NotifyError::new(format!("no incident #{incident_id} to escalate")))?;
        let _guard = self.lock(&fingerprint(&n.monitor_id)).await;
        let team = self.team(&n.team);
        let existing = self.links.get(incident_id).await.map_err(store_err)?;
        // A root already posted in the team channel gets a pointer to the new channel.
        let old_root = existing
            .as_ref()
            .filter(|l| !l.escalated && l.root.posted().is_some())
            .cloned();
        if let Some(mut l) = existing.filter(|l| !l.escalated) {
            // The root will live in the incident channel from now on.
            l.escalated = true;
            l.root = Root::Unplaced;
            l.channel = Channel::None;
            self.save(&l).await?;
        }
        let escalate_anyway = NotifyError::new("escalation did not post");
        let l = self
            .open_escalated(&n, &team)
            .await?
            .ok_or(escalate_anyway)?;
        let channel = l
            .root
            .channel()
            .ok_or_else(|| NotifyError::new("the escalated root has no channel"))?
            .to_string();
        if let Some(old) = old_root {
            let msg = blocks::note(&format!(
                ":rotating_light: This incident now has its own channel: <#{channel}>"
            ));
            self.reply_once(&old, &format!("{incident_id}:escalated"), &msg)
                .await?;
        }
        Ok(channel)
    }
}
