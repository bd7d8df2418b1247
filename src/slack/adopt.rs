//! Adoption after `--new-state`: a new state store over an earlier deployment's Slack
//! traces takes over a monitor's still-open root message (and its incident channel)
//! instead of posting them again. It runs only when the store was started over traces
//! (its incident-number floor is set), once per new incident, and only looks at roots
//! and channels numbered at or below the floor (the earlier deployment's).
//!
//! Roots carry `fingerprint` and `state` in their metadata (`open`, `resolved` once
//! edited on recovery); incident channels carry `ripple:<fingerprint>` in their purpose
//! beside the incident marker.

use super::notifier::{
    MAX_PAGES, ROOT_EVENT, SlackNotifier, Step, TeamSlack, content, meta_value, root_metadata,
    store_err,
};
use super::state::{Link, Root};
use crate::incident::fingerprint;
use crate::notify::{Notification, NotifyError};
use slack_morphism::prelude::*;

/// The purpose tag that names the monitor an incident channel is for.
pub fn monitor_tag(monitor_id: &str) -> String {
    format!("ripple:{}", fingerprint(monitor_id))
}

impl SlackNotifier {
    /// `l` (new, nothing posted) with the earlier deployment's open room of the
    /// monitor, when the state was started over one.
    pub(super) async fn adopt(&self, n: &Notification, team: &TeamSlack, l: Link) -> Step<Link> {
        let floor = self.store.incident_id_floor().await.map_err(store_err)?;
        let Some(floor) = floor else {
            return Ok(l);
        };
        let fp = fingerprint(&n.monitor_id);
        let mut l = l;
        if let Some((name, id, ts)) = self.old_channel(n, &fp, floor).await? {
            tracing::info!(incident = n.incident_id, channel = %name, "adopted the earlier deployment's incident channel");
            l.escalated = true;
            l.set_channel(name, id.clone());
            if let Some(ts) = ts {
                l.root = self.take_over(n, id, ts).await?;
            }
        } else if let Some(name) = team.channel.as_deref() {
            let id = self.team_channel_id(name).await?;
            if let Some(ts) = self.old_root(&id, &fp, floor).await? {
                tracing::info!(incident = n.incident_id, channel = %name, "adopted the earlier deployment's root message");
                l.root = self.take_over(n, id, ts).await?;
            }
        }
        self.save(&l).await?;
        Ok(l)
    }

    /// Edits the old root into this incident's (new number, new metadata).
    async fn take_over(&self, n: &Notification, channel: String, ts: String) -> Step<Root> {
        let people = self.with_slack_people(n).await?;
        let msg = super::blocks::incident(&people, &self.context(&people).await?, None);
        let meta = root_metadata(n, "open");
        self.api
            .update(&channel, &ts, content(&msg, Some(meta))?)
            .await?;
        Ok(Root::Posted { channel, ts })
    }

    /// An open incident channel of the monitor from before the floor, with its open
    /// root when found: (name, id, root ts).
    async fn old_channel(
        &self,
        n: &Notification,
        fp: &str,
        floor: i64,
    ) -> Step<Option<(String, String, Option<String>)>> {
        let tag = monitor_tag(&n.monitor_id);
        let rooms = self
            .api
            .channels_where(|c| {
                let purpose = c.purpose.as_ref().map(|p| p.value.as_str()).unwrap_or("");
                !c.flags.is_archived.unwrap_or(false)
                    && purpose.split_whitespace().any(|w| w == tag)
                    && marked_id(purpose).is_some_and(|id| id <= floor)
            })
            .await?;
        for c in rooms {
            // A room whose root says resolved is history, not this incident's.
            if let Some(ts) = self.old_root(&c.id.0, fp, floor).await? {
                let name = c.name.clone().unwrap_or_else(|| c.id.0.clone());
                return Ok(Some((name, c.id.0, Some(ts))));
            }
        }
        Ok(None)
    }

    /// The newest root of the monitor still open, numbered at or below the floor.
    async fn old_root(&self, channel: &str, fp: &str, floor: i64) -> Step<Option<String>> {
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let page = self.api.history_page(channel, "0", cursor).await?;
            if let Some(m) = page.messages.iter().find(|m| is_open_root_of(m, fp, floor)) {
                return Ok(Some(m.origin.ts.0.clone()));
            }
            let Some(next) = page.next else {
                return Ok(None);
            };
            cursor = Some(next);
        }
        Err(NotifyError::new(format!(
            "could not finish looking for an earlier root in {channel} ({MAX_PAGES} pages)"
        )))
    }
}

fn is_open_root_of(m: &SlackHistoryMessage, fp: &str, floor: i64) -> bool {
    let is_root = m
        .content
        .metadata
        .as_ref()
        .is_some_and(|meta| meta.event_type == ROOT_EVENT);
    let id = meta_value(m, "incident_id").and_then(|v| v.parse::<i64>().ok());
    is_root
        && meta_value(m, "fingerprint").as_deref() == Some(fp)
        && meta_value(m, "state").as_deref() == Some("open")
        && id.is_some_and(|id| id <= floor)
}

/// The incident number in a purpose's `ripple:incident:N` marker.
pub fn marked_id(purpose: &str) -> Option<i64> {
    let prefix = super::channel::marker(0);
    let prefix = prefix.trim_end_matches('0');
    let rest = purpose.split(prefix).nth(1)?;
    rest.split(|ch: char| !ch.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_read_back() {
        let purpose =
            "Incident #12 of orders (commerce) · ripple:incident:12 ripple:monitor:orders";
        assert_eq!(marked_id(purpose), Some(12));
        assert_eq!(marked_id("no marker"), None);
        assert!(
            purpose
                .split_whitespace()
                .any(|w| w == monitor_tag("orders"))
        );
        assert!(
            !purpose
                .split_whitespace()
                .any(|w| w == monitor_tag("order"))
        );
    }
}
