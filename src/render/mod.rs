//! Rendering: incidents → text people read. Pure; no IO.
//!
//! The console form is what the no-token setup prints; Slack Block Kit and GitHub
//! Markdown are built from the same [`Notification`].

use crate::monitor::Outcome;
use crate::notify::{EventKind, Notification};
use std::fmt::Write;

/// The console rendering of a notification: a headline, the facts, and the SQL.
pub fn console(n: &Notification) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(n));
    let _ = writeln!(
        out,
        "  team: {} · severity: {} · owners: {}",
        n.team,
        n.severity,
        owners(n)
    );
    if !n.description.is_empty() {
        let _ = writeln!(out, "  what: {}", n.description);
    }
    let _ = writeln!(
        out,
        "  since: {} · rule: {}",
        n.opened_at.format("%Y-%m-%d %H:%M UTC"),
        n.source
    );
    if let Some(impact) = n
        .impact
        .as_ref()
        .filter(|_| !matches!(n.event, EventKind::Resolved))
    {
        for line in crate::impact::render::text(impact).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !matches!(n.event, EventKind::Resolved | EventKind::AlsoAffected) {
        sample_lines(&mut out, &n.outcome);
        let _ = writeln!(out, "  sql:");
        for line in n.sql.trim().lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    out.trim_end().to_string()
}

/// `[ripple] #3 OPENED shop/orders_without_payment: 3 rows`
pub fn headline(n: &Notification) -> String {
    let what = match n.event {
        EventKind::Resolved => "recovered".to_string(),
        EventKind::AlsoAffected => format!("downstream monitor fails too: {}", n.outcome.summary()),
        _ => n.outcome.summary(),
    };
    format!(
        "[ripple] incident #{} {} {}/{}: {what}",
        n.incident_id,
        n.event.as_str().replace('_', " ").to_uppercase(),
        n.team,
        n.monitor_id
    )
}

fn owners(n: &Notification) -> String {
    if n.owners.is_empty() {
        "(none)".into()
    } else {
        n.owners.join(", ")
    }
}

fn sample_lines(out: &mut String, o: &Outcome) {
    if let Outcome::Fail { sample, .. } = o
        && !sample.is_empty()
    {
        let _ = writeln!(out, "  sample ({} rows):", sample.len());
        for row in sample {
            let _ = writeln!(out, "    {row}");
        }
    }
}
