//! Ripple: a lineage-aware data-incident assistant.
//!
//! # Layout (reading order)
//! See `ARCHITECTURE.md` for the bird's-eye view.

pub mod lineage;
