//! Checks across sections that serde cannot express: duplicate names, repository
//! shapes, label colours, severities, digest schedules, and the `bounds` of every
//! default duration and count.

use super::{Config, Severity};
use crate::bounds;
use crate::diag::Diagnostic;
use crate::yaml;

impl Config {
    pub(super) fn validate(&self, node: &marked_yaml::Node) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let teams = node.as_mapping().and_then(|m| m.get_sequence("teams"));
        let mut seen = std::collections::HashSet::new();
        for (i, team) in self.teams.iter().enumerate() {
            if !seen.insert(team.name.as_str()) {
                let span = teams
                    .and_then(|t| t.get_mapping(i))
                    .and_then(|m| m.get_scalar("name"))
                    .map(|n| *n.span());
                let (line, col) = span.as_ref().map(yaml::line_col).unwrap_or((1, 1));
                let msg = format!("duplicate team `{}`", team.name);
                out.push(Diagnostic::new(&self.path, line, col, msg));
            }
        }
        out.extend(self.validate_github());
        out.extend(self.validate_slack());
        out.extend(self.validate_digests());
        out.extend(self.validate_bounds(node));
        out
    }

    /// Every default a monitor inherits, and the serve jitter, within `bounds`: the
    /// runner and the scheduler rely on it.
    fn validate_bounds(&self, node: &marked_yaml::Node) -> Vec<Diagnostic> {
        let d = &self.defaults;
        let checks = [
            (
                "defaults",
                "timeout",
                bounds::duration("defaults.timeout", d.timeout, bounds::TIMEOUT).err(),
            ),
            (
                "defaults",
                "grace",
                bounds::duration("defaults.grace", d.grace, bounds::GRACE).err(),
            ),
            (
                "defaults",
                "repeat_interval",
                bounds::duration(
                    "defaults.repeat_interval",
                    d.repeat_interval,
                    bounds::REPEAT_INTERVAL,
                )
                .err(),
            ),
            (
                "defaults",
                "flap_window",
                bounds::duration("defaults.flap_window", d.flap_window, bounds::FLAP_WINDOW).err(),
            ),
            (
                "defaults",
                "concurrency",
                bounds::count("defaults.concurrency", d.concurrency, bounds::CONCURRENCY).err(),
            ),
            (
                "defaults",
                "min_consecutive_failures",
                bounds::count(
                    "defaults.min_consecutive_failures",
                    d.min_consecutive_failures,
                    bounds::CONSECUTIVE_FAILURES,
                )
                .err(),
            ),
            (
                "serve",
                "jitter",
                bounds::duration("serve.jitter", self.serve.jitter, bounds::JITTER).err(),
            ),
        ];
        checks
            .into_iter()
            .filter_map(|(section, key, msg)| {
                let (line, col) = key_position(node, section, key);
                Some(Diagnostic::new(&self.path, line, col, msg?))
            })
            .collect()
    }

    /// `owner/repo` shapes and label colours: mistakes here would only show up as
    /// GitHub errors at the first incident.
    fn validate_github(&self) -> Vec<Diagnostic> {
        let mut msgs = Vec::new();
        for t in &self.teams {
            if let Some(repo) = &t.github_repo
                && !valid_repo(repo)
            {
                msgs.push(format!(
                    "team `{}`: github_repo `{repo}` must look like `owner/repo`",
                    t.name
                ));
            }
        }
        if let Some(gh) = &self.github {
            for (label, colour) in &gh.label_colours {
                if colour.len() != 6 || !colour.chars().all(|c| c.is_ascii_hexdigit()) {
                    msgs.push(format!(
                        "github.label_colours: `{label}` needs a 6-digit hex colour like `d93f0b`, not `{colour}`"
                    ));
                }
            }
        }
        msgs.into_iter()
            .map(|m| Diagnostic::new(&self.path, 1, 1, m))
            .collect()
    }

    /// Escalation severities must be real severities: a typo would silently never escalate.
    fn validate_slack(&self) -> Vec<Diagnostic> {
        let Some(slack) = &self.slack else {
            return Vec::new();
        };
        let mut msgs = Vec::new();
        for s in &slack.escalate.severities {
            if Severity::parse(s).is_none() {
                msgs.push(format!(
                    "slack.escalate.severities: `{s}` is not a severity ({})",
                    Severity::NAMES.join(", ")
                ));
            }
        }
        if let Some(score) = slack.escalate.min_impact_score
            && !(0.0..=1.0).contains(&score)
        {
            msgs.push(format!(
                "slack.escalate.min_impact_score must be between 0 and 1, not {score}"
            ));
        }
        msgs.into_iter()
            .map(|m| Diagnostic::new(&self.path, 1, 1, m))
            .collect()
    }

    /// Digest names, times, weekdays, zones and holidays: checked here so a typo fails
    /// `ripple check` instead of silently never sending.
    fn validate_digests(&self) -> Vec<Diagnostic> {
        let mut seen = std::collections::HashSet::new();
        let mut msgs = Vec::new();
        for d in &self.digests {
            if !seen.insert(d.name.as_str()) {
                msgs.push(format!("duplicate digest `{}`", d.name));
            }
            if let Err(e) = d.validate() {
                msgs.push(format!("digest `{}`: {e}", d.name));
            }
        }
        msgs.into_iter()
            .map(|m| Diagnostic::new(&self.path, 1, 1, m))
            .collect()
    }
}

/// Where `section.key`'s value is written (1:1 when it is not: a default's default).
fn key_position(node: &marked_yaml::Node, section: &str, key: &str) -> (usize, usize) {
    node.as_mapping()
        .and_then(|m| m.get_mapping(section))
        .and_then(|m| m.get_node(key))
        .map_or((1, 1), |v| yaml::line_col(v.span()))
}

fn valid_repo(repo: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repo.split_once('/'), Some((o, r)) if ok(o) && ok(r))
}
