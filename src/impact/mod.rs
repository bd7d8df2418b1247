//! Impact ranking: what a broken table hurts, and who to tell.
//!
//! Pure: usage rows come in, a ranked [`ImpactReport`] comes out. The usage query runs
//! in the warehouse and its result is cached in the store on an interval, so an
//! incident never triggers a scan of the job history.

pub mod graph;
pub mod queries;
pub mod render;
pub mod report;
pub mod score;
pub mod usage;

pub use report::{ImpactReport, ImpactedTable, Lineage, Recipient, ReportOptions};
pub use score::Weights;
pub use usage::{TableUsage, UsageIndex, UsageRow};

use serde::Deserialize;
use std::time::Duration;

/// The `impact:` section of `ripple.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImpactConfig {
    /// Days of job history behind the usage statistics.
    pub days: u32,
    /// How often the statistics (and the lineage graph) are rebuilt.
    #[serde(with = "crate::config::humantime_serde_compat")]
    pub refresh_interval: Duration,
    /// Ranked tables shown per report.
    pub top: usize,
    /// Replaces the default usage query (see [`queries`] for the columns it must return).
    pub usage_query: Option<String>,
    /// Users never listed as people to notify.
    pub exclude_users: Vec<String>,
    /// A failing monitor downstream of an incident updated this recently joins it.
    #[serde(with = "crate::config::humantime_serde_compat")]
    pub group_window: Duration,
    pub weights: Weights,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            days: 30,
            refresh_interval: Duration::from_secs(6 * 3600),
            top: 10,
            usage_query: None,
            exclude_users: vec!["*.gserviceaccount.com".into()],
            group_window: Duration::from_secs(3600),
            weights: Weights::default(),
        }
    }
}
