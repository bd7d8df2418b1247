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
        }
    }

    /// Also prints the GitHub issue each opened incident would get (no token needed).
    pub fn with_github_preview(mut self, teams: &[TeamConfig]) -> Self {
        self.github_preview = Some(teams.to_vec());
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
        text
    }

    /// A notifier writing into a shared buffer, and the buffer (for tests and the demo).
    pub fn buffer() -> (Self, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        (Self::to_writer(Box::new(SharedBuf(buf.clone()))), buf)
    }
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
