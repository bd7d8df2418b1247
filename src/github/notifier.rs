//! The GitHub destination: one issue per incident, kept up to date, closed on recovery.
//!
//! Each delivery may be retried (outage, crash), so every step is idempotent: the
//! incident → issue link is read from the store first; creating an issue or a comment
//! is preceded by a persisted intent and, on retry, reconciled by its hidden marker;
//! edits and state changes are safe to repeat.

use super::body::{self, CommentKind, IssueContext, Unassigned};
use super::client::{self, Api, Auth};
use super::issues::{Issues, plausible_login};
use super::state::{CommentState, Link, LinkState};
use crate::clock::Clock;
use crate::config::{Config, OnRecovery, Secrets};
use crate::incident::fingerprint;
use crate::notify::{EventKind, Notification, Notifier, NotifyError};
use crate::store::Store;
use async_trait::async_trait;
use octocrab::models::IssueState;
use octocrab::models::issues::Issue;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// GitHub allows at most this many assignees per issue.
const MAX_ASSIGNEES: usize = 10;

/// A team's GitHub settings, resolved from `ripple.yaml`.
#[derive(Debug, Clone)]
struct TeamGithub {
    repo: String,
    assignees: Vec<String>,
    slack_channel: Option<String>,
    on_recovery: OnRecovery,
}

/// Delivers notifications as GitHub issues and comments.
pub struct GithubNotifier {
    api: Api,
    store: Store,
    teams: HashMap<String, TeamGithub>,
    colours: BTreeMap<String, String>,
    reopen_window: chrono::Duration,
    known_labels: Mutex<HashSet<String>>,
}

type Step<T = ()> = Result<T, NotifyError>;

fn store_err(e: anyhow::Error) -> NotifyError {
    NotifyError::new(format!("state store: {e:#}"))
}

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
            store,
            teams,
            colours: gh.map(|g| g.label_colours).unwrap_or_default(),
            reopen_window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::zero()),
            known_labels: Mutex::new(HashSet::new()),
        }
    }

    fn issues<'a>(&'a self, team: &'a TeamGithub) -> Issues<'a> {
        Issues {
            api: &self.api,
            repo: &team.repo,
        }
    }

    async fn link(&self, incident_id: i64) -> Step<Option<Link>> {
        self.store.github_link(incident_id).await.map_err(store_err)
    }

    async fn save(&self, l: &Link) -> Step {
        self.store.github_update_link(l).await.map_err(store_err)
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
        }
    }
}

/// Opening: find or create the issue, then finish whatever an earlier attempt left.
impl GithubNotifier {
    async fn open(&self, n: &Notification, team: &TeamGithub) -> Step {
        let link = match self.link(n.incident_id).await? {
            Some(l) => l,
            None => return self.first_attempt(n, team).await,
        };
        self.advance(n, team, link).await
    }

    /// Continues a link from wherever it stopped.
    async fn advance(&self, n: &Notification, team: &TeamGithub, l: Link) -> Step {
        match l.state {
            LinkState::Creating => self.create(n, team, l, true).await,
            LinkState::Adopting | LinkState::Reopening => self.attach(n, team, l).await,
            LinkState::Open | LinkState::Resolved | LinkState::Closed => Ok(()),
        }
    }

    /// Store first, then the label listing; create only when neither has the issue.
    async fn first_attempt(&self, n: &Notification, team: &TeamGithub) -> Step {
        let found = match self.find_in_store(n, team).await? {
            Some(l) => Some(l),
            None => self.find_by_marker(n, team).await?,
        };
        let (l, fresh) = match found {
            Some(l) => (l, false),
            None => (self.link_with(n, team, None, LinkState::Creating), true),
        };
        // The intent is durable before any API call that creates something.
        self.store
            .github_insert_link(n.incident_id, &fingerprint(&n.monitor_id), &l, n.at)
            .await
            .map_err(store_err)?;
        if fresh {
            return self.create(n, team, l, false).await;
        }
        self.advance(n, team, l).await
    }

    fn link_with(
        &self,
        n: &Notification,
        team: &TeamGithub,
        number: Option<u64>,
        state: LinkState,
    ) -> Link {
        Link {
            incident_id: n.incident_id,
            repo: team.repo.clone(),
            number,
            state,
            closed_at: None,
        }
    }

