//! The console notifier: prints exactly what would be posted, for the no-token setup
//! and for tests.

use super::{EventKind, Notification, Notifier, NotifyError};
use crate::config::TeamConfig;
use crate::render;
use async_trait::async_trait;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Writes rendered notifications to stdout, a file, or an in-memory buffer.
pub struct ConsoleNotifier {
    sink: Mutex<Box<dyn Write + Send>>,
    /// When GitHub is not configured: team → (repo, Slack channel), to show the issue
    /// an opened incident would get.
    github_preview: Option<Vec<TeamConfig>>,
    /// When Slack is configured without a token: the Block Kit it would post
    /// (`impact_top` ranked tables).
    slack_preview: Option<usize>,
}

impl ConsoleNotifier {
    pub fn stdout() -> Self {
        Self::to_writer(Box::new(std::io::stdout()))
    }

    /// Appends to a file, creating it (and its folder) when missing.
    pub fn file(path: &std::path::Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::to_writer(Box::new(f)))
    }

    pub fn to_writer(w: Box<dyn Write + Send>) -> Self {
        ConsoleNotifier {
            sink: Mutex::new(w),
            github_preview: None,
            slack_preview: None,
        }
    }

    /// Also prints the GitHub issue each opened incident would get (no token needed).
    pub fn with_github_preview(mut self, teams: &[TeamConfig]) -> Self {
        self.github_preview = Some(teams.to_vec());
        self
    }

    /// Also prints the Slack Block Kit of each notification (no token needed).
    pub fn with_slack_preview(mut self, impact_top: usize) -> Self {
        self.slack_preview = Some(impact_top);
        self
    }

    fn render(&self, n: &Notification) -> String {
        let mut text = render::console(n);
        if let (Some(teams), EventKind::Opened) = (&self.github_preview, n.event) {
            let team = teams.iter().find(|t| t.name == n.team);
            let repo = team.and_then(|t| t.github_repo.as_deref());
            let slack = team.and_then(|t| t.slack_channel.as_deref());
            text.push('\n');
            text.push_str(&crate::github::body::preview(n, repo, slack));
        }
        if let Some(top) = self.slack_preview {
            text.push('\n');
            text.push_str(&slack_preview(n, top));
        }
        text
    }

    /// A notifier writing into a shared buffer, and the buffer (for tests and the demo).
    pub fn buffer() -> (Self, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        (Self::to_writer(Box::new(SharedBuf(buf.clone()))), buf)
    }
}

/// The Block Kit JSON Slack would get: the root message on opening, a thread reply
/// otherwise.
fn slack_preview(n: &Notification, impact_top: usize) -> String {
    use crate::slack::blocks;
    let msg = match n.event {
        EventKind::Opened => {
            let ctx = blocks::Context {
                owners: n.owners.iter().map(|o| blocks::escape(o)).collect(),
                impact_top,
                ..Default::default()
            };
            blocks::incident(n, &ctx, None)
        }
        _ => blocks::thread_update(n),
    };
    let json = serde_json::json!({"text": msg.text, "blocks": msg.blocks});
    format!(
        "slack (preview: SLACK_BOT_TOKEN is not set):\n{}",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    )
}

struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Notifier for ConsoleNotifier {
    fn destination(&self) -> &str {
        "console"
    }

    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        let text = self.render(n);
        let mut sink = self
            .sink
            .lock()
            .map_err(|_| NotifyError::new("console lock poisoned"))?;
        writeln!(sink, "{text}")
            .and_then(|_| sink.flush())
            .map_err(|e| NotifyError::new(format!("cannot write the console notification: {e}")))
    }
}
