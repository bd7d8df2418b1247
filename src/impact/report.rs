//! The impact report: ranked downstream tables and the people to tell.

use super::score::{self, Candidate, Weights};
use super::usage::{Consumer, UsageIndex};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What impact ranking needs from a lineage graph.
pub trait Lineage {
    /// Calls `visit(table, depth)` for every table downstream of `table`, nearest first.
    fn visit_downstream(&self, table: &str, visit: &mut dyn FnMut(&str, usize));
    /// Direct dependants of `table`.
    fn fanout(&self, table: &str) -> usize;
    /// A shortest path from `from` to `to` (which lies `depth` edges below it), both
    /// included; empty when unreachable.
    fn path(&self, from: &str, to: &str, depth: usize) -> Vec<String>;
}

/// One impacted table, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactedTable {
    pub table: String,
    pub depth: usize,
    pub score: f64,
    pub reads: u64,
    pub users: u64,
    pub active_days: u32,
    pub last_read: Option<NaiveDate>,
    pub top_consumers: Vec<Consumer>,
    /// From a broken table to this one.
    pub path: Vec<String>,
}

/// Someone to tell, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub user: String,
    /// Jobs they ran on the tables below, over the usage window.
    pub jobs: u64,
    pub tables: Vec<String>,
    /// Their Slack user id, when Slack is configured and their e-mail maps to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_user: Option<String>,
}

/// What a break in `broken` hurts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactReport {
    pub broken: Vec<String>,
    /// Every distinct table downstream of the broken ones.
    pub total_downstream: usize,
    /// The best-ranked of them (at most `top`).
    pub impacted: Vec<ImpactedTable>,
    pub notify: Vec<Recipient>,
    pub usage_refreshed_at: Option<DateTime<Utc>>,
}

/// Knobs of a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub top: usize,
    pub weights: Weights,
    /// Users never listed as people to notify (`*` at either end matches anything).
    pub exclude_users: Vec<String>,
    pub today: NaiveDate,
}

/// Builds the report for a set of broken tables.
pub fn build(
    broken: &[String],
    graph: &dyn Lineage,
    usage: &UsageIndex,
    opts: &ReportOptions,
) -> ImpactReport {
    let reach = downstream_union(broken, graph);
    let cands: Vec<Candidate<'_>> = reach
        .iter()
        .map(|(t, (depth, _))| Candidate {
            table: t.as_str(),
            depth: *depth,
            fanout: graph.fanout(t),
        })
        .collect();
    let ranked = score::rank(&cands, usage, opts.today, &opts.weights, Some(opts.top));
    let impacted: Vec<ImpactedTable> = ranked
        .into_iter()
        .map(|s| {
            let from = &reach[&s.table].1;
            let path = graph.path(from, &s.table, s.depth);
            impacted_table(s.table, s.depth, s.score, usage, path)
        })
        .collect();
    let notify = recipients(broken, &impacted, usage, &opts.exclude_users);
    ImpactReport {
        broken: broken.to_vec(),
        total_downstream: reach.len(),
        impacted,
        notify,
        usage_refreshed_at: usage.refreshed_at,
    }
}

/// Every table downstream of any broken table: (smallest depth, the broken table it came from).
fn downstream_union(broken: &[String], graph: &dyn Lineage) -> BTreeMap<String, (usize, String)> {
    let mut reach: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for b in broken {
        graph.visit_downstream(b, &mut |t, depth| {
            if broken.iter().any(|x| x == t) {
                return;
            }
            let e = reach.entry(t.to_string()).or_insert((depth, b.clone()));
            if depth < e.0 {
                *e = (depth, b.clone());
            }
        });
    }
    reach
}

fn impacted_table(
    table: String,
    depth: usize,
    score: f64,
    usage: &UsageIndex,
    path: Vec<String>,
) -> ImpactedTable {
    let u = usage.get(&table).map(|r| r.usage.clone());
    ImpactedTable {
        depth,
        score,
        reads: u.as_ref().map_or(0, |u| u.reads),
        users: u.as_ref().map_or(0, |u| u.users),
        active_days: u.as_ref().map_or(0, |u| u.active_days),
        last_read: u.as_ref().and_then(|u| u.last_read),
        top_consumers: u.map(|u| u.top_consumers).unwrap_or_default(),
        path,
        table,
    }
}

