//! Incident channels: the name, creation exactly once, and the people invited.
//!
//! Creation is serialised twice: in-process by the notifier's per-fingerprint lock, and
//! across processes by a lease in the store (`claim_channel`; a holder that died on this
//! host is taken over at once, `notify::holder`). The intended name is
//! persisted before `conversations.create`, so a retry that hears `name_taken` for that
//! very name adopts the channel an earlier attempt made (recognised by the purpose
//! marker, or by an empty purpose when the crash came before it was set). An archived or
//! foreign channel with the name moves on to `-2`, `-3`, …

use super::SlackNotifier;
use super::client::SlackError;
use super::notifier::{Step, TeamSlack, store_err};
use super::state::{Channel, Link};
use crate::notify::{Notification, NotifyError, holder};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::time::Duration;

/// Slack's limit on channel names.
pub const MAX_NAME: usize = 80;
/// Name attempts before giving up (each taken by an archived or foreign channel).
const MAX_ATTEMPTS: u32 = 5;
/// A lease older than this belongs to a worker that died or hung (a live one gives it
/// back when it is done, failed or not; one that died on this host is taken over at once).
const LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// `inc-YYYYMMDD-<seq>-<slug>[-n]`: lowercase, at most 80 characters; the id comes
/// before the slug so cutting the slug never loses it.
pub fn channel_name(opened: DateTime<Utc>, seq: i64, slug: &str, attempt: u32) -> String {
    let prefix = format!("inc-{}-{seq}", opened.format("%Y%m%d"));
    let suffix = if attempt > 1 {
        format!("-{attempt}")
    } else {
        String::new()
    };
    let budget = MAX_NAME.saturating_sub(prefix.len() + suffix.len() + 1);
    let slug = slugify(slug);
    let slug = slug[..slug.len().min(budget)].trim_end_matches('-');
    if slug.is_empty() {
        format!("{prefix}{suffix}")
    } else {
        format!("{prefix}-{slug}{suffix}")
    }
}

/// Lowercase ASCII letters and digits, everything else one `-`.
fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn attempt_of(name: &str) -> u32 {
    // Only suffixes this module adds (`-2`..`-5`) count; the id is never one digit long
    // at the end of a slug-less name in practice, and a wrong guess only skips a name.
    name.rsplit_once('-')
        .and_then(|(_, n)| n.parse::<u32>().ok())
        .filter(|n| (2..=MAX_ATTEMPTS).contains(n))
        .unwrap_or(1)
}

/// The purpose marker that says a channel belongs to this incident.
pub fn marker(incident_id: i64) -> String {
    format!("ripple:incident:{incident_id}")
}

impl SlackNotifier {
    /// The incident's channel, created once, set up, its people invited.
    pub(super) async fn ensure_channel(
        &self,
        n: &Notification,
        team: &TeamSlack,
        l: Link,
    ) -> Step<Link> {
        let now = self.clock.now();
        let mut claimed = self
            .links
            .claim_channel(l.incident_id, &self.me, now, now - LEASE)
            .await
            .map_err(store_err)?;
        if !claimed {
            claimed = self.take_over_dead(l.incident_id, now).await?;
        }
        if !claimed {
            return Err(NotifyError {
                message: "another worker is creating this incident's channel".into(),
                retry_after: Some(Duration::from_secs(15)),
            });
        }
        let out = self.ensure_claimed(n, team, l).await;
        let released = self.links.release_channel(n.incident_id, &self.me).await;
        if let Err(e) = released {
            tracing::warn!(incident = n.incident_id, error = %e, "channel lease not released; it expires");
        }
        out
    }

    /// Takes the creation lease from a holder that died on this host (SIGKILL): its
    /// stored intent is what the retry goes on from, so there is nothing to wait for.
    async fn take_over_dead(&self, incident_id: i64, now: DateTime<Utc>) -> Step<bool> {
        let held_by = self
            .links
            .channel_claim(incident_id)
            .await
            .map_err(store_err)?;
        let Some(dead) = held_by.filter(|h| holder::is_dead(h)) else {
            return Ok(false);
        };
        let took = self
            .links
            .take_over_channel(incident_id, &self.me, &dead, now)
            .await
            .map_err(store_err)?;
        if took {
            tracing::info!(incident = incident_id, %dead, "took over a dead holder's channel lease");
        }
        Ok(took)
    }

    /// [`Self::ensure_channel`] while holding the creation lease.
    async fn ensure_claimed(&self, n: &Notification, team: &TeamSlack, mut l: Link) -> Step<Link> {
        // none → creating (→ creating with the next name …) → created → ready.
        for _ in 0..(MAX_ATTEMPTS + 4) {
            match &l.channel {
                Channel::Ready { .. } => return Ok(l),
                Channel::Created { name, id } => {
                    self.set_up(n, team, id).await?;
                    l.channel = Channel::Ready {
                        name: name.clone(),
                        id: id.clone(),
                    };
                }
                Channel::Creating { name } => {
                    let name = name.clone();
                    l = self.create(n, l, name).await?;
                }
                Channel::None => {
                    l.channel = Channel::Creating {
                        name: channel_name(n.opened_at, n.incident_id, &n.monitor_id, 1),
                    };
                }
            }
            // Each step is durable before the next call that creates something.
            self.save(&l).await?;
        }
        Err(NotifyError::new(format!(
            "no free channel name for incident #{} after {MAX_ATTEMPTS} attempts",
            l.incident_id
        )))
    }

