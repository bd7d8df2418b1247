//! The GitHub destination: one issue per incident, kept up to date, closed on recovery.
//!
//! Each delivery may be retried (outage, crash), so every step is idempotent: the
//! incident → issue link is read from the store first; creating an issue or a comment
//! is preceded by a persisted intent and, on retry, reconciled by its hidden marker;
//! edits and state changes are safe to repeat.

use super::body::{self, CommentKind};
use super::client::{self, Api, Auth};
use super::issues::Issues;
use super::state::{IssueLinks, Link, LinkState};
use crate::clock::Clock;
use crate::config::{Config, OnRecovery, Secrets};
use crate::notify::once::Journal;
use crate::notify::{EventKind, Footprint, Notification, Notifier, NotifyError};
use crate::store::Store;
use async_trait::async_trait;
use octocrab::models::IssueState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A team's GitHub settings, resolved from `ripple.yaml`.
#[derive(Debug, Clone)]
pub(super) struct TeamGithub {
    pub(super) repo: String,
    pub(super) assignees: Vec<String>,
    pub(super) slack_channel: Option<String>,
    pub(super) on_recovery: OnRecovery,
}

/// Delivers notifications as GitHub issues and comments.
pub struct GithubNotifier {
    pub(super) api: Api,
    pub(super) store: Store,
    pub(super) links: IssueLinks,
    pub(super) teams: HashMap<String, TeamGithub>,
    pub(super) colours: BTreeMap<String, String>,
    pub(super) reopen_window: chrono::Duration,
    pub(super) known_labels: Mutex<HashSet<String>>,
}

pub(super) type Step<T = ()> = Result<T, NotifyError>;

pub(super) use crate::notify::once::store_err;

impl GithubNotifier {
    /// Builds the notifier from `github:` and credentials; a clear error when either
    /// is missing.
    pub fn from_config(
        cfg: &Config,
        secrets: &Secrets,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<GithubNotifier> {
        let gh = cfg
            .github
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no `github:` section in the config"))?;
        let auth = Auth::from_secrets(secrets).map_err(anyhow::Error::msg)?;
        let octo = client::build(&gh.api_url, &auth)?;
        Ok(Self::new(Api::new(octo, clock), store, cfg))
    }

    pub fn new(api: Api, store: Store, cfg: &Config) -> GithubNotifier {
        let gh = cfg.github.clone();
        let default_recovery = gh.as_ref().map(|g| g.on_recovery).unwrap_or_default();
        let teams = cfg
            .teams
            .iter()
            .filter_map(|t| {
                let repo = t.github_repo.clone()?;
                Some((
                    t.name.clone(),
                    TeamGithub {
                        repo,
                        assignees: t.github_assignees.clone(),
                        slack_channel: t.slack_channel.clone(),
                        on_recovery: t.github_on_recovery.unwrap_or(default_recovery),
                    },
                ))
            })
            .collect();
        let window = gh.as_ref().map(|g| g.reopen_window).unwrap_or_default();
        GithubNotifier {
            api,
            links: IssueLinks::new(store.clone()),
            store,
            teams,
            colours: gh.map(|g| g.label_colours).unwrap_or_default(),
            reopen_window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::zero()),
            known_labels: Mutex::new(HashSet::new()),
        }
    }

    /// Operations on `repo`. An existing link keeps the repository it was opened in,
    /// even if the team's `github_repo` changed since.
    pub(super) fn issues<'a>(&'a self, repo: &'a str) -> Issues<'a> {
        Issues {
            api: &self.api,
            repo,
        }
    }

    pub(super) async fn link(&self, incident_id: i64) -> Step<Option<Link>> {
        self.links.get(incident_id).await.map_err(store_err)
    }

    pub(super) async fn save(&self, l: &Link) -> Step {
        self.links.update(l).await.map_err(store_err)
    }
}

