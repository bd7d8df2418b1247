//! `impact:`: the usage window, refresh interval, ranking weights and who is never told.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `impact:` section of `ripple.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImpactConfig {
    /// Days of job history behind the usage statistics.
    pub days: u32,
    /// How often the statistics (and the lineage graph) are rebuilt.
    #[serde(with = "crate::duration")]
    pub refresh_interval: Duration,
    /// Ranked tables shown per report.
    pub top: usize,
    /// Replaces the default usage query (see [`queries`] for the columns it must return).
    pub usage_query: Option<String>,
    /// Users never listed as people to notify.
    pub exclude_users: Vec<String>,
    /// A failing monitor downstream of an incident updated this recently joins it.
    #[serde(with = "crate::duration")]
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

/// The formula's weights; `impact.weights` in `ripple.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    pub reads: f64,
    pub users: f64,
    pub active_days: f64,
    /// Bonus for tables many others are built from (0 = none).
    pub fanout: f64,
    /// Multiplier per level of depth beyond the first (0..1).
    pub depth_decay: f64,
    /// Reads older than this start to count less.
    pub recent_days: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            reads: 0.4,
            users: 0.35,
            active_days: 0.25,
            fanout: 0.5,
            depth_decay: 0.7,
            recent_days: 7,
        }
    }
}
