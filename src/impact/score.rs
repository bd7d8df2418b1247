//! The impact score: how much it matters that a downstream table is broken.
//!
//! ```text
//! usage    = w.reads·rank(reads) + w.users·rank(users) + w.active_days·rank(active days)
//! recency  = 1 if last read within w.recent_days, else halves every further w.recent_days
//! fan      = ln(1 + direct dependants) / ln(1 + most direct dependants among candidates)
//! score    = usage · recency · (1 + w.fanout · fan) / (1 + w.fanout) · w.depth_decay^(depth − 1)
//! ```
//!
//! Every factor is in 0..=1, so a score is too: 1 would be the most-used table in the
//! warehouse, read recently, with the most dependants, directly below the break.
//!
//! Ranks are percentiles over every table with usage in the warehouse, so scores compare
//! across incidents. A table nobody read scores exactly 0 however many tables hang off
//! it: its dependants appear in the ranking on their own merit. Ties break by depth, then
//! name, so the order is deterministic.

use super::usage::{Ranked, UsageIndex};
pub use crate::config::Weights;
use chrono::NaiveDate;

/// A downstream table to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub table: &'a str,
    pub depth: usize,
    /// Direct dependants of the table in the lineage graph.
    pub fanout: usize,
}

/// A scored table.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub table: String,
    pub depth: usize,
    pub score: f64,
}

/// Scores every candidate and returns the best `top` (all when `top` is None), ranked.
pub fn rank(
    cands: &[Candidate<'_>],
    usage: &UsageIndex,
    today: NaiveDate,
    w: &Weights,
    top: Option<usize>,
) -> Vec<Scored> {
    let max_fanout = cands.iter().map(|c| c.fanout).max().unwrap_or(0);
    let mut scored: Vec<(f64, &Candidate<'_>)> = cands
        .iter()
        .map(|c| (score(c, usage.get(c.table), max_fanout, today, w), c))
        .collect();
    let order = |a: &(f64, &Candidate<'_>), b: &(f64, &Candidate<'_>)| {
        b.0.total_cmp(&a.0)
            .then(a.1.depth.cmp(&b.1.depth))
            .then_with(|| a.1.table.cmp(b.1.table))
    };
    let keep = top.unwrap_or(scored.len()).min(scored.len());
    if keep < scored.len() && keep > 0 {
        scored.select_nth_unstable_by(keep - 1, order);
    }
    scored.truncate(keep);
    scored.sort_by(order);
    scored
        .into_iter()
        .map(|(s, c)| Scored {
            table: c.table.to_string(),
            depth: c.depth,
            score: s,
        })
        .collect()
}

/// One table's score; see the module doc for the formula.
pub fn score(
    c: &Candidate<'_>,
    usage: Option<&Ranked>,
    max_fanout: usize,
    today: NaiveDate,
    w: &Weights,
) -> f64 {
    let Some(u) = usage else { return 0.0 };
    let used = w.reads * u.reads_rank + w.users * u.users_rank + w.active_days * u.days_rank;
    let fan = if max_fanout == 0 {
        0.0
    } else {
        (1.0 + c.fanout as f64).ln() / (1.0 + max_fanout as f64).ln()
    };
    let decay = w.depth_decay.powi(c.depth.saturating_sub(1) as i32);
    let boost = (1.0 + w.fanout * fan) / (1.0 + w.fanout.max(0.0));
    used * recency(u.usage.last_read, today, w.recent_days) * boost * decay
}

fn recency(last_read: Option<NaiveDate>, today: NaiveDate, recent_days: u32) -> f64 {
    let Some(last) = last_read else { return 0.0 };
    let age = (today - last).num_days().max(0) as f64;
    let recent = f64::from(recent_days.max(1));
    if age <= recent {
        1.0
    } else {
        0.5f64.powf((age - recent) / recent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::usage::{TableUsage, UsageIndex};
    use std::collections::BTreeMap;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn usage(reads: u64, users: u64, days: u32, last: i64) -> TableUsage {
        TableUsage {
            reads,
            users,
            active_days: days,
            last_read: Some(today() - chrono::Duration::days(last)),
            top_consumers: vec![],
        }
    }

    fn index(entries: &[(&str, TableUsage)]) -> UsageIndex {
        let map: BTreeMap<String, TableUsage> = entries
            .iter()
            .map(|(t, u)| (t.to_string(), u.clone()))
            .collect();
        UsageIndex::new(map, None)
    }

    fn c(table: &str, depth: usize, fanout: usize) -> Candidate<'_> {
        Candidate {
            table,
            depth,
            fanout,
        }
    }

    fn names(v: &[Scored]) -> Vec<&str> {
        v.iter().map(|s| s.table.as_str()).collect()
    }

    #[test]
    fn a_used_leaf_outranks_an_unused_hub() {
        let idx = index(&[("leaf", usage(500, 30, 28, 0))]);
        let ranked = rank(
            &[c("hub", 1, 400), c("leaf", 2, 0)],
            &idx,
            today(),
            &Weights::default(),
            None,
        );
        assert_eq!(names(&ranked), ["leaf", "hub"]);
        assert_eq!(ranked[1].score, 0.0);
    }

    #[test]
    fn depth_decays() {
        let idx = index(&[("near", usage(50, 5, 10, 0)), ("far", usage(50, 5, 10, 0))]);
        let ranked = rank(
            &[c("far", 3, 0), c("near", 1, 0)],
            &idx,
            today(),
            &Weights::default(),
            None,
        );
        assert_eq!(names(&ranked), ["near", "far"]);
        assert!((ranked[1].score / ranked[0].score - 0.49).abs() < 1e-9);
    }

    #[test]
    fn stale_reads_fade() {
        let idx = index(&[
            ("fresh", usage(50, 5, 10, 1)),
            ("stale", usage(50, 5, 10, 21)),
        ]);
        let fresh = score(
            &c("fresh", 1, 0),
            idx.get("fresh"),
            0,
            today(),
            &Weights::default(),
        );
        let stale = score(
            &c("stale", 1, 0),
            idx.get("stale"),
            0,
            today(),
            &Weights::default(),
        );
        assert!(
            (stale / fresh - 0.25).abs() < 1e-9,
            "two half-lives past recent: {stale} vs {fresh}"
        );
    }

    #[test]
    fn ties_break_by_depth_then_name() {
        let idx = index(&[]);
        let ranked = rank(
            &[c("b", 2, 0), c("c", 1, 0), c("a", 2, 0)],
            &idx,
            today(),
            &Weights::default(),
            None,
        );
        assert_eq!(names(&ranked), ["c", "a", "b"]);
    }

    #[test]
    fn top_keeps_the_best_in_order() {
        let idx = index(&[
            ("x", usage(9, 3, 3, 0)),
            ("y", usage(90, 9, 9, 0)),
            ("z", usage(1, 1, 1, 0)),
        ]);
        let ranked = rank(
            &[c("x", 1, 0), c("y", 1, 0), c("z", 1, 0)],
            &idx,
            today(),
            &Weights::default(),
            Some(2),
        );
        assert_eq!(names(&ranked), ["y", "x"]);
    }
}
