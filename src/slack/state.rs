//! What Ripple remembers about Slack: where each incident's root message lives and
//! whether it has a channel (`store/schema_v4_slack.sql`), reached through
//! [`SlackLinks`]. Thread replies go through the shared intent journal
//! (`notify::once`, scope `slack`).
//!
//! The stored states are enums carrying their data (a posted root *has* a ts); a row
//! whose state and columns disagree, or an unknown state, is an error, never a default.

use crate::store::{Store, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The incident's own channel, when it is escalated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Channel {
    #[default]
    None,
    /// The name is persisted before `conversations.create`.
    Creating {
        name: String,
    },
    /// Created (or adopted); purpose, topic and invitations may be pending.
    Created {
        name: String,
        id: String,
    },
    Ready {
        name: String,
        id: String,
    },
}

/// The incident's root message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Root {
    /// Nowhere yet.
    #[default]
    Unplaced,
    /// The channel is decided; nothing posted.
    Placed {
        channel: String,
    },
    /// Intent persisted: the post may have happened (look it up before posting).
    Posting {
        channel: String,
    },
    Posted {
        channel: String,
        ts: String,
    },
    /// Posted and edited to its resolved form.
    Resolved {
        channel: String,
        ts: String,
    },
}

impl Root {
    /// Where the root lives, once placed.
    pub fn channel(&self) -> Option<&str> {
        match self {
            Root::Unplaced => None,
            Root::Placed { channel }
            | Root::Posting { channel }
            | Root::Posted { channel, .. }
            | Root::Resolved { channel, .. } => Some(channel),
        }
    }

    /// The root's (channel, ts) once posted.
    pub fn posted(&self) -> Option<(&str, &str)> {
        match self {
            Root::Posted { channel, ts } | Root::Resolved { channel, ts } => Some((channel, ts)),
            _ => None,
        }
    }
}

/// An incident's Slack presence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Link {
    pub incident_id: i64,
    pub fingerprint: String,
    pub escalated: bool,
    pub channel: Channel,
    pub root: Root,
}

impl Link {
    /// The incident channel exists: the root is placed in it from now on.
    pub fn set_channel(&mut self, name: String, id: String) {
        self.root = Root::Placed {
            channel: id.clone(),
        };
        self.channel = Channel::Created { name, id };
    }
}

/// The `slack_incidents` table.
#[derive(Clone)]
pub struct SlackLinks {
    store: Store,
}

fn link(r: &sqlx::sqlite::SqliteRow) -> anyhow::Result<Link> {
    let incident_id: i64 = r.get("incident_id");
    let id: Option<String> = r.get("channel_id");
    let name: Option<String> = r.get("channel_name");
    let ts: Option<String> = r.get("root_ts");
    let bad = |what: &str| anyhow::anyhow!("slack link of incident #{incident_id}: {what}");
    let channel = match (r.get::<String, _>("channel_state").as_str(), name, &id) {
        ("none", _, _) => Channel::None,
        ("creating", Some(name), _) => Channel::Creating { name },
        ("created", Some(name), Some(id)) => Channel::Created {
            name,
            id: id.clone(),
        },
        ("ready", Some(name), Some(id)) => Channel::Ready {
            name,
            id: id.clone(),
        },
        (s, _, _) => return Err(bad(&format!("channel state `{s}` without its name or id"))),
    };
    let root = match (r.get::<String, _>("root_state").as_str(), id, ts) {
        ("none", None, _) => Root::Unplaced,
        ("none", Some(channel), _) => Root::Placed { channel },
        ("posting", Some(channel), _) => Root::Posting { channel },
        ("posted", Some(channel), Some(ts)) => Root::Posted { channel, ts },
        ("resolved", Some(channel), Some(ts)) => Root::Resolved { channel, ts },
        (s, _, _) => return Err(bad(&format!("root state `{s}` without its channel or ts"))),
    };
    Ok(Link {
        incident_id,
        fingerprint: r.get("fingerprint"),
        escalated: r.get::<i64, _>("escalated") == 1,
        channel,
        root,
    })
}

/// The columns a link is stored as: (channel_state, channel_name, channel_id, root_ts,
/// root_state). The root's channel wins the shared `channel_id` column: once the
/// incident channel exists, the root is placed in it.
type Columns<'a> = (
    &'static str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'static str,
);

