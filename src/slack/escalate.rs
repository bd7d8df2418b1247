//! `/ripple incident <id>`: give an incident its own channel by hand.
//!
//! The root moves: a new root message is posted in the new channel and the old root's
//! thread (in the team channel) gets a pointer to it. Later updates go to the new root.

use super::SlackNotifier;
use super::blocks;
use super::notifier::{Step, lock, store_err};
use crate::incident::fingerprint;
use crate::notify::{Notification, NotifyError};

impl SlackNotifier {
    /// Escalates an open incident; returns the channel id (also when it already had one).
    pub async fn escalate(&self, incident_id: i64) -> Step<String> {
        let n = Notification::opened(&self.store, incident_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| NotifyError::new(format!("no incident #{incident_id} to escalate")))?;
        let _guard = lock(&fingerprint(&n.monitor_id)).await;
        let team = self.team(&n.team);
        let existing = self
            .store
            .slack_link(incident_id)
            .await
            .map_err(store_err)?;
        let old_root = match &existing {
            Some(l) if l.escalated => None,
            Some(l) => l
                .channel_id
                .clone()
                .zip(l.root_ts.clone())
                .map(|r| (l.clone(), r)),
            None => None,
        };
        if let Some(mut l) = existing.filter(|l| !l.escalated) {
            // The root will live in the incident channel from now on.
            l.escalated = true;
            l.channel_id = None;
            l.root_ts = None;
            l.root_state = "none".into();
            l.channel_state = "none".into();
            self.save(&l).await?;
        }
        let escalate_anyway = NotifyError::new("escalation did not post");
        let l = self
            .open_escalated(&n, &team)
            .await?
            .ok_or(escalate_anyway)?;
        let channel = l
            .channel_id
            .clone()
            .expect("escalated roots have a channel");
        if let Some((mut old, (ch, ts))) = old_root {
            old.channel_id = Some(ch);
            old.root_ts = Some(ts);
            let msg = blocks::note(&format!(
                ":rotating_light: This incident now has its own channel: <#{channel}>"
            ));
            self.reply_once(&old, &format!("{incident_id}:escalated"), &msg)
                .await?;
        }
        Ok(channel)
    }
}
