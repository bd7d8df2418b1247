//! The console notifier: prints exactly what would be posted, for the no-token setup
//! and for tests. An adapter beside Slack and GitHub; their previews (the issue or the
//! Block Kit they would post) are injected by whoever assembles the notifiers, so this
//! file knows neither.

use crate::notify::{Notification, Notifier, NotifyError};
use crate::render;
use async_trait::async_trait;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Writes rendered notifications to stdout, a file, or an in-memory buffer.
pub struct ConsoleNotifier {
    sink: Mutex<Box<dyn Write + Send>>,
    /// What an unconfigured destination would post, appended to each notification.
    previews: Vec<Preview>,
}

/// Renders what a destination would post for a notification (None: nothing).
pub type Preview = Box<dyn Fn(&Notification) -> Option<String> + Send + Sync>;

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
            previews: Vec::new(),
        }
    }

    /// Also prints what `preview` renders (the GitHub issue or Slack message that
    /// would be posted, with no token needed).
    pub fn with_preview(mut self, preview: Preview) -> Self {
        self.previews.push(preview);
        self
    }

    fn render(&self, n: &Notification) -> String {
        let mut text = render::console(n);
        for p in &self.previews {
            if let Some(more) = p(n) {
                text.push('\n');
                text.push_str(&more);
            }
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

/// Operations notices on the console, one line each.
#[async_trait]
impl crate::notify::ops::OpsSink for ConsoleNotifier {
    fn name(&self) -> String {
        "console".into()
    }

    async fn tell(&self, text: &str) -> anyhow::Result<()> {
        let mut out = self.sink.lock().expect("console lock");
        writeln!(out, "[ripple ops] {text}")?;
        out.flush()?;
        Ok(())
    }
}
