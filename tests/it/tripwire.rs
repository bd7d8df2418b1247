//! A crash at a chosen remote call: both fakes tick the wire once per request they
//! served (after applying it, before answering), and the test drops the delivery the
//! moment the armed count is reached — what SIGKILL leaves behind: the remote acted,
//! nothing after the call was recorded.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

#[derive(Default)]
pub struct Tripwire {
    served: AtomicUsize,
    armed: Mutex<Option<usize>>,
    hit: Notify,
}

impl Tripwire {
    /// One request served by a fake.
    pub fn tick(&self) {
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        if *self.armed.lock().unwrap() == Some(n) {
            self.hit.notify_one();
        }
    }

    /// Trips after `after` more requests.
    pub fn arm(&self, after: usize) {
        let at = self.served.load(Ordering::SeqCst) + after;
        *self.armed.lock().unwrap() = Some(at);
    }

    pub fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }

    /// Resolves when the armed request has been served.
    pub async fn tripped(&self) {
        self.hit.notified().await;
    }
}