    /// The previous incident's issue: adopt it while open, reopen it when it was closed
    /// within the reopen window.
    async fn find_in_store(&self, n: &Notification, team: &TeamGithub) -> Step<Option<Link>> {
        let fp = fingerprint(&n.monitor_id);
        let prev = self
            .store
            .github_previous_link(&fp, &team.repo, n.incident_id)
            .await
            .map_err(store_err)?;
        let Some(number) = prev.as_ref().and_then(|p| p.number) else {
            return Ok(None);
        };
        let issue = match self.issues(team).get(number).await {
            Ok(i) => i,
            // Deleted or transferred: as if it never existed.
            Err(e) if e.is_status(404) || e.is_status(410) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if issue.state == IssueState::Open {
            return Ok(Some(self.link_with(
                n,
                team,
                Some(number),
                LinkState::Adopting,
            )));
        }
        let closed_at = prev.and_then(|p| p.closed_at).or(issue.closed_at);
        let recent = closed_at.is_some_and(|c| n.at - c <= self.reopen_window);
        Ok(recent.then(|| self.link_with(n, team, Some(number), LinkState::Reopening)))
    }

    /// An open issue carrying the fingerprint marker (store lost, another replica).
    async fn find_by_marker(&self, n: &Notification, team: &TeamGithub) -> Step<Option<Link>> {
        let marker = body::fingerprint_marker(&n.monitor_id);
        let found = self.issues(team).find_open(&marker).await?;
        Ok(found
            .first()
            .map(|i| self.link_with(n, team, Some(i.number), LinkState::Adopting)))
    }

    /// Creates the issue. With `reconcile`, an earlier attempt may have created it
    /// already (lost response, crash before recording): look for it first.
    async fn create(
        &self,
        n: &Notification,
        team: &TeamGithub,
        mut l: Link,
        reconcile: bool,
    ) -> Step {
        if reconcile {
            let marker = body::fingerprint_marker(&n.monitor_id);
            if let Some(i) = self.issues(team).find_open(&marker).await?.first() {
                let ours = is_ours(i, n.incident_id);
                l.number = Some(i.number);
                l.state = if ours {
                    LinkState::Open
                } else {
                    LinkState::Adopting
                };
                self.save(&l).await?;
                return if ours {
                    Ok(())
                } else {
                    self.attach(n, team, l).await
                };
            }
        }
        let issue = self.create_issue(n, team).await?;
        tracing::info!(incident = n.incident_id, repo = %team.repo, issue = issue.number, "opened GitHub issue");
        l.number = Some(issue.number);
        l.state = LinkState::Open;
        self.save(&l).await
    }

    async fn create_issue(&self, n: &Notification, team: &TeamGithub) -> Step<Issue> {
        let issues = self.issues(team);
        let labels = body::labels(n);
        issues
            .ensure_labels(&labels, &self.colours, &self.known_labels)
            .await?;
        let (assignees, mut unassigned) = self.check_assignees(n, team).await?;
        let title = body::title(n);
        let render = |unassigned: &[Unassigned]| {
            let ctx = IssueContext {
                slack_channel: team.slack_channel.as_deref(),
                unassigned,
                // The impact report plugs in here once notifications carry one.
                impact: None,
            };
            body::issue_body(n, &ctx)
        };
        let first = issues
            .create(&title, &render(&unassigned), &labels, &assignees)
            .await;
        match first {
            // Checked a moment ago, yet refused: permissions changed in between. An
            // issue without assignees beats no issue.
            Err(e) if e.is_status(422) && !assignees.is_empty() => {
                tracing::warn!(error = %e, "GitHub refused the assignees; creating without them");
                unassigned.extend(assignees.into_iter().map(|login| Unassigned {
                    login,
                    reason: "GitHub refused the assignment when the issue was created".into(),
                }));
                Ok(issues
                    .create(&title, &render(&unassigned), &labels, &[])
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// Rule owners, then the team's assignees; each checked, never failing the create.
    async fn check_assignees(
        &self,
        n: &Notification,
        team: &TeamGithub,
    ) -> Step<(Vec<String>, Vec<Unassigned>)> {
        let mut wanted: Vec<String> = Vec::new();
        for login in n.owners.iter().chain(&team.assignees) {
            let login = login.trim_start_matches('@').to_string();
            if !wanted.contains(&login) {
                wanted.push(login);
            }
        }
        let (mut ok, mut not) = (Vec::new(), Vec::new());
        for login in wanted {
            let reason = if !plausible_login(&login) {
                "not a GitHub login".to_string()
            } else if ok.len() == MAX_ASSIGNEES {
                format!("GitHub allows at most {MAX_ASSIGNEES} assignees")
            } else if self.issues(team).assignable(&login).await? {
                ok.push(login);
                continue;
            } else {
                format!(
                    "cannot be assigned in `{}` (no access to the repository)",
                    team.repo
                )
            };
            not.push(Unassigned { login, reason });
        }
        Ok((ok, not))
    }

    /// Attaches the incident to an existing issue: reopen if needed, refresh the status,
    /// say it is failing again.
    async fn attach(&self, n: &Notification, team: &TeamGithub, mut l: Link) -> Step {
        let number = l.number.expect("attached links have a number");
        let reopen = l.state == LinkState::Reopening;
        let issue = self.issues(team).get(number).await?;
        let text = body::replace_status(issue.body.as_deref().unwrap_or_default(), n);
        let state = reopen.then_some(IssueState::Open);
        self.issues(team).edit(number, Some(&text), state).await?;
        let kind = CommentKind::FailingAgain { reopened: reopen };
        self.comment(n, team, number, kind).await?;
        l.state = LinkState::Open;
        self.save(&l).await
    }
}

/// The issue was created for this very incident (its incident marker says so).
fn is_ours(i: &Issue, incident_id: i64) -> bool {
    let marker = body::incident_marker(incident_id);
    i.body.as_deref().is_some_and(|b| b.contains(&marker))
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
        if matches!(
            l.state,
            LinkState::Creating | LinkState::Adopting | LinkState::Reopening
        ) {
            self.advance(n, team, l).await?;
            return self.link(n.incident_id).await;
        }
        Ok(Some(l))
    }

    async fn update(&self, n: &Notification, team: &TeamGithub) -> Step {
        let Some(l) = self.settled(n, team).await? else {
            return Ok(());
        };
        let number = l.number.expect("settled links have a number");
        let kind = match n.event {
            EventKind::Updated(crate::incident::UpdateReason::Reminder) => CommentKind::Reminder,
            _ => CommentKind::Changed,
        };
        self.comment(n, team, number, kind).await?;
        self.refresh_status(team, number, n, None).await
    }

    async fn resolve(&self, n: &Notification, team: &TeamGithub) -> Step {
        let Some(mut l) = self.settled(n, team).await? else {
            return Ok(());
        };
        if matches!(l.state, LinkState::Resolved | LinkState::Closed) {
            return Ok(());
        }
        let number = l.number.expect("settled links have a number");
        // A newer incident of the same monitor may already be using this issue.
        let taken = self
            .store
            .github_issue_taken_over(&l)
            .await
            .map_err(store_err)?;
        let closing = team.on_recovery == OnRecovery::Close && !taken;
        self.comment(n, team, number, CommentKind::Recovered { closing })
            .await?;
        if !taken {
            let state = closing.then_some(IssueState::Closed);
            self.refresh_status(team, number, n, state).await?;
        }
        l.state = if closing {
            LinkState::Closed
        } else {
            LinkState::Resolved
        };
        l.closed_at = Some(n.at);
        self.save(&l).await
    }

    /// Rewrites the status section (and optionally the state) of the issue.
    async fn refresh_status(
        &self,
        team: &TeamGithub,
        number: u64,
        n: &Notification,
        state: Option<IssueState>,
    ) -> Step {
        let issues = self.issues(team);
        let issue = issues.get(number).await?;
        let old = issue.body.unwrap_or_default();
        let new = body::replace_status(&old, n);
        if new != old || state.is_some() {
            issues.edit(number, Some(&new), state).await?;
        }
        Ok(())
    }

    /// Posts a comment once per event, whatever retries happen.
    async fn comment(
        &self,
        n: &Notification,
        team: &TeamGithub,
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
        let set = |state| {
            self.store
                .github_set_comment(&key, n.incident_id, number, state, n.at)
        };
        match self
            .store
            .github_comment_state(&key)
            .await
            .map_err(store_err)?
        {
            Some(CommentState::Done) => return Ok(()),
            Some(CommentState::Started) => {
                if self.issues(team).has_comment(number, &marker).await? {
                    return set(CommentState::Done).await.map_err(store_err);
                }
            }
            None => set(CommentState::Started).await.map_err(store_err)?,
        }
        self.issues(team)
            .comment(number, &body::comment(n, kind, &key))
            .await?;
        set(CommentState::Done).await.map_err(store_err)
    }
}
