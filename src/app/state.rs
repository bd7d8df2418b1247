//! A state store that is never silently new. Before `run` or `serve` opens the state
//! file, a missing or empty one is checked against the destinations: when Slack or
//! GitHub still carry what an earlier deployment left (issues with Ripple's markers,
//! roots with its metadata, incident channels), starting over would post every open
//! incident again, so it is refused unless `--new-state` says it is meant. With it,
//! incident numbers continue above every number found, and the notifiers adopt open
//! issues by their fingerprint marker as they always do.

use super::App;
use crate::clock::Clock;
use crate::config::{Config, Secrets};
use crate::notify::{Footprint, NotifyError};
use crate::store::Store;
use anyhow::bail;
use std::path::Path;
use std::sync::Arc;

/// What the state path holds before it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFile {
    Missing,
    /// Zero bytes: a truncated file, or one made by `touch`.
    Empty,
    Present,
}

/// Looks at the path without creating anything.
pub fn inspect(path: &Path) -> std::io::Result<StateFile> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => Ok(StateFile::Empty),
        Ok(_) => Ok(StateFile::Present),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile::Missing),
        Err(e) => Err(e),
    }
}

impl App {
    /// The app `run` and `serve` use: [`App::from_config`] behind the state guard.
    pub async fn start(config: Config, new_state: bool) -> anyhow::Result<App> {
        let clock: Arc<dyn Clock> = Arc::new(crate::clock::SystemClock);
        Self::start_with(config, clock, &Secrets::from_env(), new_state).await
    }

    /// [`App::start`] with a given clock and credentials (tests).
    pub async fn start_with(
        config: Config,
        clock: Arc<dyn Clock>,
        secrets: &Secrets,
        new_state: bool,
    ) -> anyhow::Result<App> {
        let floor = guard(&config, clock.clone(), secrets, new_state).await?;
        let app = Self::from_config_with_secrets(config, clock, secrets).await?;
        if let Some(floor) = floor {
            app.store.raise_incident_ids(floor).await?;
        }
        Ok(app)
    }
}

/// `Ok(Some(n))`: a new state over an earlier deployment's traces; incident numbers
/// start above `n`.
async fn guard(
    config: &Config,
    clock: Arc<dyn Clock>,
    secrets: &Secrets,
    new_state: bool,
) -> anyhow::Result<Option<i64>> {
    let path = config.resolve(&config.state.path);
    let file = inspect(&path)?;
    if file == StateFile::Present {
        return Ok(None);
    }
    let found = footprints(config, clock, secrets).await;
    let what = match file {
        StateFile::Missing => "is missing",
        _ => "is empty",
    };
    match (found, new_state) {
        (Ok(f), _) if f.is_empty() => {
            tracing::info!(path = %path.display(), "new state store: no earlier deployment found in Slack or GitHub");
            Ok(None)
        }
        (Ok(f), true) => {
            let floor = f.iter().filter_map(|f| f.incident_id).max().unwrap_or(0);
            tracing::warn!(path = %path.display(), traces = f.len(), "new state store over an earlier deployment (--new-state): open issues are adopted by marker");
            Ok(Some(floor))
        }
        (Ok(f), false) => bail!(
            "the state file {} {what}, but this deployment has run before: {}. \
             Restore it from a backup (`ripple backup PATH` makes one), or start with \
             --new-state to begin a new one that adopts the open issues",
            path.display(),
            summary(&f)
        ),
        (Err(e), true) => {
            tracing::warn!(error = %e, "earlier deployment not checked (--new-state)");
            Ok(None)
        }
        (Err(e), false) => bail!(
            "the state file {} {what}, and whether this deployment has run before cannot be \
             checked ({e}). Retry when the destinations answer, restore the state from a \
             backup, or start with --new-state if this is a new deployment",
            path.display()
        ),
    }
}

/// Every destination's footprints, through notifiers over a throwaway store.
async fn footprints(
    config: &Config,
    clock: Arc<dyn Clock>,
    secrets: &Secrets,
) -> Result<Vec<Footprint>, NotifyError> {
    let scratch = Store::memory()
        .await
        .map_err(|e| NotifyError::new(format!("{e:#}")))?;
    let assembled = super::default_notifiers(config, &scratch, secrets, clock)
        .map_err(|e| NotifyError::new(format!("{e:#}")))?;
    let mut out = vec![];
    for n in &assembled.notifiers {
        let found = n
            .footprints()
            .await
            .map_err(|e| NotifyError::new(format!("{}: {}", n.destination(), e.message)))?;
        out.extend(found);
    }
    Ok(out)
}

/// `acme/orders#3, acme/orders#7 and 2 more`.
fn summary(found: &[Footprint]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<&str> = found.iter().take(SHOWN).map(|f| f.place.as_str()).collect();
    let more = found.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    names.dedup();
    format!("Ripple's traces at {}{more}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_empty_and_present_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.db");
        assert_eq!(inspect(&p).unwrap(), StateFile::Missing);
        std::fs::write(&p, b"").unwrap();
        assert_eq!(inspect(&p).unwrap(), StateFile::Empty);
        std::fs::write(&p, b"SQLite format 3\0").unwrap();
        assert_eq!(inspect(&p).unwrap(), StateFile::Present);
    }
}
