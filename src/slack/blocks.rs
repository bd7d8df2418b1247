//! Incident → Slack Block Kit, as JSON. Pure: no IO.
//!
//! Slack refuses a message with more than 50 blocks or a section text over 3,000
//! characters, so every text goes through [`clip`] and every message through [`cap`]:
//! a long SQL or a huge impact report shortens the message, it never makes it fail.

use crate::impact::ImpactReport;
use crate::notify::{EventKind, Notification};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Slack's limits (Block Kit reference).
pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION: usize = 3000;
/// Slack's limit on a header block's plain text.
const MAX_HEADER: usize = 150;

/// What the renderer needs beyond the notification; resolved by the notifier.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Owners as Slack mentions where known (`<@U…>`), else as written in the rule.
    pub owners: Vec<String>,
    /// User groups to mention (`<!subteam^S…>`).
    pub groups: Vec<String>,
    /// The incident's GitHub issue, when one exists.
    pub github_url: Option<String>,
    /// Ranked impacted tables shown; the rest are summarised.
    pub impact_top: usize,
    /// Who acknowledged it, when someone did.
    pub acked_by: Option<String>,
}

/// A message: the notification fallback text and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// The root message of an incident; with `resolved`, the edit made on recovery (the
/// buttons go, the failure stays readable).
pub fn incident(n: &Notification, ctx: &Context, resolved_at: Option<DateTime<Utc>>) -> Message {
    let resolved = resolved_at.is_some();
    let mut blocks = vec![header(&title(n, resolved))];
    if let Some(at) = resolved_at {
        blocks.push(context(&format!(
            ":white_check_mark: Resolved at {}",
            at.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    blocks.push(section(&what(n)));
    blocks.push(fields(n, ctx));
    if !resolved && let Some(r) = &n.impact {
        blocks.extend(impact(r, ctx.impact_top));
    }
    blocks.push(section(&sql(n)));
    blocks.push(context(&links(n, ctx)));
    if !resolved {
        blocks.push(buttons(n.incident_id));
    }
    Message {
        text: fallback(n, resolved),
        blocks: cap(blocks),
    }
}

/// A reply in the incident's thread: a change, a reminder, another monitor, recovery.
pub fn thread_update(n: &Notification) -> Message {
    // The summary can carry the warehouse's words (error texts, measured values).
    let summary = escape(&n.outcome.summary());
    let line = match n.event {
        EventKind::Opened => format!(":rotating_light: Failing again: {summary}"),
        EventKind::Updated(crate::incident::UpdateReason::ConditionChanged) => {
            format!(":arrows_counterclockwise: Now {summary}")
        }
        EventKind::Updated(crate::incident::UpdateReason::Reminder) => format!(
            ":hourglass: Still failing since {}: {summary}",
            n.opened_at.format("%Y-%m-%d %H:%M UTC"),
        ),
        EventKind::AlsoAffected => format!(
            ":link: Downstream monitor `{}` fails too: {summary}",
            escape(&n.monitor_id),
        ),
        EventKind::Resolved => format!(
            ":white_check_mark: Recovered at {}",
            n.at.format("%Y-%m-%d %H:%M UTC")
        ),
    };
    Message {
        text: line.clone(),
        blocks: vec![section(&line)],
    }
}

/// A one-line message in a thread (escalation pointer, command echoes).
pub fn note(text: &str) -> Message {
    Message {
        text: text.to_string(),
        blocks: vec![section(text)],
    }
}

fn title(n: &Notification, resolved: bool) -> String {
    let state = if resolved {
        "RESOLVED".to_string()
    } else {
        n.condition
            .map(|c| c.as_str().to_uppercase())
            .unwrap_or_else(|| "OPEN".into())
    };
    let icon = if resolved { "✅" } else { "🚨" };
    format!(
        "{icon} #{} {state} [{}] {}",
        n.incident_id,
        n.severity.to_uppercase(),
        n.monitor_id
    )
}

fn fallback(n: &Notification, resolved: bool) -> String {
    let verb = if resolved { "resolved" } else { "failing" };
    format!(
        "Incident #{} {verb}: {}/{}: {}",
        n.incident_id,
        escape(&n.team),
        escape(&n.monitor_id),
        escape(&n.outcome.summary())
    )
}

fn what(n: &Notification) -> String {
    let mut out = format!("*{}*", escape(&n.outcome.summary()));
    if !n.description.is_empty() {
        out.push_str(&format!("\n{}", escape(&n.description)));
    }
    out
}

fn fields(n: &Notification, ctx: &Context) -> Value {
    let mut who = if ctx.owners.is_empty() {
        "(none)".to_string()
    } else {
        ctx.owners.join(", ")
    };
    if !ctx.groups.is_empty() {
        who.push_str(&format!(" · {}", ctx.groups.join(" ")));
    }
    let mut items = vec![
        format!("*Severity*\n{}", n.severity),
        format!("*Team*\n{}", escape(&n.team)),
        format!("*Owners*\n{who}"),
        format!("*Since*\n{}", n.opened_at.format("%Y-%m-%d %H:%M UTC")),
    ];
    if let Some(by) = &ctx.acked_by {
        items.push(format!("*Acknowledged by*\n{by}"));
    }
    // Slack allows 10 fields of 2,000 characters each.
    let items: Vec<Value> = items
        .iter()
        .take(10)
        .map(|t| json!({"type": "mrkdwn", "text": clip(t, 2000)}))
        .collect();
    json!({"type": "section", "fields": items})
}

/// The ranked impact: headline, top N one per line, the rest summarised, who to tell.
fn impact(r: &ImpactReport, top: usize) -> Vec<Value> {
    let mut lines = vec![format!("*{}*", escape(&crate::impact::render::headline(r)))];
    for (i, t) in r.impacted.iter().take(top).enumerate() {
        lines.push(format!(
            "{}. `{}` · score {:.2} · {} reads by {} users · depth {}",
            i + 1,
            escape(&t.table),
            t.score,
            t.reads,
            t.users,
            t.depth
        ));
    }
    let rest = r.total_downstream.saturating_sub(top.min(r.impacted.len()));
    if rest > 0 {
        lines.push(format!("…and {rest} more downstream"));
    }
    let mut out = vec![json!({"type": "divider"}), section(&lines.join("\n"))];
    if !r.notify.is_empty() {
        let people: Vec<String> = r
            .notify
            .iter()
            .take(10)
            .map(|p| match &p.slack_user {
                Some(id) => format!("<@{id}>"),
                None => escape(&p.user),
            })
            .collect();
        let more = r.notify.len().saturating_sub(10);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        out.push(context(&format!(
            "People to tell: {}{tail}",
            people.join(", ")
        )));
    }
    out
}

fn sql(n: &Notification) -> String {
    // Leave room for the fences and the label; backticks inside would end the block.
    // Slack reads `<…>` even inside a code block; its escapes show as the characters.
    let body = escape(&n.sql.trim().replace("```", "'''"));
    let body = clip(&body, MAX_SECTION - 40);
    format!("*Monitor SQL*\n```{body}```")
}

fn links(n: &Notification, ctx: &Context) -> String {
    let mut parts = vec![format!("Rule `{}`", escape(&n.source))];
    if let Some(url) = &ctx.github_url {
        parts.push(format!("<{url}|GitHub issue>"));
    }
    parts.join(" · ")
}

fn buttons(incident_id: i64) -> Value {
    let id = incident_id.to_string();
    json!({
        "type": "actions",
        "block_id": format!("ripple_incident_{id}"),
        "elements": [
            button("Acknowledge", "ripple_ack", &id, Some("primary")),
            button("Silence 1h", "ripple_silence_1h", &id, None),
            button("Resolve", "ripple_resolve", &id, Some("danger")),
        ]
    })
}

fn button(label: &str, action: &str, value: &str, style: Option<&str>) -> Value {
    let mut b = json!({
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action,
        "value": value,
    });
    if let Some(s) = style {
        b["style"] = json!(s);
    }
    b
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER)}})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION)}]})
}

