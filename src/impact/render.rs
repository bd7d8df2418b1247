//! Impact report → text (CLI and console), Markdown (GitHub), Mermaid, JSON. Pure.

use super::report::{ImpactReport, ImpactedTable};
use std::collections::BTreeSet;
use std::fmt::Write;

/// How many consumers a row names before summarising.
const CONSUMERS_SHOWN: usize = 3;

/// A plain-text report for terminals.
pub fn text(r: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(r));
    if r.impacted.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{:>3}  {:<40} {:>5} {:>6} {:>6} {:>5}  TOP CONSUMERS",
        "#", "TABLE", "DEPTH", "SCORE", "READS", "USERS"
    );
    for (i, t) in r.impacted.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>3}  {:<40} {:>5} {:>6.3} {:>6} {:>5}  {}",
            i + 1,
            t.table,
            t.depth,
            t.score,
            t.reads,
            t.users,
            consumers(t)
        );
        let _ = writeln!(out, "     via {}", t.path.join(" → "));
    }
    notify_line(&mut out, r);
    out
}

/// `Impact of a break in shop.orders: 7 downstream tables (top 5 shown)`.
pub fn headline(r: &ImpactReport) -> String {
    if r.total_downstream == 0 {
        return format!(
            "Impact of a break in {}: nothing downstream is known (no lineage below it)",
            r.broken.join(", ")
        );
    }
    let shown = if r.impacted.len() < r.total_downstream {
        format!(" (top {} shown)", r.impacted.len())
    } else {
        String::new()
    };
    format!(
        "Impact of a break in {}: {} downstream table{}{shown}",
        r.broken.join(", "),
        r.total_downstream,
        if r.total_downstream == 1 { "" } else { "s" }
    )
}

fn consumers(t: &ImpactedTable) -> String {
    let mut names: Vec<String> = t
        .top_consumers
        .iter()
        .take(CONSUMERS_SHOWN)
        .map(|c| format!("{} ({})", c.user, c.jobs))
        .collect();
    if t.users as usize > CONSUMERS_SHOWN {
        names.push(format!("+{} more", t.users as usize - CONSUMERS_SHOWN));
    }
    if names.is_empty() {
        "nobody in the usage window".into()
    } else {
        names.join(", ")
    }
}

fn notify_line(out: &mut String, r: &ImpactReport) {
    if r.notify.is_empty() {
        let _ = writeln!(out, "People to notify: none found in the usage window");
        return;
    }
    let people: Vec<String> = r.notify.iter().map(who).collect();
    let _ = writeln!(
        out,
        "People to notify ({}): {}",
        people.len(),
        people.join(", ")
    );
}

fn who(p: &super::Recipient) -> String {
    match &p.slack_user {
        Some(id) => format!("<@{id}>"),
        None => p.user.clone(),
    }
}

/// A Markdown section: a ranked table and the people to notify.
pub fn markdown(r: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", headline(r));
    if !r.impacted.is_empty() {
        let _ = writeln!(
            out,
            "| # | table | depth | score | reads | users | top consumers |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for (i, t) in r.impacted.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {:.3} | {} | {} | {} |",
                i + 1,
                t.table,
                t.depth,
                t.score,
                t.reads,
                t.users,
                consumers(t)
            );
        }
        out.push('\n');
    }
    notify_line(&mut out, r);
    out
}

/// A Mermaid flowchart of the paths from the broken tables to the ranked ones.
pub fn mermaid(r: &ImpactReport) -> String {
    let mut edges = BTreeSet::new();
    for t in &r.impacted {
        for pair in t.path.windows(2) {
            edges.insert((pair[0].clone(), pair[1].clone()));
        }
    }
    let mut out = String::from("flowchart LR\n");
    for b in &r.broken {
        let _ = writeln!(out, "  {}[\"{b}\"]:::broken", node_id(b));
    }
    for (a, b) in &edges {
        let _ = writeln!(out, "  {}[\"{a}\"] --> {}[\"{b}\"]", node_id(a), node_id(b));
    }
    out.push_str("  classDef broken fill:#fdd,stroke:#c00\n");
    out
}

/// Mermaid ids must be plain words.
fn node_id(table: &str) -> String {
    table
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Pretty JSON, for `--format json` and machines.
pub fn json(r: &ImpactReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
