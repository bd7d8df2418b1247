//! The Slack destination: one root message per incident (in its own channel when the
//! incident escalates, in the team's channel otherwise), updates in its thread, the
//! root edited on recovery.
//!
//! Each delivery may be retried (outage, crash, rate limit), so every step is
//! idempotent: the link is read from the store first; a root message or reply is
//! preceded by a persisted intent and, on retry, found by its metadata in the channel
//! history or thread before anything is posted again; edits are safe to repeat.

use super::blocks::{self, Context, Message};

/// People to notify the incident message names (and so maps to Slack users).
const PEOPLE_SHOWN: usize = 10;
use super::adopt::marked_id;
use super::client::Api;
use super::state::{Channel, Link, Root, SlackLinks};
use crate::clock::Clock;
use crate::config::{Config, EscalatePolicy, Secrets};
use crate::incident::fingerprint;
use crate::notify::once::Journal;
pub(super) use crate::notify::once::store_err;
use crate::notify::{EventKind, Footprint, Notification, Notifier, NotifyError};
use crate::store::Store;
use async_trait::async_trait;
use serde_json::Value;
use slack_morphism::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A team's Slack settings, resolved from `ripple.yaml`.
#[derive(Debug, Clone, Default)]
pub struct TeamSlack {
    pub channel: Option<String>,
    pub groups: Vec<String>,
    pub invite_consumers: bool,
}

/// Delivers notifications to Slack.
pub struct SlackNotifier {
    pub(super) api: Api,
    pub(super) store: Store,
    pub(super) links: SlackLinks,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) teams: HashMap<String, TeamSlack>,
    pub(super) escalate: EscalatePolicy,
    pub(super) groups: Vec<String>,
    pub(super) impact_top: usize,
    /// Web base of GitHub (`https://github.com`), for issue links.
    pub(super) github_web: Option<String>,
    /// This process, as the holder of channel-creation leases.
    pub(super) me: String,
    /// Team channel name → id, resolved once.
    channel_ids: Mutex<HashMap<String, String>>,
    /// One async lock per fingerprint: this notifier (the only Slack notifier in the
    /// process, shared by the outbox and the commands) creates channels and roots one
    /// at a time per incident.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

pub(super) type Step<T = ()> = Result<T, NotifyError>;

/// Metadata event types that mark Ripple's own messages.
pub(super) const ROOT_EVENT: &str = "ripple_incident";
const REPLY_EVENT: &str = "ripple_event";

