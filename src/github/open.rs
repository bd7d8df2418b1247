//! Opening an incident's issue: find it (store, then the `ripple` label listing), or
//! reopen a recently closed one, or create it — each step resumable after a crash.
//!
//! Order of lookups: the store's link for this incident; the previous incident's issue
//! of the same monitor (adopted while open, reopened within `reopen_window`); an open
//! issue carrying the fingerprint marker; and only then a create, after persisting the
//! intent. A retried create first looks for the issue an earlier attempt may have made.

use super::body::{self, CommentKind, IssueContext, Unassigned};
use super::issues::plausible_login;
use super::notifier::{GithubNotifier, Step, TeamGithub, store_err};
use super::state::{Link, LinkState};
use crate::incident::fingerprint;
use crate::notify::Notification;
use octocrab::models::IssueState;
use octocrab::models::issues::Issue;

/// GitHub allows at most this many assignees per issue.
const MAX_ASSIGNEES: usize = 10;

impl GithubNotifier {
    pub(super) async fn open(&self, n: &Notification, team: &TeamGithub) -> Step {
        let link = match self.link(n.incident_id).await? {
            Some(l) => l,
            None => return self.first_attempt(n, team).await,
        };
        self.advance(n, team, link).await
    }

    /// Continues a link from wherever it stopped.
    pub(super) async fn advance(&self, n: &Notification, team: &TeamGithub, l: Link) -> Step {
        match l.state {
            LinkState::Creating => self.create(n, team, l, true).await,
            LinkState::Adopting { number } => self.attach(n, l, number, false).await,
            LinkState::Reopening { number } => self.attach(n, l, number, true).await,
            LinkState::Open { .. } | LinkState::Resolved { .. } | LinkState::Closed { .. } => {
                Ok(())
            }
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
            None => (self.link_with(n, team, LinkState::Creating), true),
        };
        // The intent is durable before any API call that creates something.
        self.links
            .insert(&fingerprint(&n.monitor_id), &l, n.at)
            .await
            .map_err(store_err)?;
        if fresh {
            return self.create(n, team, l, false).await;
        }
        self.advance(n, team, l).await
    }

    fn link_with(&self, n: &Notification, team: &TeamGithub, state: LinkState) -> Link {
        Link {
            incident_id: n.incident_id,
            repo: team.repo.clone(),
            state,
        }
    }

    /// The previous incident's issue: adopt it while open, reopen it when it was closed
    /// within the reopen window.
    async fn find_in_store(&self, n: &Notification, team: &TeamGithub) -> Step<Option<Link>> {
        let fp = fingerprint(&n.monitor_id);
        let prev = self
            .links
            .previous(&fp, &team.repo, n.incident_id)
            .await
            .map_err(store_err)?;
        let Some(number) = prev.as_ref().and_then(Link::number) else {
            return Ok(None);
        };
        let issue = match self.issues(&team.repo).get(number).await {
            Ok(i) => i,
            // Deleted or transferred: as if it never existed.
            Err(e) if e.is_status(404) || e.is_status(410) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if issue.state == IssueState::Open {
            return Ok(Some(self.link_with(
                n,
                team,
                LinkState::Adopting { number },
            )));
        }
        let closed_at = prev.and_then(|p| p.state.closed_at()).or(issue.closed_at);
        let recent = closed_at.is_some_and(|c| n.at - c <= self.reopen_window);
        Ok(recent.then(|| self.link_with(n, team, LinkState::Reopening { number })))
    }

    /// An open issue carrying the fingerprint marker (store lost, another replica).
    async fn find_by_marker(&self, n: &Notification, team: &TeamGithub) -> Step<Option<Link>> {
        let marker = body::fingerprint_marker(&n.monitor_id);
        let found = self.issues(&team.repo).find_open(&marker).await?;
        Ok(found
            .first()
            .map(|i| self.link_with(n, team, LinkState::Adopting { number: i.number })))
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
            if let Some(i) = self.issues(&team.repo).find_open(&marker).await?.first() {
                let ours = is_ours(i, n.incident_id);
                let number = i.number;
                l.state = if ours {
                    LinkState::Open { number }
                } else {
                    LinkState::Adopting { number }
                };
                self.save(&l).await?;
                return if ours {
                    Ok(())
                } else {
                    self.attach(n, l, number, false).await
                };
            }
        }
        let issue = self.create_issue(n, team).await?;
        tracing::info!(incident = n.incident_id, repo = %team.repo, issue = issue.number, "opened GitHub issue");
        l.state = LinkState::Open {
            number: issue.number,
        };
        self.save(&l).await
    }

    async fn create_issue(&self, n: &Notification, team: &TeamGithub) -> Step<Issue> {
        let issues = self.issues(&team.repo);
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
                impact: n.impact.as_ref(),
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
            } else if self.issues(&team.repo).assignable(&login).await? {
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
    async fn attach(&self, n: &Notification, mut l: Link, number: u64, reopen: bool) -> Step {
        let issue = self.issues(&l.repo).get(number).await?;
        let text = body::replace_status(issue.body.as_deref().unwrap_or_default(), n);
        let state = reopen.then_some(IssueState::Open);
        self.issues(&l.repo)
            .edit(number, Some(&text), state)
            .await?;
        let kind = CommentKind::FailingAgain { reopened: reopen };
        self.comment(n, &l.repo, number, kind).await?;
        l.state = LinkState::Open { number };
        self.save(&l).await
    }
}

/// The issue was created for this very incident (its incident marker says so).
fn is_ours(i: &Issue, incident_id: i64) -> bool {
    let marker = body::incident_marker(incident_id);
    i.body.as_deref().is_some_and(|b| b.contains(&marker))
}