/// Consumers of the broken tables and of the ranked ones, de-duplicated, heaviest first.
fn recipients(
    broken: &[String],
    impacted: &[ImpactedTable],
    usage: &UsageIndex,
    exclude: &[String],
) -> Vec<Recipient> {
    let mut people: HashMap<String, Recipient> = HashMap::new();
    let broken_consumers = broken
        .iter()
        .filter_map(|b| usage.get(b).map(|r| (b, &r.usage.top_consumers)));
    let impacted_consumers = impacted.iter().map(|t| (&t.table, &t.top_consumers));
    for (table, consumers) in broken_consumers.chain(impacted_consumers) {
        for c in consumers.iter().filter(|c| !excluded(&c.user, exclude)) {
            let r = people.entry(c.user.clone()).or_insert_with(|| Recipient {
                user: c.user.clone(),
                jobs: 0,
                tables: vec![],
                slack_user: None,
            });
            r.jobs += c.jobs;
            r.tables.push(table.clone());
        }
    }
    let mut out: Vec<Recipient> = people.into_values().collect();
    out.sort_by(|a, b| b.jobs.cmp(&a.jobs).then_with(|| a.user.cmp(&b.user)));
    out
}

/// `*.gserviceaccount.com` style patterns: `*` at the start or end matches anything.
pub fn excluded(user: &str, patterns: &[String]) -> bool {
    patterns
        .iter()
        .any(|p| match (p.strip_prefix('*'), p.strip_suffix('*')) {
            (Some(suffix), _) => user.ends_with(suffix),
            (None, Some(prefix)) => user.starts_with(prefix),
            (None, None) => user == p,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_patterns() {
        let p = vec!["*.gserviceaccount.com".to_string(), "bot-*".to_string()];
        assert!(excluded("etl@proj.iam.gserviceaccount.com", &p));
        assert!(excluded("bot-airflow", &p));
        assert!(!excluded("ana@acme.example", &p));
    }
}

#[cfg(test)]
mod graph_tests {
    use super::*;
    use crate::impact::usage::{TableUsage, UsageIndex};
    use crate::lineage::graph::LineageGraph;
    use std::collections::BTreeMap;

    fn opts() -> ReportOptions {
        ReportOptions {
            top: 10,
            weights: Weights::default(),
            exclude_users: vec!["*.gserviceaccount.com".into()],
            today: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        }
    }

    fn used(user: &str, reads: u64) -> TableUsage {
        TableUsage {
            reads,
            users: 1,
            active_days: 3,
            last_read: NaiveDate::from_ymd_opt(2026, 11, 19),
            top_consumers: vec![Consumer {
                user: user.into(),
                jobs: reads,
            }],
        }
    }

    #[test]
    fn cycles_terminate_and_each_table_appears_once() {
        let g = LineageGraph::from_edges([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]);
        let stats: BTreeMap<String, TableUsage> = [("d".to_string(), used("ana@x", 9))].into();
        let r = build(
            &["a".to_string()],
            &g,
            &UsageIndex::new(stats, None),
            &opts(),
        );
        assert_eq!(r.total_downstream, 3, "b, c, d — not a again");
        assert_eq!(r.impacted[0].table, "d");
        assert_eq!(r.impacted[0].path, ["a", "b", "c", "d"]);
    }

    #[test]
    fn people_are_deduplicated_and_robots_left_out() {
        let g = LineageGraph::from_edges([("a", "b"), ("a", "c")]);
        let stats: BTreeMap<String, TableUsage> = [
            ("a".to_string(), used("ana@x", 2)),
            ("b".to_string(), used("ana@x", 5)),
            ("c".to_string(), used("etl@p.iam.gserviceaccount.com", 50)),
        ]
        .into();
        let r = build(
            &["a".to_string()],
            &g,
            &UsageIndex::new(stats, None),
            &opts(),
        );
        assert_eq!(r.notify.len(), 1);
        assert_eq!(r.notify[0].user, "ana@x");
        assert_eq!(r.notify[0].jobs, 7);
        assert_eq!(r.notify[0].tables, ["a", "b"]);
    }
}
