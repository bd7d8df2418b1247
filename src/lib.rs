//! Ripple: a lineage-aware data-incident assistant for BigQuery teams on Slack and GitHub.
//!
//! # Layout (reading order, bottom of the house first)
//!
//! Dependencies point one way: each layer imports only the layers above it in this list.
//!
//! 1. **Leaves.** [`config`] (`ripple.yaml`, every section type, secrets from the
//!    environment), with the small leaves it stands on: `bounds` (the documented
//!    range of every duration, count and size), `duration` (serde durations),
//!    `calendar` (digest slots), `yaml` and `diag` (positions and `file:line:col`
//!    diagnostics), `escape` (outside text made inert for Slack and GitHub). [`clock`] is the one source of time (manual in tests).
//! 2. **Pure cores.** [`rules`] (monitor definitions and their validation), [`incident`]
//!    (conditions, fingerprints, `decide`: triage, inhibition, flap damping, escalation
//!    and the ack rule as one pure function), [`lineage`] (SQL → table graph),
//!    [`impact`] (usage statistics, scores, the ranked report and its one renderer),
//!    `render` (incident text), [`digest`] (the digest model), `command` (the `/ripple`
//!    grammar, replies and user errors), and [`monitor`] (outcomes, the runner, the
//!    dead-man's switch).
//! 3. **Persistence and seams.** [`store`] only persists: runs, incidents, the outbox
//!    and the intent journal, in SQLite through sqlx. [`notify`] is the delivery seam
//!    (`Notification`, `Notifier`, the outbox dispatcher) and knows no adapter.
//!    [`warehouse`] is the query seam (SQLite and BigQuery).
//! 4. **Adapters**, beside the seams and owning their own state: [`slack`], [`github`],
//!    [`console`].
//! 5. **Composition.** [`app`] assembles config, warehouse, store and notifiers, runs
//!    monitors, plans incident changes, executes commands and serves.
//! 6. **Front ends.** [`cli`] (the `ripple` command line), [`server`] (HTTP: health,
//!    metrics, Slack endpoints) and [`demo`].
//!
//! `ARCHITECTURE.md` has the bird's-eye view, the code map and the invariants.

mod bounds;
pub mod config;
mod diag;
mod duration;
mod escape;
mod yaml;

mod calendar;
pub mod clock;

mod command;
pub mod digest;
pub mod impact;
pub mod incident;
pub mod lineage;
pub mod monitor;
mod render;
pub mod rules;

pub mod notify;
pub mod store;
pub mod warehouse;

pub mod console;
pub mod github;
pub mod slack;

pub mod app;
mod metrics;

pub mod cli;
pub mod demo;
pub mod server;
