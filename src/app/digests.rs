//! Digests in the app: gather what is open, build and render, send through the sink,
//! remember the slot and the message. Catch-up and "all-clear edited in place" live
//! here because they need the store; the rules for both are in `calendar`.

use super::App;
use crate::calendar as schedule;
use crate::config::Config;
use crate::digest::sink::{ConsoleSink, DigestSink};
use crate::digest::{self, Candidate, Digest, DigestConfig, ItemKind};
use crate::github::state::LinkState;
use crate::store::DigestSend;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What one send did.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestSent {
    pub name: String,
    /// The scheduled slot; None for `ripple digest --now`.
    pub slot: Option<DateTime<Utc>>,
    pub handle: String,
    /// `post`, or `edit` when a standing all-clear was updated in place.
    pub action: &'static str,
    pub all_clear: bool,
    pub text: String,
}

/// The console sink, on the console notifier's output. A Slack sink replaces it when
/// Slack is configured (the Slack branch adds that here).
pub fn default_sink(config: &Config) -> anyhow::Result<Arc<dyn DigestSink>> {
    let sink = match config.notify.console.as_str() {
        "stdout" => ConsoleSink::stdout(),
        path => {
            let path = config.resolve(path.as_ref());
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            ConsoleSink::to_writer(Box::new(f))
        }
    };
    Ok(Arc::new(sink))
}

impl App {
    pub fn digest_config(&self, name: &str) -> Option<&DigestConfig> {
        self.config.digests.iter().find(|d| d.name == name)
    }

    /// Sends every digest whose slot is due now (a slot missed while down included).
    pub async fn send_due_digests(&self) -> anyhow::Result<Vec<DigestSent>> {
        let now = self.clock.now();
        let mut sent = Vec::new();
        for cfg in &self.config.digests {
            let sched = cfg.schedule().map_err(anyhow::Error::msg)?;
            let state = self.store.digest_state(&cfg.name, now).await?;
            let due = schedule::due_slot(
                &sched,
                state.last_slot_at,
                state.known_since,
                now,
                cfg.catch_up,
            );
            if let Some(slot) = due
                && let Some(s) = self.send_digest(cfg, Some(slot)).await?
            {
                sent.push(s);
            }
        }
        Ok(sent)
    }

    /// Sends one digest now (for `slot`, claimed first so it goes out once). An
    /// all-clear following an all-clear edits that message instead of posting again.
    pub async fn send_digest(
        &self,
        cfg: &DigestConfig,
        slot: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Option<DigestSent>> {
        let now = self.clock.now();
        let state = self.store.digest_state(&cfg.name, now).await?;
        if let Some(s) = slot
            && !self.store.claim_digest_slot(&cfg.name, s, now).await?
        {
            return Ok(None);
        }
        let digest = self.build_digest(cfg).await?;
        let text = digest::render::text(&digest);
        let standing = state.last_handle.filter(|_| state.last_all_clear);
        let delivered = match standing.filter(|_| digest.is_all_clear()) {
            Some(h) => self
                .digest_sink
                .edit(&h, &digest, &text)
                .await
                .map(|_| (h, "edit")),
            None => self
                .digest_sink
                .post(&digest, &text)
                .await
                .map(|h| (h, "post")),
        };
        let (handle, action) = match delivered {
            Ok(d) => d,
            Err(e) => {
                if let Some(s) = slot {
                    self.store.release_digest_slot(&cfg.name, s).await?;
                }
                return Err(e.context(format!("digest `{}` not sent", cfg.name)));
            }
        };
        let send = DigestSend {
            slot_at: slot,
            sent_at: now,
            handle: Some(handle.clone()),
            action: action.into(),
            all_clear: digest.is_all_clear(),
        };
        self.store
            .record_digest_send(&cfg.name, slot, &send)
            .await?;
        tracing::info!(digest = %cfg.name, action, items = digest.total(), "digest sent");
        Ok(Some(DigestSent {
            name: cfg.name.clone(),
            slot,
            handle,
            action,
            all_clear: digest.is_all_clear(),
            text,
        }))
    }

    /// The digest as it would be sent now.
    pub async fn build_digest(&self, cfg: &DigestConfig) -> anyhow::Result<Digest> {
        let candidates = self.digest_candidates().await?;
        Ok(digest::build(cfg, candidates, self.clock.now()))
    }

    /// Open incidents (with their issue link), then open issues of recovered incidents.
    async fn digest_candidates(&self) -> anyhow::Result<Vec<Candidate>> {
        let links = crate::github::IssueLinks::new(self.store.clone())
            .all()
            .await?;
        let by_incident: HashMap<i64, &crate::github::state::Link> =
            links.iter().map(|l| (l.incident_id, l)).collect();
        let mut out = Vec::new();
        let mut listed_issues = HashSet::new();
        let incidents = self.store.incidents(false).await?;
        for inc in incidents.iter().filter(|i| i.is_open()) {
            let link = by_incident.get(&inc.id).and_then(|l| issue_ref(l));
            if let Some((r, _)) = &link {
                listed_issues.insert(r.clone());
            }
            out.push(self.candidate(inc, ItemKind::Incident, format!("#{}", inc.id), link));
        }
        for inc in incidents.iter().filter(|i| !i.is_open()) {
            let Some(l) = by_incident.get(&inc.id) else {
                continue;
            };
            let open_issue = matches!(l.state, LinkState::Open { .. } | LinkState::Resolved { .. });
            let Some((r, url)) = issue_ref(l).filter(|_| open_issue) else {
                continue;
            };
            if listed_issues.insert(r.clone()) {
                out.push(self.candidate(inc, ItemKind::Issue, r, Some((String::new(), url))));
            }
        }
        Ok(out)
    }

    fn candidate(
        &self,
        inc: &crate::store::IncidentRow,
        kind: ItemKind,
        reference: String,
        link: Option<(String, String)>,
    ) -> Candidate {
        let rule = self.rules.get(&inc.monitor_id);
        let mut labels = vec![
            crate::github::body::LABEL.to_string(),
            format!("team:{}", inc.team),
            format!("severity:{}", inc.severity),
        ];
        labels.extend(rule.map(|m| m.labels.clone()).unwrap_or_default());
        Candidate {
            kind,
            reference,
            monitor_id: inc.monitor_id.clone(),
            team: inc.team.clone(),
            severity: inc.severity.as_str().to_string(),
            condition: inc.condition.as_str().to_string(),
            labels,
            owners: rule.map(|m| m.owners.clone()).unwrap_or_default(),
            opened_at: inc.opened_at,
            link: link.map(|(_, url)| url),
        }
    }
}

/// `owner/repo#n` and its web address, once the issue exists.
fn issue_ref(l: &crate::github::state::Link) -> Option<(String, String)> {
    let n = l.number()?;
    Some((
        format!("{}#{n}", l.repo),
        format!("https://github.com/{}/issues/{n}", l.repo),
    ))
}
