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

/// The Markdown section that both the GitHub issue and `ripple impact --format markdown`
/// show: the headline, the ranked table, the people to notify (plain names: a Slack id
/// means nothing on GitHub) and a Mermaid diagram of the paths, which GitHub draws.
pub fn markdown(r: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", cell(&headline(r)));
    if r.impacted.is_empty() {
        return out;
    }
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
            cell(&t.table),
            t.depth,
            t.score,
            t.reads,
            t.users,
            cell(&consumers(t))
        );
    }
    let people: Vec<&str> = r.notify.iter().map(|p| p.user.as_str()).collect();
    match people.len() {
        0 => out.push_str("\n**People to notify:** none found in the usage window\n"),
        n => {
            let _ = writeln!(
                out,
                "\n**People to notify ({n}):** {}",
                cell(&people.join(", "))
            );
        }
    }
    let _ = write!(out, "\n**Lineage**\n\n```mermaid\n{}```\n", mermaid(r));
    out
}

/// Table cells and one-line Markdown cannot hold `|` or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
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
        let _ = writeln!(out, "  {}[\"{}\"]:::broken", node_id(b), label(b));
    }
    for (a, b) in &edges {
        let _ = writeln!(
            out,
            "  {}[\"{}\"] --> {}[\"{}\"]",
            node_id(a),
            label(a),
            node_id(b),
            label(b)
        );
    }
    out.push_str("  classDef broken fill:#fdd,stroke:#c00\n");
    out
}

/// A quoted Mermaid label cannot hold a double quote.
fn label(table: &str) -> String {
    table.replace('"', "'")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::Recipient;
    use crate::impact::usage::Consumer;

    fn report() -> ImpactReport {
        ImpactReport {
            broken: vec!["shop.orders".into()],
            total_downstream: 2,
            impacted: vec![ImpactedTable {
                table: "marts.daily|revenue".into(),
                depth: 1,
                score: 0.9,
                reads: 40,
                users: 12,
                active_days: 7,
                last_read: None,
                top_consumers: vec![Consumer {
                    user: "ana@acme.test".into(),
                    jobs: 30,
                }],
                path: vec!["shop.orders".into(), "marts.daily|revenue".into()],
            }],
            notify: vec![Recipient {
                user: "ana@acme.test".into(),
                jobs: 30,
                tables: vec!["marts.daily|revenue".into()],
                slack_user: Some("U1".into()),
            }],
            usage_refreshed_at: None,
        }
    }

    #[test]
    fn markdown_has_ranking_plain_people_and_the_diagram() {
        assert_eq!(
            markdown(&report()),
            "**Impact of a break in shop.orders: 2 downstream tables (top 1 shown)**\n\n\
             | # | table | depth | score | reads | users | top consumers |\n\
             |---|---|---|---|---|---|---|\n\
             | 1 | `marts.daily\\|revenue` | 1 | 0.900 | 40 | 12 | ana@acme.test (30), +9 more |\n\
             \n**People to notify (1):** ana@acme.test\n\
             \n**Lineage**\n\n```mermaid\nflowchart LR\n  \
             shop_orders[\"shop.orders\"]:::broken\n  \
             shop_orders[\"shop.orders\"] --> marts_daily_revenue[\"marts.daily|revenue\"]\n  \
             classDef broken fill:#fdd,stroke:#c00\n```\n"
        );
    }

    #[test]
    fn markdown_of_nothing_downstream_is_the_headline_alone() {
        let mut r = report();
        r.impacted.clear();
        r.total_downstream = 0;
        assert_eq!(
            markdown(&r),
            "**Impact of a break in shop.orders: nothing downstream is known (no lineage below it)**\n\n"
        );
    }
}