fn columns(l: &Link) -> Columns<'_> {
    let (cs, name, cid) = match &l.channel {
        Channel::None => ("none", None, None),
        Channel::Creating { name } => ("creating", Some(name.as_str()), None),
        Channel::Created { name, id } => ("created", Some(name.as_str()), Some(id.as_str())),
        Channel::Ready { name, id } => ("ready", Some(name.as_str()), Some(id.as_str())),
    };
    let (rs, ts) = match &l.root {
        Root::Unplaced | Root::Placed { .. } => ("none", None),
        Root::Posting { .. } => ("posting", None),
        Root::Posted { ts, .. } => ("posted", Some(ts.as_str())),
        Root::Resolved { ts, .. } => ("resolved", Some(ts.as_str())),
    };
    (cs, name, l.root.channel().or(cid), ts, rs)
}

impl SlackLinks {
    pub fn new(store: Store) -> SlackLinks {
        SlackLinks { store }
    }

    pub async fn get(&self, incident_id: i64) -> anyhow::Result<Option<Link>> {
        let row = sqlx::query("SELECT * FROM slack_incidents WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(link).transpose()
    }

    /// Records a new link; a second insert for one incident keeps the first.
    pub async fn insert(&self, l: &Link, now: DateTime<Utc>) -> anyhow::Result<()> {
        let (cs, name, cid, ts, rs) = columns(l);
        sqlx::query(
            "INSERT INTO slack_incidents (incident_id, fingerprint, escalated, channel_state,
                 channel_name, channel_id, root_ts, root_state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (incident_id) DO NOTHING",
        )
        .bind(l.incident_id)
        .bind(&l.fingerprint)
        .bind(i64::from(l.escalated))
        .bind(cs)
        .bind(name)
        .bind(cid)
        .bind(ts)
        .bind(rs)
        .bind(ms(now))
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    pub async fn update(&self, l: &Link) -> anyhow::Result<()> {
        let (cs, name, cid, ts, rs) = columns(l);
        sqlx::query(
            "UPDATE slack_incidents SET escalated = $2, channel_state = $3, channel_name = $4,
                 channel_id = $5, root_ts = $6, root_state = $7
             WHERE incident_id = $1",
        )
        .bind(l.incident_id)
        .bind(i64::from(l.escalated))
        .bind(cs)
        .bind(name)
        .bind(cid)
        .bind(ts)
        .bind(rs)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Takes (or renews) the lease to create the incident's channel. Another worker's
    /// lease younger than `stale_before` wins; a crashed worker's lease expires (or is
    /// taken over at once by [`Self::take_over_channel`] when its holder is dead).
    pub async fn claim_channel(
        &self,
        incident_id: i64,
        me: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE slack_incidents SET claim_by = $2, claim_at = $3
             WHERE incident_id = $1 AND (claim_by IS NULL OR claim_by = $2 OR claim_at < $4)",
        )
        .bind(incident_id)
        .bind(me)
        .bind(ms(now))
        .bind(ms(stale_before))
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Who holds the channel-creation lease, if anyone.
    pub async fn channel_claim(&self, incident_id: i64) -> anyhow::Result<Option<String>> {
        let by: Option<Option<String>> =
            sqlx::query_scalar("SELECT claim_by FROM slack_incidents WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(by.flatten())
    }

    /// Takes the creation lease over from exactly `dead` (a holder the caller found
    /// gone); false when it moved on meanwhile.
    pub async fn take_over_channel(
        &self,
        incident_id: i64,
        me: &str,
        dead: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE slack_incidents SET claim_by = $2, claim_at = $3
             WHERE incident_id = $1 AND claim_by = $4",
        )
        .bind(incident_id)
        .bind(me)
        .bind(ms(now))
        .bind(dead)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the creation lease back, if `me` still holds it.
    pub async fn release_channel(&self, incident_id: i64, me: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE slack_incidents SET claim_by = NULL WHERE incident_id = $1 AND claim_by = $2",
        )
        .bind(incident_id)
        .bind(me)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Every incident's Slack link (tests and diagnostics).
    pub async fn all(&self) -> anyhow::Result<Vec<Link>> {
        let rows = sqlx::query("SELECT * FROM slack_incidents ORDER BY incident_id")
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(link).collect()
    }
}