impl SlackNotifier {
    /// Holds the incident's lock while one delivery (or escalation) runs.
    pub(super) async fn lock(&self, fp: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut map = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(fp.to_string()).or_default().clone()
        };
        m.lock_owned().await
    }

    /// The journal of thread replies.
    fn journal(&self) -> Journal<'_> {
        Journal {
            store: &self.store,
            scope: "slack",
        }
    }

    /// Builds the notifier from `slack:` and `SLACK_BOT_TOKEN`.
    pub fn from_config(
        cfg: &Config,
        secrets: &Secrets,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<SlackNotifier> {
        let slack = cfg
            .slack
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no `slack:` section in the config"))?;
        let token = secrets
            .slack_bot_token
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("SLACK_BOT_TOKEN is not set"))?;
        let client = super::client::build_client(&slack.api_url)?;
        Ok(Self::new(
            Api::new(client, token.expose()),
            store,
            clock,
            cfg,
        ))
    }

    pub fn new(api: Api, store: Store, clock: Arc<dyn Clock>, cfg: &Config) -> SlackNotifier {
        let slack = cfg.slack.clone();
        let default_consumers = slack.as_ref().is_some_and(|s| s.invite_consumers);
        let teams = cfg
            .teams
            .iter()
            .map(|t| {
                let team = TeamSlack {
                    channel: t.slack_channel.clone(),
                    groups: t.slack_user_groups.clone(),
                    invite_consumers: t.slack_invite_consumers.unwrap_or(default_consumers),
                };
                (t.name.clone(), team)
            })
            .collect();
        SlackNotifier {
            api,
            links: SlackLinks::new(store.clone()),
            store,
            clock,
            teams,
            escalate: slack
                .as_ref()
                .map(|s| s.escalate.clone())
                .unwrap_or_default(),
            groups: slack
                .as_ref()
                .map(|s| s.invite_user_groups.clone())
                .unwrap_or_default(),
            impact_top: slack.as_ref().map_or(5, |s| s.impact_top),
            github_web: cfg.github.as_ref().map(|g| github_web(&g.api_url)),
            me: crate::notify::holder::me().to_string(),
            channel_ids: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
        }
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    pub(super) fn team(&self, name: &str) -> TeamSlack {
        self.teams.get(name).cloned().unwrap_or_default()
    }

    /// Global and team user groups, each once.
    pub(super) fn groups(&self, team: &TeamSlack) -> Vec<String> {
        let mut out = self.groups.clone();
        for g in &team.groups {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }

    /// Configured to get a channel: a listed severity or a high enough impact.
    pub fn escalates(&self, n: &Notification) -> bool {
        let by_severity = self.escalate.severities.contains(&n.severity);
        let best = n
            .impact
            .as_ref()
            .and_then(|r| r.impacted.iter().map(|t| t.score).reduce(f64::max));
        let by_impact = matches!(
            (self.escalate.min_impact_score, best),
            (Some(min), Some(best)) if best >= min
        );
        by_severity || by_impact
    }

    pub(super) async fn save(&self, l: &Link) -> Step {
        self.links.update(l).await.map_err(store_err)
    }

    /// The incident's link, created (intent persisted) on first sight.
    async fn link_or_new(&self, n: &Notification, team: &TeamSlack, escalated: bool) -> Step<Link> {
        if let Some(l) = self.links.get(n.incident_id).await.map_err(store_err)? {
            return Ok(l);
        }
        let l = Link {
            incident_id: n.incident_id,
            fingerprint: fingerprint(&n.monitor_id),
            escalated,
            ..Default::default()
        };
        self.links.insert(&l, n.at).await.map_err(store_err)?;
        let l = self
            .links
            .get(n.incident_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| NotifyError::new("slack link vanished"))?;
        self.adopt(n, team, l).await
    }

    /// Where the root goes, with the root posted: the opening path, resumable.
    pub(super) async fn open(&self, n: &Notification, team: &TeamSlack) -> Step<Option<Link>> {
        let existing = self.links.get(n.incident_id).await.map_err(store_err)?;
        let escalated = existing
            .as_ref()
            .map_or_else(|| self.escalates(n), |l| l.escalated);
        self.open_as(n, team, escalated).await
    }

    /// The opening path with a channel whatever the policy says (escalation by hand).
    pub(super) async fn open_escalated(
        &self,
        n: &Notification,
        team: &TeamSlack,
    ) -> Step<Option<Link>> {
        self.open_as(n, team, true).await
    }

    async fn open_as(
        &self,
        n: &Notification,
        team: &TeamSlack,
        escalated: bool,
    ) -> Step<Option<Link>> {
        if !escalated && team.channel.is_none() {
            tracing::debug!(team = %n.team, "no slack_channel and no escalation; not posted");
            return Ok(None);
        }
        let mut l = self.link_or_new(n, team, escalated).await?;
        if l.escalated && !matches!(l.channel, Channel::Ready { .. }) {
            l = self.ensure_channel(n, team, l).await?;
        }
        if l.root == Root::Unplaced {
            let name = team.channel.as_deref().unwrap_or_default();
            l.root = Root::Placed {
                channel: self.team_channel_id(name).await?,
            };
            self.save(&l).await?;
        }
        self.post_root(n, l).await.map(Some)
    }

    /// The notification with its people to notify mapped to Slack users by e-mail (the
    /// ones the message shows), so the message mentions them instead of naming them.
    pub(super) async fn with_slack_people(&self, n: &Notification) -> Step<Notification> {
        let mut n = n.clone();
        if let Some(report) = n.impact.as_mut() {
            for p in report.notify.iter_mut().take(PEOPLE_SHOWN) {
                p.slack_user = self.user_id(&p.user).await?;
            }
        }
        Ok(n)
    }

    /// Posts the root message once: a retry first looks for it in the channel history.
    async fn post_root(&self, n: &Notification, mut l: Link) -> Step<Link> {
        let channel = match &l.root {
            Root::Posted { .. } | Root::Resolved { .. } => return Ok(l),
            Root::Unplaced => return Err(NotifyError::new("the root message has no channel yet")),
            Root::Posting { channel } => {
                let channel = channel.clone();
                if let Some(ts) = self.find_root(&channel, n).await? {
                    l.root = Root::Posted { channel, ts };
                    self.save(&l).await?;
                    return Ok(l);
                }
                channel
            }
            Root::Placed { channel } => {
                let channel = channel.clone();
                l.root = Root::Posting {
                    channel: channel.clone(),
                };
                self.save(&l).await?;
                channel
            }
        };
        let n = &self.with_slack_people(n).await?;
        let msg = blocks::incident(n, &self.context(n).await?, None);
        let meta = root_metadata(n, "open");
        let (ch, ts) = self
            .api
            .post(&channel, content(&msg, Some(meta))?, None)
            .await?;
        tracing::info!(incident = n.incident_id, channel = %ch, ts = %ts, "posted incident message");
        l.root = Root::Posted { channel: ch, ts };
        self.save(&l).await?;
        Ok(l)
    }

    /// The root posted before a lost response or a crash, searched page by page from
    /// the incident's opening on (a busy channel may have hundreds of newer messages).
    async fn find_root(&self, channel: &str, n: &Notification) -> Step<Option<String>> {
        let id = n.incident_id.to_string();
        let oldest = slack_ts(n.opened_at - chrono::Duration::minutes(5));
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let page = self.api.history_page(channel, &oldest, cursor).await?;
            let found = page
                .messages
                .into_iter()
                .find(|m| has_meta(m, ROOT_EVENT, "incident_id", &id));
            if let Some(m) = found {
                return Ok(Some(m.origin.ts.0));
            }
            let Some(next) = page.next else {
                return Ok(None);
            };
            cursor = Some(next);
        }
        Err(NotifyError::new(format!(
            "could not finish looking for incident {id}'s root in {channel} ({MAX_PAGES} pages)"
        )))
    }

    /// Whether the thread already has the reply of `key`, over every page of it.
    async fn has_reply(&self, channel: &str, root: &str, key: &str) -> Step<bool> {
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let page = self.api.replies_page(channel, root, cursor).await?;
            if page
                .messages
                .iter()
                .any(|m| has_meta(m, REPLY_EVENT, "key", key))
            {
                return Ok(true);
            }
            let Some(next) = page.next else {
                return Ok(false);
            };
            cursor = Some(next);
        }
        Err(NotifyError::new(format!(
            "could not finish reading the thread {root} in {channel} ({MAX_PAGES} pages)"
        )))
    }

    /// Posts `msg` in the root's thread once per `key`, whatever retries happen.
    pub(super) async fn reply_once(&self, l: &Link, key: &str, msg: &Message) -> Step {
        let Some((channel, root)) = l.root.posted() else {
            return Err(NotifyError::new(
                "the incident's root message is not posted yet",
            ));
        };
        let lookup = || self.has_reply(channel, root, key);
        let post = || async {
            let meta = metadata(REPLY_EVENT, &[("key", key.to_string())]);
            let body = content(msg, Some(meta))?;
            self.api.post(channel, body, Some(root)).await?;
            Ok(())
        };
        self.journal()
            .once(key, l.incident_id, self.clock.now(), lookup, post)
            .await
    }

    /// Updates and recovery need the root: open first when it is not there yet.
    async fn settled(&self, n: &Notification, team: &TeamSlack) -> Step<Option<Link>> {
        let l = self.links.get(n.incident_id).await.map_err(store_err)?;
        match l {
            Some(l) if l.root.posted().is_some() => Ok(Some(l)),
            // Opening was interrupted (or never happened): finish it with the opening's
            // own content when known, so the root describes the failure, not this event.
            _ => {
                let opened = self.opened_or(n).await?;
                self.open(&opened, team).await
            }
        }
    }

    pub(super) async fn opened_or(&self, n: &Notification) -> Step<Notification> {
        let opened = Notification::opened(&self.store, n.incident_id)
            .await
            .map_err(store_err)?;
        Ok(opened.unwrap_or_else(|| n.clone()))
    }

    async fn update(&self, n: &Notification, team: &TeamSlack) -> Step {
        let Some(l) = self.settled(n, team).await? else {
            return Ok(());
        };
        self.reply_once(&l, &event_key(n), &blocks::thread_update(n))
            .await
    }

    async fn resolve(&self, n: &Notification, team: &TeamSlack) -> Step {
        let Some(mut l) = self.settled(n, team).await? else {
            return Ok(());
        };
        self.reply_once(&l, &event_key(n), &blocks::thread_update(n))
            .await?;
        let opened = self.with_slack_people(&self.opened_or(n).await?).await?;
        let msg = blocks::incident(&opened, &self.context(&opened).await?, Some(n.at));
        let Some((channel, ts)) = l.root.posted().map(|(c, t)| (c.to_string(), t.to_string()))
        else {
            return Err(NotifyError::new(
                "the incident's root message is not posted yet",
            ));
        };
        let meta = root_metadata(&opened, "resolved");
        self.api
            .update(&channel, &ts, content(&msg, Some(meta))?)
            .await?;
        l.root = Root::Resolved { channel, ts };
        self.save(&l).await
    }

    /// Owners as mentions, group mentions, the GitHub issue, the acknowledgement.
    pub(super) async fn context(&self, n: &Notification) -> Step<Context> {
        let team = self.team(&n.team);
        let mut owners = Vec::new();
        for o in &n.owners {
            owners.push(match self.user_id(o).await {
                Ok(Some(id)) => format!("<@{id}>"),
                _ => blocks::escape(o),
            });
        }
        let github_url = match (
            &self.github_web,
            crate::github::IssueLinks::new(self.store.clone())
                .get(n.incident_id)
                .await,
        ) {
            (Some(web), Ok(Some(link))) => link
                .number()
                .map(|num| format!("{web}/{}/issues/{num}", link.repo)),
            _ => None,
        };
        let acked_by = self
            .store
            .acknowledgement(n.incident_id)
            .await
            .map_err(store_err)?
            .map(|(by, _)| by);
        Ok(Context {
            owners,
            groups: self
                .groups(&team)
                .iter()
                .map(|g| format!("<!subteam^{g}>"))
                .collect(),
            github_url,
            impact_top: self.impact_top,
            acked_by,
        })
    }

    /// A team channel's id: ids as they are, names looked up once.
    pub(super) async fn team_channel_id(&self, name: &str) -> Step<String> {
        let bare = name.trim_start_matches('#');
        if is_channel_id(bare) {
            return Ok(bare.to_string());
        }
        if let Some(id) = self.channel_ids.lock().expect("cache").get(bare) {
            return Ok(id.clone());
        }
        let Some(c) = self.api.find_channel(bare).await? else {
            return Err(NotifyError::new(format!(
                "Slack channel #{bare} not found (invite the Ripple app to it, or fix slack_channel)"
            )));
        };
        let id = c.id.0;
        self.channel_ids
            .lock()
            .expect("cache")
            .insert(bare.to_string(), id.clone());
        Ok(id)
    }
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn destination(&self) -> &str {
        "slack"
    }

    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        let team = self.team(&n.team);
        let _guard = self.lock(&fingerprint(&n.monitor_id)).await;
        match n.event {
            EventKind::Opened => self.open(n, &team).await.map(|_| ()),
            EventKind::Resolved => self.resolve(n, &team).await,
            EventKind::Updated(_) | EventKind::AlsoAffected => self.update(n, &team).await,
        }
    }

    /// Root messages in the latest page of each team channel, and incident channels
    /// still open (their purpose carries the incident marker).
    async fn footprints(&self) -> Result<Vec<Footprint>, NotifyError> {
        let mut out = vec![];
        let names: std::collections::BTreeSet<&str> = self
            .teams
            .values()
            .filter_map(|t| t.channel.as_deref())
            .collect();
        for name in names {
            let id = self.team_channel_id(name).await?;
            let page = self.api.history_page(&id, "0", None).await?;
            for m in page.messages.iter().filter(|m| is_root(m)) {
                out.push(Footprint {
                    place: format!("{name}@{}", m.origin.ts.0),
                    incident_id: meta_value(m, "incident_id").and_then(|v| v.parse().ok()),
                });
            }
        }
        let open_rooms = self
            .api
            .channels_where(|c| {
                let purpose = c.purpose.as_ref().map(|p| p.value.as_str()).unwrap_or("");
                !c.flags.is_archived.unwrap_or(false) && marked_id(purpose).is_some()
            })
            .await?;
        for c in open_rooms {
            let purpose = c.purpose.map(|p| p.value).unwrap_or_default();
            out.push(Footprint {
                place: format!("#{}", c.name.unwrap_or(c.id.0)),
                incident_id: marked_id(&purpose),
            });
        }
        Ok(out)
    }
}

