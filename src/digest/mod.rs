//! Digests: a scheduled reminder of what is still open, grouped by team and severity.
//!
//! Pure: [`build`] turns candidates (open incidents, open GitHub issues) into a neutral
//! [`Digest`]; `render` turns it into text; `crate::calendar` says when slots fall. Sending,
//! catch-up and "edit the all-clear in place" are sequenced by `app::digests` through
//! a [`sink::DigestSink`], so Slack plugs in as one more sink.

pub mod render;
pub mod sink;

use crate::config::Severity;
pub use crate::config::{DigestConfig, DigestFilter};
use chrono::{DateTime, Duration, Utc};

pub use crate::calendar::DigestSchedule;

/// Whether an item is an incident or a GitHub issue whose incident has recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Incident,
    Issue,
}

/// Something open that a digest may list: built by the app from the store and rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub kind: ItemKind,
    /// `#12` for an incident, `acme/repo#4` for an issue.
    pub reference: String,
    pub monitor_id: String,
    pub team: String,
    pub severity: String,
    pub condition: String,
    pub labels: Vec<String>,
    pub owners: Vec<String>,
    pub opened_at: DateTime<Utc>,
    pub link: Option<String>,
}

/// One listed item, with its age.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub candidate: Candidate,
    pub age: Duration,
    pub stale: bool,
}

/// The items of one team at one severity.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub team: String,
    pub severity: String,
    pub items: Vec<Item>,
}

/// A digest, ready to render: empty `groups` is an all-clear.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub name: String,
    pub channel: String,
    pub at: DateTime<Utc>,
    pub timezone: chrono_tz::Tz,
    pub stale_after: Duration,
    pub groups: Vec<Group>,
}

impl Digest {
    pub fn is_all_clear(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn total(&self) -> usize {
        self.groups.iter().map(|g| g.items.len()).sum()
    }

    pub fn stale(&self) -> usize {
        let items = self.groups.iter().flat_map(|g| &g.items);
        items.filter(|i| i.stale).count()
    }
}

/// Whether a candidate passes the digest's filter (and label, for issues).
pub fn matches(cfg: &DigestConfig, c: &Candidate) -> bool {
    let f = &cfg.filter;
    let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
    let label_ok = f.labels.is_empty() || c.labels.iter().any(|l| f.labels.contains(l));
    let issue_ok = match (c.kind, &cfg.github_label) {
        (ItemKind::Issue, Some(l)) => c.labels.contains(l),
        (ItemKind::Issue, None) => false,
        (ItemKind::Incident, _) => true,
    };
    any(&f.teams, &c.team) && any(&f.severity, &c.severity) && label_ok && issue_ok
}

/// Builds the digest at `now`: filtered, grouped by team then severity (most severe
/// first), oldest item first within a group.
pub fn build(cfg: &DigestConfig, candidates: Vec<Candidate>, now: DateTime<Utc>) -> Digest {
    let stale_after = Duration::from_std(cfg.stale_after).unwrap_or(Duration::MAX);
    let mut items: Vec<Item> = candidates
        .into_iter()
        .filter(|c| matches(cfg, c))
        .map(|c| {
            let age = now - c.opened_at;
            Item {
                stale: age >= stale_after,
                age,
                candidate: c,
            }
        })
        .collect();
    items.sort_by(|a, b| group_key(a).cmp(&group_key(b)).then(b.age.cmp(&a.age)));
    let mut groups: Vec<Group> = Vec::new();
    for item in items {
        let c = &item.candidate;
        match groups.last_mut() {
            Some(g) if g.team == c.team && g.severity == c.severity => g.items.push(item),
            _ => groups.push(Group {
                team: c.team.clone(),
                severity: c.severity.clone(),
                items: vec![item],
            }),
        }
    }
    Digest {
        name: cfg.name.clone(),
        channel: cfg.channel.clone(),
        at: now,
        timezone: cfg.timezone.parse().unwrap_or(chrono_tz::UTC),
        stale_after,
        groups,
    }
}

fn group_key(i: &Item) -> (String, Severity) {
    let sev = Severity::parse(&i.candidate.severity).unwrap_or(Severity::Info);
    (i.candidate.team.clone(), sev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> DigestConfig {
        let text = format!("name: d\nchannel: '#c'\ntimes: ['09:00']\n{extra}");
        let node = crate::yaml::parse(std::path::Path::new("d.yaml"), &text).unwrap();
        crate::yaml::from_node(std::path::Path::new("d.yaml"), &node).unwrap()
    }

    fn cand(team: &str, sev: &str, days: i64, kind: ItemKind) -> Candidate {
        Candidate {
            kind,
            reference: format!("#{days}"),
            monitor_id: format!("m{days}"),
            team: team.into(),
            severity: sev.into(),
            condition: "failing".into(),
            labels: vec!["ripple".into(), "revenue".into()],
            owners: vec![],
            opened_at: DateTime::from_timestamp(0, 0).unwrap() - Duration::days(days),
            link: None,
        }
    }

    #[test]
    fn groups_by_team_then_severity_and_flags_stale() {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let all = vec![
            cand("b", "low", 1, ItemKind::Incident),
            cand("a", "low", 5, ItemKind::Incident),
            cand("a", "high", 1, ItemKind::Incident),
            cand("a", "high", 4, ItemKind::Incident),
        ];
        let d = build(&cfg(""), all, now);
        let shape: Vec<(&str, &str, usize)> = d
            .groups
            .iter()
            .map(|g| (g.team.as_str(), g.severity.as_str(), g.items.len()))
            .collect();
        assert_eq!(shape, [("a", "high", 2), ("a", "low", 1), ("b", "low", 1)]);
        assert_eq!(
            d.groups[0].items[0].candidate.reference, "#4",
            "oldest first"
        );
        assert_eq!(d.stale(), 2);
    }

    #[test]
    fn filters_teams_labels_severity_and_issue_label() {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let c = cfg("filter: { teams: [a], severity: [high], labels: [revenue] }");
        let all = vec![
            cand("a", "high", 1, ItemKind::Incident),
            cand("a", "low", 1, ItemKind::Incident),
            cand("b", "high", 1, ItemKind::Incident),
            cand("a", "high", 2, ItemKind::Issue),
        ];
        assert_eq!(
            build(&c, all.clone(), now).total(),
            1,
            "issues need github_label"
        );
        let c = cfg("filter: { teams: [a] }\ngithub_label: ripple");
        assert_eq!(build(&c, all, now).total(), 3);
    }

    #[test]
    fn config_mistakes_are_reported() {
        assert!(cfg("filter: { severity: [urgent] }").validate().is_err());
        assert!(cfg("weekdays: [moonday]").validate().is_err());
        assert!(cfg("").validate().is_ok());
    }
}
