//! Ripple: a lineage-aware data-incident assistant.
//!
//! # Layout (reading order)
//! See `ARCHITECTURE.md` for the bird's-eye view.

pub mod app;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod console;
pub mod demo;
pub mod diag;
pub mod digest;
pub mod duration;
pub mod github;
pub mod impact;
pub mod incident;
pub mod lineage;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod render;
pub mod rules;
pub mod server;
pub mod slack;
pub mod store;
pub mod warehouse;
pub mod yaml;
