//! What a command answers, and what a person can fix.

/// What `/ripple` answers; `in_channel` replies are seen by everybody in the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub in_channel: bool,
}

impl Reply {
    pub fn ephemeral(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            in_channel: false,
        }
    }

    pub fn in_channel(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            in_channel: true,
        }
    }
}

/// A mistake the person can fix (an unknown monitor, a resolved incident), with a
/// helpful text; or our own failure, logged under an id the person can quote, and shown
/// as a short apology, never as a raw error chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

impl UserError {
    /// Logs an internal error under a fresh id and returns the apology that names it.
    pub fn internal(e: &anyhow::Error) -> UserError {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = format!(
            "{:x}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        tracing::error!(error_id = %id, error = %format!("{e:#}"), "command failed");
        UserError(format!(
            ":warning: Sorry, that did not work on our side (error id `{id}`); it is logged. Try again, or tell the Ripple admins the id."
        ))
    }

    /// The reply that shows the mistake to the person who made it.
    pub fn reply(&self) -> Reply {
        Reply::ephemeral(self.0.clone())
    }
}
