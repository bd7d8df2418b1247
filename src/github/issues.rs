//! Issue operations on one repository: labels, assignee checks, finding an issue by its
//! marker, create, edit, comment.
//!
//! Every operation here is either naturally idempotent (labels, edits, state changes)
//! or a plain create whose idempotence the notifier provides with a persisted intent.
//! Finding uses the issue list filtered by the `ripple` label — never the search API,
//! whose index lags by minutes and is how duplicates are born.

use super::body::LABEL;
use super::client::Api;
use super::error::ApiError;
use octocrab::models::issues::{Comment, Issue};
use octocrab::models::{IssueState, Label};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

/// At most this many pages of 100 are read when listing (10,000 items).
const MAX_PAGES: u32 = 100;
const PER_PAGE: usize = 100;

/// One repository, `owner/name`.
pub struct Issues<'a> {
    pub api: &'a Api,
    pub repo: &'a str,
}

impl Issues<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.repo)
    }

    /// Creates the labels that do not exist yet, with colours; remembers what exists so
    /// later issues cost no calls. A 422 on create means someone else just made it.
    pub async fn ensure_labels(
        &self,
        labels: &[String],
        colours: &BTreeMap<String, String>,
        known: &Mutex<HashSet<String>>,
    ) -> Result<(), ApiError> {
        for name in labels {
            let key = format!("{}#{name}", self.repo);
            if known.lock().expect("labels lock").contains(&key) {
                continue;
            }
            let path = self.path(&format!("/labels/{}", encode(name)));
            if self
                .api
                .get_opt::<Label>("label lookup", &path)
                .await?
                .is_none()
            {
                let colour = colours
                    .get(name)
                    .map(String::as_str)
                    .unwrap_or(super::body::default_colour(name));
                let body = json!({ "name": name, "color": colour, "description": "Ripple incident label" });
                match self
                    .api
                    .post::<_, Label>("label create", &self.path("/labels"), &body)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.is_status(422) => {}
                    Err(e) => return Err(e),
                }
            }
            known.lock().expect("labels lock").insert(key);
        }
        Ok(())
    }

    /// `GET /repos/{o}/{r}/assignees/{login}`: 204 assignable, 404 not.
    pub async fn assignable(&self, login: &str) -> Result<bool, ApiError> {
        let path = self.path(&format!("/assignees/{}", encode(login)));
        self.api.check("assignee check", &path).await
    }

    /// Open issues labelled `ripple` whose body contains `marker`, oldest first.
    pub async fn find_open(&self, marker: &str) -> Result<Vec<Issue>, ApiError> {
        let mut found = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/issues?state=open&labels={LABEL}&per_page={PER_PAGE}&page={page}&sort=created&direction=asc"
            ));
            let batch: Vec<Issue> = self.api.get("issue list", &path).await?;
            let last = batch.len() < PER_PAGE;
            found.extend(batch.into_iter().filter(|i| {
                i.pull_request.is_none() && i.body.as_deref().is_some_and(|b| b.contains(marker))
            }));
            if last {
                break;
            }
        }
        Ok(found)
    }

    pub async fn create(
        &self,
        title: &str,
        body: &str,
        labels: &[String],
        assignees: &[String],
    ) -> Result<Issue, ApiError> {
        let req = json!({ "title": title, "body": body, "labels": labels, "assignees": assignees });
        self.api
            .post("issue create", &self.path("/issues"), &req)
            .await
    }

    pub async fn get(&self, number: u64) -> Result<Issue, ApiError> {
        self.api
            .get("issue read", &self.path(&format!("/issues/{number}")))
            .await
    }

    /// Edits body and/or state; setting what is already set is harmless.
    pub async fn edit(
        &self,
        number: u64,
        body: Option<&str>,
        state: Option<IssueState>,
    ) -> Result<Issue, ApiError> {
        let mut req = serde_json::Map::new();
        if let Some(b) = body {
            req.insert("body".into(), json!(b));
        }
        match state {
            Some(IssueState::Closed) => {
                req.insert("state".into(), json!("closed"));
                req.insert("state_reason".into(), json!("completed"));
            }
            Some(_) => {
                req.insert("state".into(), json!("open"));
            }
            None => {}
        }
        self.api
            .patch("issue edit", &self.path(&format!("/issues/{number}")), &req)
            .await
    }

    /// Whether a comment containing `marker` is already on the issue.
    pub async fn has_comment(&self, number: u64, marker: &str) -> Result<bool, ApiError> {
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/issues/{number}/comments?per_page={PER_PAGE}&page={page}"
            ));
            let batch: Vec<Comment> = self.api.get("comment list", &path).await?;
            if batch
                .iter()
                .any(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
            {
                return Ok(true);
            }
            if batch.len() < PER_PAGE {
                break;
            }
        }
        Ok(false)
    }

    pub async fn comment(&self, number: u64, body: &str) -> Result<Comment, ApiError> {
        let path = self.path(&format!("/issues/{number}/comments"));
        self.api
            .post("comment create", &path, &json!({ "body": body }))
            .await
    }
}

/// Percent-encodes a path segment (label names hold `:` and spaces).
fn encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A plausible GitHub login: asking GitHub about anything else (an email, a Slack
/// group) would only produce a confusing 404 or a malformed path.
pub fn plausible_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && !login.starts_with('-')
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode("team:commerce"), "team%3Acommerce");
        assert_eq!(encode("data quality"), "data%20quality");
    }

    #[test]
    fn only_plausible_logins_are_checked() {
        assert!(plausible_login("hana"));
        assert!(plausible_login("ken-ji2"));
        assert!(!plausible_login("mika@acme.test"));
        assert!(!plausible_login("-x"));
        assert!(!plausible_login("@data-eng"));
    }
}
