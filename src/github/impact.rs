//! The issue's "Impact" section: ranked downstream tables, who to tell, and a Mermaid
//! lineage diagram.
//!
//! The impact report is built elsewhere (lineage + query-log usage); these types are
//! the small shape the issue needs from it, so the body renderer does not depend on how
//! the ranking is computed. Until a notification carries a report, the section says
//! plainly that no analysis is available.

use std::fmt::Write;

/// What the issue shows about an incident's blast radius.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Impact {
    /// Most impacted first.
    pub tables: Vec<ImpactedTable>,
    /// People (or groups) to tell, most relevant first.
    pub notify: Vec<String>,
    /// Lineage edges `(upstream, downstream)` for the diagram.
    pub lineage: Vec<(String, String)>,
}

/// One downstream table and why it matters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImpactedTable {
    pub name: String,
    pub score: f64,
    /// Hops from the failing table.
    pub depth: u32,
    /// Distinct users who read it recently.
    pub readers: u32,
    pub top_consumers: Vec<String>,
}

impl From<&crate::impact::ImpactReport> for Impact {
    /// The issue's view of a report: ranked tables, people, and the paths as edges.
    fn from(r: &crate::impact::ImpactReport) -> Self {
        let tables = r
            .impacted
            .iter()
            .map(|t| ImpactedTable {
                name: t.table.clone(),
                score: t.score,
                depth: t.depth as u32,
                readers: t.users as u32,
                top_consumers: t
                    .top_consumers
                    .iter()
                    .take(3)
                    .map(|c| c.user.clone())
                    .collect(),
            })
            .collect();
        let mut lineage: Vec<(String, String)> = r
            .impacted
            .iter()
            .flat_map(|t| t.path.windows(2).map(|w| (w[0].clone(), w[1].clone())))
            .collect();
        lineage.sort();
        lineage.dedup();
        let notify = r.notify.iter().map(|p| p.user.clone()).collect();
        Impact {
            tables,
            notify,
            lineage,
        }
    }
}

/// Renders the section body (without its heading).
pub fn render(out: &mut String, impact: Option<&Impact>) {
    let Some(i) = impact.filter(|i| !i.tables.is_empty() || !i.lineage.is_empty()) else {
        let _ = writeln!(out, "_Impact analysis is not available for this incident._");
        return;
    };
    if !i.tables.is_empty() {
        ranked_table(out, &i.tables);
    }
    if !i.notify.is_empty() {
        let _ = writeln!(out, "\n**People to notify:** {}", i.notify.join(", "));
    }
    if !i.lineage.is_empty() {
        let _ = writeln!(
            out,
            "\n**Lineage**\n\n```mermaid\n{}```",
            mermaid(&i.lineage)
        );
    }
}

fn ranked_table(out: &mut String, tables: &[ImpactedTable]) {
    let _ = writeln!(
        out,
        "| # | table | score | depth | readers | top consumers |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (rank, t) in tables.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | `{}` | {:.2} | {} | {} | {} |",
            rank + 1,
            t.name,
            t.score,
            t.depth,
            t.readers,
            t.top_consumers.join(", ")
        );
    }
}

/// `graph LR` with one node id per table, labels quoted (table names have dots).
pub fn mermaid(edges: &[(String, String)]) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut ids: Vec<(usize, usize)> = Vec::new();
    for (a, b) in edges {
        let (a, b) = (node(&mut names, a), node(&mut names, b));
        ids.push((a, b));
    }
    let mut out = String::from("graph LR\n");
    for (i, name) in names.iter().enumerate() {
        let _ = writeln!(out, "  t{i}[\"{}\"]", name.replace('"', "'"));
    }
    for (a, b) in ids {
        let _ = writeln!(out, "  t{a} --> t{b}");
    }
    out
}

/// The node index of `name`, added on first sight so ids follow first appearance.
fn node<'a>(names: &mut Vec<&'a str>, name: &'a str) -> usize {
    match names.iter().position(|n| *n == name) {
        Some(i) => i,
        None => {
            names.push(name);
            names.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_report_the_section_says_so() {
        let mut out = String::new();
        render(&mut out, None);
        assert_eq!(
            out,
            "_Impact analysis is not available for this incident._\n"
        );
    }

    #[test]
    fn a_report_renders_ranking_people_and_lineage() {
        let impact = Impact {
            tables: vec![ImpactedTable {
                name: "marts.daily_revenue".into(),
                score: 0.9,
                depth: 1,
                readers: 12,
                top_consumers: vec!["ana@acme.test".into()],
            }],
            notify: vec!["@ana".into()],
            lineage: vec![
                ("shop.orders".into(), "marts.daily_revenue".into()),
                ("marts.daily_revenue".into(), "marts.kpis".into()),
            ],
        };
        let mut out = String::new();
        render(&mut out, Some(&impact));
        assert!(out.contains("| 1 | `marts.daily_revenue` | 0.90 | 1 | 12 | ana@acme.test |"));
        assert!(out.contains("**People to notify:** @ana"));
        assert!(out.contains(
            "```mermaid\ngraph LR\n  t0[\"shop.orders\"]\n  t1[\"marts.daily_revenue\"]\n  t2[\"marts.kpis\"]\n  t0 --> t1\n  t1 --> t2\n```"
        ), "{out}");
    }
}
