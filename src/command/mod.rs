//! The `/ripple` command language, whichever front end carries it (Slack over HTTP or
//! Socket Mode today): [`parse`] text into a [`Command`], the [`Reply`] it earns, the
//! [`UserError`] a person can fix, and the [`Commands`] seam the front ends call. The
//! app implements [`Commands`] (`App::execute`, through the live app so a reload is
//! followed at once); front ends know nothing of the app.

mod parse;
mod reply;

pub use parse::{Command, Direction, help, parse};
pub use reply::{Reply, UserError};

use async_trait::async_trait;

/// What a front end needs from the app.
#[async_trait]
pub trait Commands: Send + Sync {
    /// Runs `cmd` for `actor` (as messages name them, e.g. a Slack mention).
    async fn execute(&self, cmd: Command, actor: &str) -> Result<Reply, UserError>;
    /// The monitor of an incident (the "silence 1h" button), None when unknown.
    async fn monitor_of(&self, incident: i64) -> Option<String>;
    /// After a change by hand (ack, resolve, silence): deliver what it queued now,
    /// rather than at the next scheduler tick.
    async fn changed(&self);
}
