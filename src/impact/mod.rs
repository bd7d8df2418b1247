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

pub use crate::config::{ImpactConfig, Weights};
pub use report::{ImpactReport, ImpactedTable, Lineage, Recipient, ReportOptions};
pub use usage::{TableUsage, UsageIndex, UsageRow};
