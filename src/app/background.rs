//! Single-flight background jobs of the serve loop (delivery, impact refresh): kicked
//! as often as anyone likes, running one at a time, and once more after a kick that came
//! while it ran — so the tick loop never waits on Slack, GitHub or a usage query, and
//! nothing asked for is forgotten.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Default)]
pub struct SingleFlight {
    running: AtomicBool,
    again: AtomicBool,
}

impl SingleFlight {
    /// Runs `job()` in the background unless it is running; then it runs once more.
    pub fn kick<F, Fut>(self: &Arc<Self>, job: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        self.again.store(true, Ordering::SeqCst);
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                while me.again.swap(false, Ordering::SeqCst) {
                    job().await;
                }
                me.running.store(false, Ordering::SeqCst);
                // A kick between the last run and the store above found it running.
                if !me.again.load(Ordering::SeqCst) || me.running.swap(true, Ordering::SeqCst) {
                    return;
                }
            }
        });
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Resolves once nothing runs (tests, shutdown); polls, as it is rarely awaited.
    pub async fn idle(&self) {
        while self.is_running() {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn kicks_while_running_coalesce_into_one_more_run() {
        let flight = Arc::new(SingleFlight::default());
        let (started, runs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let kick = || {
            let (started, runs, gate) = (started.clone(), runs.clone(), gate.clone());
            flight.kick(move || {
                let (started, runs, gate) = (started.clone(), runs.clone(), gate.clone());
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = gate.acquire().await.map(|p| p.forget());
                    runs.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        kick();
        while started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..4 {
            kick();
        }
        assert_eq!(started.load(Ordering::SeqCst), 1, "one at a time");
        gate.add_permits(10);
        flight.idle().await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "the first run, then one for the rest"
        );
    }
}