fn is_root(m: &SlackHistoryMessage) -> bool {
    m.content
        .metadata
        .as_ref()
        .is_some_and(|meta| meta.event_type == ROOT_EVENT)
}

pub(super) fn meta_value(m: &SlackHistoryMessage, key: &str) -> Option<String> {
    let meta = m.content.metadata.as_ref()?;
    meta.event_payload.as_ref()?.get(key).cloned()
}

/// One key per event, as GitHub comments use.
pub(super) fn event_key(n: &Notification) -> String {
    format!(
        "{}:{}:{}",
        n.incident_id,
        n.event.as_str(),
        n.at.timestamp_millis()
    )
}

/// A root's metadata: its incident, the monitor's fingerprint (for adoption after
/// `--new-state`) and whether it is still open.
pub(super) fn root_metadata(n: &Notification, state: &str) -> SlackMessageMetadata {
    let fp = fingerprint(&n.monitor_id);
    let id = n.incident_id.to_string();
    let payload = [
        ("incident_id", id),
        ("fingerprint", fp),
        ("state", state.into()),
    ];
    metadata(ROOT_EVENT, &payload)
}

fn metadata(event: &str, payload: &[(&str, String)]) -> SlackMessageMetadata {
    let map = payload
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    SlackMessageMetadata::new(event.to_string()).with_event_payload(map)
}

