//! The app as the server sees it: swapped whole on a rule reload, plus readiness.
//!
//! Handlers and the scheduler take [`Live::app`] at the start of their work and keep
//! that `Arc` to the end, so a reload never changes the rules under a running tick.
//! `/ripple` commands come in through [`Live`] (it implements `command::Commands`).

use super::App;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// The current app and whether Ripple is ready to take work.
pub struct Live {
    app: RwLock<Arc<App>>,
    ready: AtomicBool,
}

impl Live {
    pub fn new(app: App) -> Arc<Live> {
        Arc::new(Live {
            app: RwLock::new(Arc::new(app)),
            ready: AtomicBool::new(false),
        })
    }

    /// The app now; keep it for the duration of one piece of work.
    pub fn app(&self) -> Arc<App> {
        self.app.read().expect("live app lock").clone()
    }

    /// Swaps in a new app (a reload); work in flight keeps the old one.
    pub fn replace(&self, app: App) {
        *self.app.write().expect("live app lock") = Arc::new(app);
    }

    /// Ready once the first scheduler cycle ran; not ready again while shutting down.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

/// Slack (and any front end) comes in through the live app: every command runs on the
/// app as it is now, so `/ripple run <new monitor>` works right after a reload.
#[async_trait::async_trait]
impl crate::command::Commands for Live {
    async fn execute(
        &self,
        cmd: crate::command::Command,
        actor: &str,
    ) -> Result<crate::command::Reply, crate::command::UserError> {
        self.app().execute(cmd, actor).await
    }

    async fn monitor_of(&self, incident: i64) -> Option<String> {
        let app = self.app();
        app.incident(incident)
            .await
            .ok()
            .flatten()
            .map(|i| i.monitor_id)
    }

    async fn changed(&self) {
        let app = self.app();
        tokio::spawn(async move {
            if let Err(e) = app.deliver().await {
                tracing::warn!(error = %e, "delivery after a command failed; the scheduler retries");
            }
        });
    }
}
