//! A crash at a chosen remote call: both fakes tick the wire once per request they
//! served (after applying it, before answering), and the test drops the delivery the
//! moment the armed count is reached — what SIGKILL leaves behind: the remote acted,
//! nothing after the call was recorded. For a real process the wire can also hold the
//! tripping request's answer back ([`Tripwire::hold`]) while the test kills it, so the
//! kill lands between the remote's change and the caller hearing of it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;

#[derive(Default)]
pub struct Tripwire {
    served: AtomicUsize,
    armed: Mutex<Option<usize>>,
    hold: AtomicBool,
    hit: Notify,
}

impl Tripwire {
    /// One request served by a fake; true when it tripped the wire and its answer is
    /// to be held back ([`Self::stall`]).
    pub fn tick(&self) -> bool {
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        if *self.armed.lock().unwrap() == Some(n) {
            self.hit.notify_one();
            return self.hold.load(Ordering::SeqCst);
        }
        false
    }

    /// Trips after `after` more requests.
    pub fn arm(&self, after: usize) {
        let at = self.served.load(Ordering::SeqCst) + after;
        *self.armed.lock().unwrap() = Some(at);
    }

    /// Whether the tripping request's answer waits (until the caller is killed).
    pub fn hold(&self, on: bool) {
        self.hold.store(on, Ordering::SeqCst);
    }

    pub fn holding(&self) -> bool {
        self.hold.load(Ordering::SeqCst)
    }

    pub fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }

    /// Resolves when the armed request has been served.
    pub async fn tripped(&self) {
        self.hit.notified().await;
    }

    /// Holds an answer back long enough for the test to kill its caller.
    pub async fn stall(&self) {
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    }
}
