//! Crash campaigns: open → change → resolve with the delivery dropped at a random remote
//! call (what SIGKILL leaves: the remote acted, nothing after the call was recorded),
//! faults injected in both fakes (5xx, 429 with `Retry-After`, GitHub's secondary rate
//! limit, lost responses) and two delivery rounds at once now and then, in one process
//! or in two on the same state file. Every crash is
//! followed by a restart over the same files. At the end the fakes' whole state must
//! equal a run with none of it: no duplicate issue, channel, root, reply or comment, and
//! nothing undelivered.

use super::fake_github::{FakeGithub, Fault as GhFault};
use super::fake_slack::{FakeSlack, Fault as SlackFault};
use super::support::{Harness, REPOS};
use super::tripwire::Tripwire;
use ripple::notify::dispatch::deliver_due;
use std::collections::BTreeMap;
use std::sync::Arc;

/// xorshift64*: seeded, so a failing campaign replays exactly.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

#[derive(Debug, Default)]
struct Stats {
    crashes: usize,
    double_rounds: usize,
    second_process: usize,
    faults: usize,
    faults_hit: usize,
}

/// What people see in the end, independent of timestamps.
#[derive(Debug, PartialEq)]
pub struct Picture {
    /// Per repository: (title, open, comments).
    pub issues: BTreeMap<String, Vec<(String, bool, usize)>>,
    /// Incident channels by name.
    pub rooms: Vec<String>,
    /// Per root (its incident's title line): replies in its thread, edits.
    pub roots: BTreeMap<String, (usize, bool)>,
}

fn picture(h: &Harness) -> Picture {
    picture_of(h.slack(), h.github())
}

/// [`Picture`] of the two fakes, wherever Ripple ran.
pub fn picture_of(slack: &FakeSlack, github: &FakeGithub) -> Picture {
    let mut issues = BTreeMap::new();
    for (repo, _) in REPOS {
        let list = github.issues(repo).into_iter();
        let list = list.map(|i| (i.title, i.open, i.comments.len())).collect();
        issues.insert(repo.to_string(), list);
    }
    let mut rooms: Vec<String> = slack.channels().into_iter().map(|c| c.name).collect();
    rooms.retain(|n| !n.starts_with("data-"));
    rooms.sort();
    let messages = slack.messages();
    let mut roots = BTreeMap::new();
    for root in messages.iter().filter(|m| m.thread_ts.is_none()) {
        let replies: Vec<_> = messages
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(&root.ts))
            .collect();
        let keys: std::collections::BTreeSet<_> = replies
            .iter()
            .map(|m| m.metadata["event_payload"]["key"].to_string())
            .collect();
        assert_eq!(
            keys.len(),
            replies.len(),
            "a reply told twice: {replies:#?}"
        );
        let title = root.text.clone();
        let before = roots.insert(title.clone(), (replies.len(), root.edits > 0));
        assert!(before.is_none(), "two roots say {title}");
    }
    Picture {
        issues,
        rooms,
        roots,
    }
}

fn fix(h: &Harness) {
    h.warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
    h.warehouse_exec("finance", "INSERT INTO payments (id, order_id, amount, method, paid_at) SELECT id, id, amount, 'card', processed_at FROM shop.orders WHERE id IN (57, 131, 288)");
}

/// Open, four hours of failing (reminders), two recover.
const PHASES: [(i64, bool); 3] = [(0, false), (4 * 60 + 5, false), (30, true)];

async fn reference() -> Picture {
    let h = Harness::options().slack().github().start().await;
    for (minutes, recover) in PHASES {
        h.later(minutes);
        if recover {
            fix(&h);
        }
        h.run().await;
    }
    assert_eq!(h.app.store.pending_outbox().await.unwrap(), 0);
    let p = picture(&h);
    h.slack().take_sent();
    h.github().take_log();
    p
}

fn inject(h: &Harness, rng: &mut Rng, stats: &mut Stats) {
    stats.faults += inject_faults(h.slack(), h.github(), rng, 30);
}

