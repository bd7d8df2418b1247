//! The console notifier: prints exactly what would be posted, for the no-token setup
//! and for tests.

use super::{Notification, Notifier, NotifyError};
use crate::render;
use async_trait::async_trait;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Writes rendered notifications to stdout, a file, or an in-memory buffer.
pub struct ConsoleNotifier {
    sink: Mutex<Box<dyn Write + Send>>,
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
        }
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
        let text = render::console(n);
        let mut sink = self
            .sink
            .lock()
            .map_err(|_| NotifyError::new("console lock poisoned"))?;
        writeln!(sink, "{text}")
            .and_then(|_| sink.flush())
            .map_err(|e| NotifyError::new(format!("cannot write the console notification: {e}")))
    }
}
