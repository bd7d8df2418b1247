//! GitHub Markdown for incidents: issue title, labels, body, status section and
//! comments. Pure; no IO.
//!
//! Hidden HTML comments carry identity: the fingerprint marker is how an issue is found
//! again (never by search, which lags), the incident marker tells a crash-recovered
//! create from an older issue, and an event marker on each comment makes posting it
//! idempotent. The status section sits between two markers so updates can rewrite it
//! without touching anything people may have edited around it.

use crate::escape::no_mentions;
use crate::impact::ImpactReport;
use crate::incident::fingerprint;
use crate::monitor::Outcome;
use crate::notify::Notification;
use std::fmt::Write;

/// The label every Ripple issue carries; listing by it is how issues are found.
pub const LABEL: &str = "ripple";
const STATUS_START: &str = "<!-- ripple:status -->";
const STATUS_END: &str = "<!-- /ripple:status -->";
const TITLE_OUTCOME_MAX: usize = 72;

/// What every Ripple issue body carries, whatever its monitor.
pub const FINGERPRINT_PREFIX: &str = "<!-- ripple:fingerprint=";
const INCIDENT_PREFIX: &str = "<!-- ripple:incident=";

pub fn fingerprint_marker(monitor_id: &str) -> String {
    format!("{FINGERPRINT_PREFIX}{} -->", fingerprint(monitor_id))
}

pub fn incident_marker(incident_id: i64) -> String {
    format!("{INCIDENT_PREFIX}{incident_id} -->")
}

/// The incident id of a body's incident marker.
pub fn incident_of(body: &str) -> Option<i64> {
    let rest = &body[body.find(INCIDENT_PREFIX)? + INCIDENT_PREFIX.len()..];
    rest.split(" -->").next()?.trim().parse().ok()
}

pub fn event_marker(key: &str) -> String {
    format!("<!-- ripple:event={key} -->")
}

/// `[ripple] commerce/orders_without_payment: 3 rows`
pub fn title(n: &Notification) -> String {
    let short = short_outcome(&n.outcome);
    format!("[ripple] {}/{}: {short}", n.team, n.monitor_id)
}

fn short_outcome(o: &Outcome) -> String {
    let text = match o {
        Outcome::Missed { .. } => "missed run".to_string(),
        other => other.summary(),
    };
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= TITLE_OUTCOME_MAX {
        return line.to_string();
    }
    let cut: String = line.chars().take(TITLE_OUTCOME_MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

/// `ripple`, `team:<team>`, `severity:<level>`, then the rule's own labels.
pub fn labels(n: &Notification) -> Vec<String> {
    let mut out = vec![
        LABEL.to_string(),
        format!("team:{}", n.team),
        format!("severity:{}", n.severity),
    ];
    for l in &n.labels {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

/// Ripple's default label colours (GitHub wants 6 hex digits, no `#`).
pub fn default_colour(label: &str) -> &'static str {
    match label {
        LABEL => "5319e7",
        "severity:critical" => "b60205",
        "severity:high" => "d93f0b",
        "severity:medium" => "fbca04",
        "severity:low" => "0e8a16",
        "severity:info" => "c5def5",
        l if l.starts_with("team:") => "1d76db",
        _ => "ededed",
    }
}

/// A login that was left out of the assignees, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unassigned {
    pub login: String,
    pub reason: String,
}

/// What the body needs besides the notification.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssueContext<'a> {
    pub slack_channel: Option<&'a str>,
    pub unassigned: &'a [Unassigned],
    pub impact: Option<&'a ImpactReport>,
}

/// The issue body: status, what failed and how, SQL, impact, assignment notes, links,
/// and the hidden markers.
pub fn issue_body(n: &Notification, ctx: &IssueContext) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", fingerprint_marker(&n.monitor_id));
    let _ = writeln!(out, "{}", incident_marker(n.incident_id));
    let _ = writeln!(out, "{}\n", status_section(n));
    what_failed(&mut out, n);
    let _ = writeln!(out, "\n## Monitor SQL\n\n{}", fenced("sql", n.sql.trim()));
    let _ = writeln!(out, "\n## Impact\n");
    match ctx.impact {
        Some(report) => out.push_str(&crate::impact::render::markdown(report)),
        None => out.push_str("_Impact analysis is not available for this incident._\n"),
    }
    assignment_notes(&mut out, ctx.unassigned);
    links(&mut out, n, ctx);
    let _ = write!(
        out,
        "\n<sub>Opened by Ripple, which comments here when the condition changes, as a \
         reminder while it lasts, and on recovery. Please keep the hidden markers in this \
         text: they are how Ripple finds this issue again.</sub>\n"
    );
    out
}