/// At most `max` characters, ending in `…` when cut (never splits a character).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most [`MAX_BLOCKS`]; the last block (the buttons) is kept when cutting.
pub fn cap(mut blocks: Vec<Value>) -> Vec<Value> {
    if blocks.len() <= MAX_BLOCKS {
        return blocks;
    }
    let last = blocks.pop().expect("more than 50");
    blocks.truncate(MAX_BLOCKS - 2);
    blocks.push(context("(shortened: Slack shows at most 50 blocks)"));
    blocks.push(last);
    blocks
}

/// Slack's mrkdwn control characters (`&`, `<`, `>`): what every outside text goes through.
pub use crate::escape::mrkdwn as escape;

/// The Block Kit JSON Slack would get: the root message on opening, a thread reply
/// otherwise.
pub fn preview(n: &Notification, impact_top: usize) -> String {
    let msg = match n.event {
        crate::notify::EventKind::Opened => {
            let ctx = Context {
                owners: n.owners.iter().map(|o| escape(o)).collect(),
                impact_top,
                ..Default::default()
            };
            incident(n, &ctx, None)
        }
        _ => thread_update(n),
    };
    let json = serde_json::json!({"text": msg.text, "blocks": msg.blocks});
    format!(
        "slack (preview: SLACK_BOT_TOKEN is not set):\n{}",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_and_marks_the_cut() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 4).chars().count(), 4);
    }

    #[test]
    fn cap_keeps_the_last_block() {
        let blocks: Vec<Value> = (0..80).map(|i| section(&i.to_string())).collect();
        let out = cap(blocks);
        assert_eq!(out.len(), MAX_BLOCKS);
        assert_eq!(out[MAX_BLOCKS - 1]["text"]["text"], "79");
    }

    #[test]
    fn sections_never_exceed_the_limit() {
        let s = section(&"x".repeat(10_000));
        assert_eq!(
            s["text"]["text"].as_str().unwrap().chars().count(),
            MAX_SECTION
        );
    }
}
