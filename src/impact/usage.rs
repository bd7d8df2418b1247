//! Usage statistics: who reads which table, how often, how recently.
//!
//! The usage query (BigQuery: `INFORMATION_SCHEMA.JOBS_BY_PROJECT`; the demo: a
//! JOBS-shaped table) returns one row per (table, user, day) with a job count; this
//! module folds those rows into per-table statistics and precomputes the percentile
//! ranks the score needs, so ranking an incident's impact is lookups only.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One row of the usage query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub table: String,
    pub user: String,
    pub day: NaiveDate,
    pub jobs: u64,
}

/// Someone who queries a table, and how many jobs they ran on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    pub user: String,
    pub jobs: u64,
}

/// What is known of one table's use over the usage window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableUsage {
    pub reads: u64,
    pub users: u64,
    pub active_days: u32,
    pub last_read: Option<NaiveDate>,
    /// Heaviest consumers first (ties by name), at most [`TOP_CONSUMERS`].
    pub top_consumers: Vec<Consumer>,
}

/// How many consumers are kept per table.
pub const TOP_CONSUMERS: usize = 5;

/// Folds usage rows into per-table statistics.
pub fn aggregate(rows: &[UsageRow]) -> BTreeMap<String, TableUsage> {
    let mut by_table: HashMap<&str, Seen<'_>> = HashMap::new();
    for r in rows {
        let (users, days) = by_table.entry(r.table.as_str()).or_default();
        *users.entry(r.user.as_str()).or_default() += r.jobs;
        days.insert(r.day);
    }
    by_table
        .into_iter()
        .map(|(table, (users, days))| (table.to_string(), table_usage(users, &days)))
        .collect()
}

/// Per table while folding: jobs per user, and the days it was read on.
type Seen<'a> = (HashMap<&'a str, u64>, BTreeSet<NaiveDate>);

fn table_usage(users: HashMap<&str, u64>, days: &BTreeSet<NaiveDate>) -> TableUsage {
    let mut consumers: Vec<Consumer> = users
        .into_iter()
        .map(|(u, jobs)| Consumer {
            user: u.to_string(),
            jobs,
        })
        .collect();
    consumers.sort_by(|a, b| b.jobs.cmp(&a.jobs).then_with(|| a.user.cmp(&b.user)));
    let reads = consumers.iter().map(|c| c.jobs).sum();
    let users = consumers.len() as u64;
    consumers.truncate(TOP_CONSUMERS);
    TableUsage {
        reads,
        users,
        active_days: days.len() as u32,
        last_read: days.iter().next_back().copied(),
        top_consumers: consumers,
    }
}

/// Usage plus the percentile ranks of every table, computed once per refresh.
#[derive(Debug, Clone, Default)]
pub struct UsageIndex {
    tables: HashMap<String, Ranked>,
    pub refreshed_at: Option<DateTime<Utc>>,
}

/// A table's usage and where it stands among all tables (each rank in 0..=1).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub usage: TableUsage,
    pub reads_rank: f64,
    pub users_rank: f64,
    pub days_rank: f64,
}

impl UsageIndex {
    pub fn new(stats: BTreeMap<String, TableUsage>, refreshed_at: Option<DateTime<Utc>>) -> Self {
        let reads = sorted(stats.values().map(|u| u.reads));
        let users = sorted(stats.values().map(|u| u.users));
        let days = sorted(stats.values().map(|u| u64::from(u.active_days)));
        let tables = stats
            .into_iter()
            .map(|(t, u)| {
                let ranked = Ranked {
                    reads_rank: percentile(&reads, u.reads),
                    users_rank: percentile(&users, u.users),
                    days_rank: percentile(&days, u64::from(u.active_days)),
                    usage: u,
                };
                (t, ranked)
            })
            .collect();
        UsageIndex {
            tables,
            refreshed_at,
        }
    }

    pub fn get(&self, table: &str) -> Option<&Ranked> {
        self.tables.get(table)
    }

    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Ranked)> {
        self.tables.iter()
    }
}

fn sorted(values: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut v: Vec<u64> = values.collect();
    v.sort_unstable();
    v
}

/// Mid-rank percentile of `x` among `sorted` (0 for zero: unused is unused).
fn percentile(sorted: &[u64], x: u64) -> f64 {
    if x == 0 || sorted.is_empty() {
        return 0.0;
    }
    let below = sorted.partition_point(|&v| v < x);
    let equal = sorted.partition_point(|&v| v <= x) - below;
    (below as f64 + 0.5 * equal as f64 + 0.5) / sorted.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(table: &str, user: &str, day: u32, jobs: u64) -> UsageRow {
        UsageRow {
            table: table.into(),
            user: user.into(),
            day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            jobs,
        }
    }

    #[test]
    fn rows_fold_into_per_table_usage() {
        let rows = [
            row("a", "x", 1, 3),
            row("a", "y", 1, 1),
            row("a", "x", 2, 2),
            row("b", "y", 5, 1),
        ];
        let stats = aggregate(&rows);
        let a = &stats["a"];
        assert_eq!((a.reads, a.users, a.active_days), (6, 2, 2));
        assert_eq!(
            a.top_consumers[0],
            Consumer {
                user: "x".into(),
                jobs: 5
            }
        );
        assert_eq!(a.last_read, NaiveDate::from_ymd_opt(2026, 11, 2));
    }

    #[test]
    fn percentiles_rank_heavier_use_higher_and_unused_at_zero() {
        let sorted = [0, 1, 5, 5, 100];
        assert_eq!(percentile(&sorted, 0), 0.0);
        assert!(percentile(&sorted, 100) > percentile(&sorted, 5));
        assert!(percentile(&sorted, 5) > percentile(&sorted, 1));
        assert!(percentile(&sorted, 100) <= 1.0);
    }
}