/// The status section, markers included.
pub fn status_section(n: &Notification) -> String {
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let line = match n.condition {
        None => format!(
            "**Status: resolved** at {} · incident #{} opened {}",
            when(n.at),
            n.incident_id,
            when(n.opened_at)
        ),
        Some(c) => format!(
            "**Status: {}** · {} · incident #{} opened {} · updated {}",
            c.as_str(),
            n.outcome.summary().lines().next().unwrap_or_default(),
            n.incident_id,
            when(n.opened_at),
            when(n.at)
        ),
    };
    format!("{STATUS_START}\n{line}\n{STATUS_END}")
}

/// Rewrites the status section of an existing body; a body without one (edited by
/// hand) gets the section prepended rather than being rewritten.
pub fn replace_status(body: &str, n: &Notification) -> String {
    let fresh = status_section(n);
    match (body.find(STATUS_START), body.find(STATUS_END)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{fresh}{}", &body[..a], &body[b + STATUS_END.len()..])
        }
        _ => format!("{fresh}\n\n{body}"),
    }
}

fn what_failed(out: &mut String, n: &Notification) {
    let _ = writeln!(out, "## What failed\n");
    if !n.description.is_empty() {
        let _ = writeln!(out, "{}\n", no_mentions(&n.description));
    }
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Monitor | `{}` |", n.monitor_id);
    let _ = writeln!(out, "| Team | {} |", cell(&n.team));
    let _ = writeln!(out, "| Severity | {} |", n.severity);
    let _ = writeln!(out, "| Outcome | {} |", cell(&how(&n.outcome)));
    let _ = writeln!(out, "| Owners | {} |", owners(&n.owners));
    let _ = writeln!(out, "| Rule | `{}` |", n.source);
    let _ = writeln!(
        out,
        "| Opened | {} |",
        n.opened_at.format("%Y-%m-%d %H:%M UTC")
    );
    detail(out, &n.outcome);
}

/// One line on how it failed.
fn how(o: &Outcome) -> String {
    match o {
        Outcome::Pass => "passing".into(),
        Outcome::Fail {
            message: Some(m), ..
        } => format!("**fail**: {}", no_mentions(m)),
        Outcome::Fail { rows, .. } => format!(
            "**fail**: the query returned **{rows}** row{} (healthy data returns none)",
            if *rows == 1 { "" } else { "s" }
        ),
        Outcome::Error { .. } => "**error**: the query could not run (not the data's fault)".into(),
        Outcome::Missed { expected_by } => format!(
            "**missed**: no completed run by {} (dead-man's switch)",
            expected_by.format("%Y-%m-%d %H:%M UTC")
        ),
    }
}

/// What the one-line outcome cannot hold: the error text, or sample rows.
fn detail(out: &mut String, o: &Outcome) {
    match o {
        Outcome::Error { message } => {
            let _ = writeln!(out, "\nError:\n\n{}", fenced("text", message));
        }
        Outcome::Fail { sample, .. } if !sample.is_empty() => {
            let rows: Vec<String> = sample.iter().map(|r| r.to_string()).collect();
            let _ = writeln!(
                out,
                "\n<details><summary>Sample rows ({})</summary>\n\n{}\n</details>",
                sample.len(),
                fenced("json", &rows.join("\n"))
            );
        }
        _ => {}
    }
}