#[async_trait]
impl Notifier for GithubNotifier {
    fn destination(&self) -> &str {
        "github"
    }

    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        let Some(team) = self.teams.get(&n.team) else {
            tracing::debug!(team = %n.team, "no github_repo for this team; no issue");
            return Ok(());
        };
        match n.event {
            EventKind::Opened => self.open(n, team).await,
            EventKind::Updated(_) => self.update(n, team).await,
            EventKind::Resolved => self.resolve(n, team).await,
            EventKind::AlsoAffected => self.update(n, team).await,
        }
    }

    /// Open issues with Ripple's fingerprint marker in every team repository.
    async fn footprints(&self) -> Result<Vec<Footprint>, NotifyError> {
        let repos: std::collections::BTreeSet<&str> =
            self.teams.values().map(|t| t.repo.as_str()).collect();
        let mut out = vec![];
        for repo in repos {
            for i in self
                .issues(repo)
                .find_open(body::FINGERPRINT_PREFIX)
                .await?
            {
                out.push(Footprint {
                    place: format!("{repo}#{}", i.number),
                    incident_id: i.body.as_deref().and_then(body::incident_of),
                });
            }
        }
        Ok(out)
    }
}

/// Updates and recovery.
impl GithubNotifier {
    /// The link once opening has finished; `None` when the issue was opened just now
    /// (the team got a repository after the incident opened), which says it all.
    async fn settled(&self, n: &Notification, team: &TeamGithub) -> Step<Option<Link>> {
        let Some(l) = self.link(n.incident_id).await? else {
            self.open(n, team).await?;
            return Ok(None);
        };
        if !l.state.settled() {
            self.advance(n, team, l).await?;
            return self.link(n.incident_id).await;
        }
        Ok(Some(l))
    }

    /// A settled link and its issue number.
    async fn settled_number(
        &self,
        n: &Notification,
        team: &TeamGithub,
    ) -> Step<Option<(Link, u64)>> {
        let l = self.settled(n, team).await?;
        Ok(l.and_then(|l| l.number().map(|num| (l, num))))
    }

    async fn update(&self, n: &Notification, team: &TeamGithub) -> Step {
        let Some((l, number)) = self.settled_number(n, team).await? else {
            return Ok(());
        };
        let kind = match n.event {
            EventKind::Updated(crate::incident::UpdateReason::Reminder) => CommentKind::Reminder,
            EventKind::AlsoAffected => CommentKind::AlsoAffected,
            _ => CommentKind::Changed,
        };
        self.comment(n, &l.repo, number, kind).await?;
        if kind == CommentKind::AlsoAffected {
            // The status section describes the incident's own monitor, not this one.
            return Ok(());
        }
        self.refresh_status(&l.repo, number, n, None).await
    }

    async fn resolve(&self, n: &Notification, team: &TeamGithub) -> Step {
        let Some((mut l, number)) = self.settled_number(n, team).await? else {
            return Ok(());
        };
        if l.state.closed_at().is_some() {
            return Ok(());
        }
        // A newer incident of the same monitor may already be using this issue.
        let taken = self.links.taken_over(&l).await.map_err(store_err)?;
        let closing = team.on_recovery == OnRecovery::Close && !taken;
        self.comment(n, &l.repo, number, CommentKind::Recovered { closing })
            .await?;
        if !taken {
            let state = closing.then_some(IssueState::Closed);
            self.refresh_status(&l.repo, number, n, state).await?;
        }
        let at = n.at;
        l.state = if closing {
            LinkState::Closed { number, at }
        } else {
            LinkState::Resolved { number, at }
        };
        self.save(&l).await
    }

    /// Rewrites the status section (and optionally the state) of the issue.
    async fn refresh_status(
        &self,
        repo: &str,
        number: u64,
        n: &Notification,
        state: Option<IssueState>,
    ) -> Step {
        let issues = self.issues(repo);
        let issue = issues.get(number).await?;
        let old = issue.body.unwrap_or_default();
        let new = body::replace_status(&old, n);
        if new != old || state.is_some() {
            issues.edit(number, Some(&new), state).await?;
        }
        Ok(())
    }

    /// Posts a comment once per event, whatever retries happen.
    pub(super) async fn comment(
        &self,
        n: &Notification,
        repo: &str,
        number: u64,
        kind: CommentKind,
    ) -> Step {
        let key = format!(
            "{}:{}:{}",
            n.incident_id,
            n.event.as_str(),
            n.at.timestamp_millis()
        );
        let marker = body::event_marker(&key);
        let journal = Journal {
            store: &self.store,
            scope: "github",
        };
        let lookup = || async { Ok(self.issues(repo).has_comment(number, &marker).await?) };
        let post = || async {
            self.issues(repo)
                .comment(number, &body::comment(n, kind, &key))
                .await?;
            Ok(())
        };
        journal.once(&key, n.incident_id, n.at, lookup, post).await
    }
}