/// A lookup gives up (and the delivery is retried later) rather than read without end.
pub(super) const MAX_PAGES: usize = 50;

/// Slack's `ts` form of an instant: seconds and microseconds.
fn slack_ts(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}.{:06}", t.timestamp(), t.timestamp_subsec_micros())
}

fn has_meta(m: &SlackHistoryMessage, event: &str, key: &str, value: &str) -> bool {
    m.content.metadata.as_ref().is_some_and(|meta| {
        meta.event_type == event
            && meta
                .event_payload
                .as_ref()
                .and_then(|p| p.get(key))
                .is_some_and(|v| v == value)
    })
}

/// Our JSON blocks as slack-morphism's models (they follow Block Kit's JSON exactly).
pub(super) fn content(
    msg: &Message,
    meta: Option<SlackMessageMetadata>,
) -> Step<SlackMessageContent> {
    let blocks: Vec<SlackBlock> = serde_json::from_value(Value::Array(msg.blocks.clone()))
        .map_err(|e| NotifyError::new(format!("Block Kit rendering: {e}")))?;
    Ok(SlackMessageContent::new()
        .with_text(msg.text.clone())
        .with_blocks(blocks)
        .opt_metadata(meta))
}

/// `C…`/`G…` channel ids as Slack writes them.
fn is_channel_id(s: &str) -> bool {
    s.len() >= 9
        && (s.starts_with('C') || s.starts_with('G'))
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `https://api.github.com` → `https://github.com`; GHES `https://h/api/v3` → `https://h`.
pub fn github_web(api_url: &str) -> String {
    let url = api_url.trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("https://api.") {
        return format!("https://{rest}");
    }
    url.trim_end_matches("/api/v3").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_web_urls() {
        assert_eq!(github_web("https://api.github.com"), "https://github.com");
        assert_eq!(
            github_web("https://ghe.acme.io/api/v3/"),
            "https://ghe.acme.io"
        );
    }

    #[test]
    fn rendered_blocks_parse_as_slack_models() {
        let msg = blocks::note("hello");
        let c = content(&msg, None).unwrap();
        assert_eq!(c.blocks.unwrap().len(), 1);
    }
}