fn assignment_notes(out: &mut String, unassigned: &[Unassigned]) {
    if unassigned.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Not assigned\n");
    for u in unassigned {
        let _ = writeln!(out, "- `{}`: {}", u.login, no_mentions(&u.reason));
    }
    let _ = writeln!(
        out,
        "\nAdd them as collaborators, or fix `owners` in the rule / `github_assignees` in ripple.yaml."
    );
}

fn links(out: &mut String, n: &Notification, ctx: &IssueContext) {
    let _ = writeln!(out, "\n## Links\n");
    match ctx.slack_channel {
        Some(ch) if ch.starts_with("http") => {
            let _ = writeln!(out, "- Slack: <{ch}>");
        }
        Some(ch) => {
            let _ = writeln!(out, "- Slack: `{ch}`");
        }
        None => {
            let _ = writeln!(out, "- Slack: no channel configured for team `{}`", n.team);
        }
    }
}

fn owners(owners: &[String]) -> String {
    if owners.is_empty() {
        return "(none)".into();
    }
    let v: Vec<String> = owners
        .iter()
        .map(|o| format!("@{}", o.trim_start_matches('@')))
        .collect();
    v.join(", ")
}

/// Table cells cannot hold `|` or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A fenced block whose fence is longer than any backtick run inside it.
pub fn fenced(lang: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{text}\n{fence}")
}

/// Why a comment is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// failing ↔ erroring ↔ missed.
    Changed,
    Reminder,
    Recovered {
        closing: bool,
    },
    /// A new incident of the same fingerprint landed on this issue.
    FailingAgain {
        reopened: bool,
    },
    /// A monitor downstream of this incident's tables fails too (it joined this incident).
    AlsoAffected,
}

/// A comment with its idempotence marker.
pub fn comment(n: &Notification, kind: CommentKind, key: &str) -> String {
    let summary = n.outcome.summary();
    // The summary can carry values from the data; they must not ping anybody.
    let first = no_mentions(summary.lines().next().unwrap_or_default());
    let cond = n.condition.map(|c| c.as_str()).unwrap_or("resolved");
    let text = match kind {
        CommentKind::Changed => format!("**Now {cond}**: {first}"),
        CommentKind::Reminder => format!(
            "**Still {cond}** after {}: {first}",
            human(n.at - n.opened_at)
        ),
        CommentKind::Recovered { closing } => format!(
            "**Recovered** at {}: the monitor passes again after {}. {}",
            n.at.format("%Y-%m-%d %H:%M UTC"),
            human(n.at - n.opened_at),
            if closing {
                "Closing this issue."
            } else {
                "Leaving the issue open for the team to close."
            }
        ),
        CommentKind::AlsoAffected => format!(
            "**Also affected**: downstream monitor `{}/{}` fails too: {first}",
            n.team, n.monitor_id
        ),
        CommentKind::FailingAgain { reopened } => format!(
            "**Failing again** as incident #{}: {first}{}",
            n.incident_id,
            if reopened {
                ". Reopened: the previous incident recovered only recently."
            } else {
                "."
            }
        ),
    };
    let mut out = format!("{}\n{text}\n", event_marker(key));
    if let (Outcome::Error { message }, CommentKind::Changed | CommentKind::FailingAgain { .. }) =
        (&n.outcome, kind)
    {
        let _ = writeln!(out, "\n{}", fenced("text", message));
    }
    out
}

