//! Ripple's one integration-test binary: every module drives the real crate end to end
//! on loopback and temporary files only, with time from a manual clock.

mod bigquery;
mod bigquery_fake;
mod check;
mod crash;
mod crash_sigkill;
mod demo;
mod digests;
mod engine;
mod fake_bigquery;
mod fake_github;
mod fake_slack;
#[path = "../../benches/support/generator.rs"]
mod generator;
mod github;
mod hostile;
mod impact;
mod kinds;
mod layout;
mod lineage;
mod lineage_fuzz;
mod lineage_hostile;
mod metadata;
mod once;
mod outbox;
mod rules_mutation;
mod runner;
mod scheduler;
mod serve;
mod serve_limits;
mod silences;
mod slack;
mod slack_commands;
mod state_guard;
mod support;
mod tripwire;
