//! Where digests go. A sink posts a message and returns a handle; given the handle it
//! can edit that message, which is how an all-clear is updated in place instead of
//! posted again. The console sink prints both; Slack adds its own sink (`chat.update`).

use super::Digest;
use async_trait::async_trait;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A digest destination.
#[async_trait]
pub trait DigestSink: Send + Sync {
    /// Posts a new message; returns a handle that [`DigestSink::edit`] understands and
    /// that survives restarts (it is stored).
    async fn post(&self, digest: &Digest, text: &str) -> anyhow::Result<String>;
    /// Replaces the text of a message posted earlier.
    async fn edit(&self, handle: &str, digest: &Digest, text: &str) -> anyhow::Result<()>;
}

/// Prints digests to stdout, a file or a buffer.
pub struct ConsoleSink {
    out: Mutex<Box<dyn Write + Send>>,
    seq: AtomicU64,
}

impl ConsoleSink {
    pub fn to_writer(w: Box<dyn Write + Send>) -> Self {
        ConsoleSink {
            out: Mutex::new(w),
            seq: AtomicU64::new(0),
        }
    }

    pub fn stdout() -> Self {
        Self::to_writer(Box::new(std::io::stdout()))
    }

    /// A sink writing into a shared buffer (tests).
    pub fn buffer() -> (Self, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        (Self::to_writer(Box::new(Shared(buf.clone()))), buf)
    }

    fn write(&self, head: &str, text: &str) -> anyhow::Result<()> {
        let mut out = self.out.lock().expect("console sink lock");
        writeln!(out, "{head}")?;
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(())
    }
}

#[async_trait]
impl DigestSink for ConsoleSink {
    async fn post(&self, d: &Digest, text: &str) -> anyhow::Result<String> {
        // Unique across restarts: the digest, its time and a per-process counter.
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let handle = format!("console:{}:{}:{n}", d.name, d.at.timestamp_millis());
        self.write(
            &format!("[digest {} → {}] post {handle}", d.name, d.channel),
            text,
        )?;
        Ok(handle)
    }

    async fn edit(&self, handle: &str, d: &Digest, text: &str) -> anyhow::Result<()> {
        self.write(
            &format!("[digest {} → {}] edit {handle}", d.name, d.channel),
            text,
        )
    }
}

struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