/// `4h 30m`, `2d 1h`, `5m`.
fn human(d: chrono::Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    match (days, hours, m) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// What the console shows in place of the issue when GitHub is not configured.
pub fn preview(n: &Notification, repo: Option<&str>, slack_channel: Option<&str>) -> String {
    let ctx = IssueContext {
        slack_channel,
        impact: n.impact.as_ref(),
        ..Default::default()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  github issue that would be opened in {} (configure `github:` and GITHUB_TOKEN to open it):",
        repo.unwrap_or("the team's github_repo (not set)")
    );
    let _ = writeln!(out, "    title: {}", title(n));
    let _ = writeln!(out, "    labels: {}", labels(n).join(", "));
    for line in issue_body(n, &ctx).lines() {
        let _ = writeln!(out, "    |{}{line}", if line.is_empty() { "" } else { " " });
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Condition, UpdateReason};
    use crate::notify::EventKind;
    use chrono::{DateTime, Duration};

    fn n(outcome: Outcome) -> Notification {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Notification {
            incident_id: 7,
            event: EventKind::Opened,
            at,
            opened_at: at,
            monitor_id: "orders_without_payment".into(),
            team: "commerce".into(),
            severity: "high".into(),
            description: "Every paid order has a payment.".into(),
            condition: Condition::of(&outcome),
            outcome,
            owners: vec!["hana".into()],
            labels: vec!["revenue".into(), "ripple".into()],
            sql: "SELECT 1".into(),
            source: "rules/shop.yaml:3".into(),
            impact: None,
        }
    }

    fn rows(r: u64) -> Outcome {
        Outcome::Fail {
            rows: r,
            message: None,
            sample: vec![],
        }
    }

    #[test]
    fn title_and_labels() {
        let x = n(rows(3));
        assert_eq!(
            title(&x),
            "[ripple] commerce/orders_without_payment: 3 rows"
        );
        assert_eq!(
            labels(&x),
            ["ripple", "team:commerce", "severity:high", "revenue"]
        );
    }

    #[test]
    fn long_outcomes_are_cut_in_titles() {
        let x = n(Outcome::Error {
            message: "x".repeat(200) + "\nsecond line",
        });
        let t = title(&x);
        assert!(t.ends_with('…'), "{t}");
        assert_eq!(
            t.chars().count(),
            "[ripple] commerce/orders_without_payment: ".len() + TITLE_OUTCOME_MAX
        );
    }

    #[test]
    fn body_carries_markers_and_the_missing_impact_line() {
        let body = issue_body(&n(rows(3)), &IssueContext::default());
        assert!(body.starts_with(
            "<!-- ripple:fingerprint=monitor:orders_without_payment -->\n<!-- ripple:incident=7 -->\n"
        ));
        assert!(body.contains("_Impact analysis is not available for this incident._"));
        assert!(body.contains("the query returned **3** rows"), "{body}");
    }

    #[test]
    fn status_is_rewritten_in_place() {
        let mut x = n(rows(3));
        let body = format!("intro\n{}\nrest", status_section(&x));
        x.event = EventKind::Resolved;
        x.condition = None;
        x.at += Duration::hours(5);
        let new = replace_status(&body, &x);
        assert!(
            new.starts_with("intro\n<!-- ripple:status -->\n**Status: resolved**"),
            "{new}"
        );
        assert!(new.ends_with("<!-- /ripple:status -->\nrest"), "{new}");
        let hand_edited = replace_status("someone rewrote it", &x);
        assert!(hand_edited.ends_with("\n\nsomeone rewrote it"));
    }

    #[test]
    fn fences_outgrow_backticks_inside() {
        assert_eq!(fenced("sql", "SELECT 1"), "```sql\nSELECT 1\n```");
        assert_eq!(fenced("", "a ```` b"), "`````\na ```` b\n`````");
    }

    #[test]
    fn comments_say_why_and_carry_their_marker() {
        let mut x = n(rows(3));
        x.event = EventKind::Updated(UpdateReason::Reminder);
        x.at += Duration::minutes(270);
        let c = comment(&x, CommentKind::Reminder, "7:reminder:1");
        assert_eq!(
            c,
            "<!-- ripple:event=7:reminder:1 -->\n**Still failing** after 4h 30m: 3 rows\n"
        );
        let r = comment(&x, CommentKind::Recovered { closing: false }, "k");
        assert!(r.contains("Leaving the issue open"), "{r}");
    }
}