    /// One `conversations.create` for the persisted name.
    async fn create(&self, n: &Notification, mut l: Link, name: String) -> Step<Link> {
        match self.api.create_channel(&name).await {
            Ok(c) => {
                tracing::info!(incident = l.incident_id, channel = %name, "created incident channel");
                l.set_channel(name, c.id.0);
                Ok(l)
            }
            Err(e) if e.is("name_taken") => {
                let found = self.api.find_channel(&name).await?;
                let ours = found.as_ref().filter(|c| {
                    let purpose = c.purpose.as_ref().map(|p| p.value.as_str()).unwrap_or("");
                    c.flags.is_archived != Some(true)
                        && (purpose.is_empty() || purpose.contains(&marker(l.incident_id)))
                });
                if let Some(c) = ours {
                    l.set_channel(name, c.id.0.clone());
                } else {
                    let next = attempt_of(&name) + 1;
                    if next > MAX_ATTEMPTS {
                        return Err(e.into());
                    }
                    l.channel = Channel::Creating {
                        name: channel_name(n.opened_at, n.incident_id, &n.monitor_id, next),
                    };
                }
                Ok(l)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Purpose (the marker), topic, invitations: all safe to repeat.
    async fn set_up(&self, n: &Notification, team: &TeamSlack, id: &str) -> Step {
        // The monitor tag lets a new state store adopt this room (`adopt`).
        let purpose = format!(
            "Incident #{} of {} ({}) · {} {}",
            n.incident_id,
            n.monitor_id,
            n.team,
            marker(n.incident_id),
            super::adopt::monitor_tag(&n.monitor_id)
        );
        self.api.set_purpose(id, &purpose).await?;
        let topic = format!(
            "[{}] {}: {}",
            n.severity.to_uppercase(),
            n.monitor_id,
            super::blocks::escape(&n.outcome.summary())
        );
        self.api
            .set_topic(id, &super::blocks::clip(&topic, 250))
            .await?;
        let people = self.invitees(n, team).await?;
        self.invite(id, &people).await
    }

    /// Owners, user-group members and (when allowed) the top consumers, as Slack ids.
    async fn invitees(&self, n: &Notification, team: &TeamSlack) -> Step<Vec<String>> {
        let mut out = BTreeSet::new();
        for owner in &n.owners {
            if let Some(id) = self.user_id(owner).await? {
                out.insert(id);
            }
        }
        for group in self.groups(team) {
            match self.api.group_members(&group).await {
                Ok(members) => out.extend(members),
                Err(e) if e.retry_after.is_some() => return Err(e.into()),
                Err(e) => tracing::warn!(group = %group, error = %e, "user group not invited"),
            }
        }
        if team.invite_consumers
            && let Some(r) = &n.impact
        {
            for p in r.notify.iter().take(self.impact_top.max(1) * 2) {
                if let Some(id) = self.user_id(&p.user).await? {
                    out.insert(id);
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// A Slack user id for an owner or consumer: ids as they are, e-mails looked up,
    /// anything else (a plain name) has none.
    pub(super) async fn user_id(&self, who: &str) -> Step<Option<String>> {
        let who = who.trim_start_matches('@');
        if is_user_id(who) {
            return Ok(Some(who.to_string()));
        }
        if !who.contains('@') {
            return Ok(None);
        }
        match self.api.user_by_email(who).await {
            Ok(id) => Ok(id),
            Err(e) if e.retry_after.is_some() => Err(e.into()),
            Err(e) => {
                tracing::warn!(user = %who, error = %e, "no Slack user for this e-mail");
                Ok(None)
            }
        }
    }

    /// One call for everybody; when Slack refuses the batch (one bad id fails it all),
    /// one call each, skipping those Slack refuses.
    async fn invite(&self, channel: &str, people: &[String]) -> Step {
        if people.is_empty() {
            return Ok(());
        }
        match self.api.invite(channel, people).await {
            Ok(()) => return Ok(()),
            Err(e) if e.retry_after.is_some() || e.code.is_none() => return Err(e.into()),
            Err(_) => {}
        }
        for p in people {
            match self.api.invite(channel, std::slice::from_ref(p)).await {
                Ok(()) => {}
                Err(e) if e.retry_after.is_some() || e.code.is_none() => return Err(e.into()),
                Err(e) if harmless_invite_error(&e) => {}
                Err(e) => tracing::warn!(user = %p, error = %e, "not invited"),
            }
        }
        Ok(())
    }
}

fn harmless_invite_error(e: &SlackError) -> bool {
    ["already_in_channel", "cant_invite_self"]
        .iter()
        .any(|c| e.is(c))
}

/// `U…`/`W…` user ids as Slack writes them.
pub fn is_user_id(s: &str) -> bool {
    s.len() >= 9
        && (s.starts_with('U') || s.starts_with('W'))
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn names_are_lowercase_and_keep_the_id_when_cut() {
        assert_eq!(
            channel_name(day(), 42, "shop/Orders_Without_Payment", 1),
            "inc-20261120-42-shop-orders-without-payment"
        );
        let long = channel_name(day(), 123456, &"x".repeat(200), 3);
        assert_eq!(long.len(), MAX_NAME);
        assert!(long.starts_with("inc-20261120-123456-xxx"), "{long}");
        assert!(long.ends_with("x-3"), "{long}");
        assert_eq!(channel_name(day(), 7, "///", 1), "inc-20261120-7");
    }

    #[test]
    fn attempts_come_from_the_suffix() {
        assert_eq!(attempt_of("inc-20261120-42-orders"), 1);
        assert_eq!(attempt_of("inc-20261120-42-orders-3"), 3);
    }

    #[test]
    fn user_ids_are_recognised() {
        assert!(is_user_id("U024BE7LH"));
        assert!(!is_user_id("mika"));
        assert!(!is_user_id("mika@acme.com"));
    }
}