/// One to three faults in each fake (5xx, a rate limit with `Retry-After` of up to
/// `max_wait` seconds, a lost response), on calls Ripple makes; returns how many.
pub fn inject_faults(
    slack: &super::fake_slack::FakeSlack,
    github: &super::fake_github::FakeGithub,
    rng: &mut Rng,
    max_wait: usize,
) -> usize {
    const SLACK: [&str; 6] = [
        "chat.postMessage",
        "chat.update",
        "conversations.create",
        "conversations.setPurpose",
        "conversations.history",
        "conversations.replies",
    ];
    const GITHUB: [(&str, &str); 4] = [
        ("POST", "/issues"),
        ("POST", "/comments"),
        ("PATCH", "/issues/"),
        ("GET", "/issues"),
    ];
    let mut injected = 0;
    for _ in 0..1 + rng.below(3) {
        let retry_after = 1 + rng.below(max_wait) as u64;
        let fault = match rng.below(3) {
            0 => SlackFault::Status(503),
            1 => SlackFault::RateLimited { retry_after },
            _ => SlackFault::ApplyThenFail,
        };
        slack.inject(SLACK[rng.below(SLACK.len())], fault, 1);
        let fault = match rng.below(3) {
            0 => GhFault::Status(502),
            1 => GhFault::SecondaryRateLimit { retry_after },
            _ => GhFault::ApplyThenFail,
        };
        let (method, path) = GITHUB[rng.below(GITHUB.len())];
        github.inject(method, path, fault, 1);
        injected += 2;
    }
    injected
}

/// Delivery rounds, crashing now and then, until the outbox is empty.
async fn settle(h: &mut Harness, wire: &Tripwire, rng: &mut Rng, stats: &mut Stats) {
    for _ in 0..300 {
        if h.app.store.pending_outbox().await.unwrap() == 0 {
            return;
        }
        let crash = rng.below(3) == 0;
        if crash {
            wire.arm(1 + rng.below(8));
        }
        let two = rng.below(4) == 0;
        stats.double_rounds += usize::from(two);
        // Half the second rounds come from a second process on the same state file.
        let second = if two && rng.below(2) == 0 {
            stats.second_process += 1;
            Some(h.new_app().await.0)
        } else {
            None
        };
        let other_app = second.as_ref().unwrap_or(&h.app);
        let now = h.clock_now();
        let rounds = async {
            let one = deliver_due(&h.app.store, &h.app.notifiers, now);
            if two {
                let other = deliver_due(&other_app.store, &other_app.notifiers, now);
                let (a, b) = tokio::join!(one, other);
                a.and(b).map(|_| ())
            } else {
                one.await.map(|_| ())
            }
        };
        let crashed = tokio::select! {
            biased;
            () = wire.tripped(), if crash => true,
            r = rounds => { r.unwrap(); false }
        };
        wire.disarm();
        if crashed {
            stats.crashes += 1;
            h.restart().await;
            // The crashed holder's leases run out before anyone else may deliver.
            h.clock.advance(chrono::Duration::seconds(31));
        } else {
            h.clock
                .advance(chrono::Duration::seconds(1 + rng.below(40) as i64));
        }
    }
    panic!("the outbox did not empty in 300 rounds");
}

async fn campaign(seed: u64, stats: &mut Stats) -> Picture {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut h = Harness::options().slack().github().start().await;
    let before = stats.faults;
    let wire = Arc::new(Tripwire::default());
    h.slack().world().tripwire = Some(wire.clone());
    h.github().world().tripwire = Some(wire.clone());
    for (minutes, recover) in PHASES {
        h.later(minutes);
        if recover {
            fix(&h);
        }
        inject(&h, &mut rng, stats);
        let monitors = h.app.rules.monitors.clone();
        h.app.run_monitors(&monitors).await.unwrap();
        settle(&mut h, &wire, &mut rng, stats).await;
    }
    let injected = stats.faults - before;
    stats.faults_hit += injected - h.slack().faults_left() - h.github().faults_left();
    let p = picture(&h);
    h.slack().take_sent();
    h.github().take_log();
    p
}

#[tokio::test]
async fn crash_campaigns_leave_exactly_what_a_calm_run_leaves() {
    let expected = reference().await;
    assert_eq!(expected.rooms.len(), 2, "{expected:#?}");
    let mut stats = Stats::default();
    for seed in 1..=16 {
        let got = campaign(seed, &mut stats).await;
        assert_eq!(got, expected, "seed {seed}: {stats:?}");
    }
    eprintln!("crash campaigns: 16 seeds, {stats:?}, duplicates 0, undelivered 0");
    assert!(
        stats.crashes >= 16,
        "the campaign crashed too rarely: {stats:?}"
    );
    assert!(
        stats.faults_hit >= 16,
        "faults were injected where nothing called: {stats:?}"
    );
}
