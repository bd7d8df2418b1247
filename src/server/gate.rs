//! Admission of connections: a global cap, a cap per client IP, and fairness between
//! clients when the global cap is reached.
//!
//! A connection over a cap is refused at once (the accept loop closes it); nothing is
//! queued. When every slot is taken, a newcomer that holds fewer connections than the
//! heaviest client by more than one takes that client's oldest connection instead of
//! being refused, so one client (or a few) holding slots open cannot shut others out.
//! Pure bookkeeping: no IO, no clock.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its client already holds `max_connections_per_ip`.
    PerClient,
    /// Every slot is taken and no client holds more than its share.
    Full,
}

/// The connection caps, shared by the accept loop and the connections' tickets.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Mutex<Slots>>,
    max_total: usize,
    max_per_client: usize,
}

#[derive(Default)]
struct Slots {
    total: usize,
    next_id: u64,
    /// Per client, its connections oldest first.
    clients: HashMap<IpAddr, VecDeque<Held>>,
}

struct Held {
    id: u64,
    evict: Arc<Notify>,
}

/// One admitted connection; its slot is given back when the ticket is dropped.
pub struct Ticket {
    inner: Arc<Mutex<Slots>>,
    client: IpAddr,
    id: u64,
    evict: Arc<Notify>,
}

impl Gate {
    pub fn new(max_total: usize, max_per_client: usize) -> Gate {
        Gate {
            inner: Arc::default(),
            max_total,
            max_per_client,
        }
    }

    /// Admits a connection from `client`, or says why not.
    pub fn admit(&self, client: IpAddr) -> Result<Ticket, Refused> {
        let client = client.to_canonical();
        let mut slots = lock(&self.inner);
        let mine = slots.clients.get(&client).map_or(0, VecDeque::len);
        if mine >= self.max_per_client {
            return Err(Refused::PerClient);
        }
        if slots.total >= self.max_total && !slots.evict_for(mine) {
            return Err(Refused::Full);
        }
        Ok(slots.hold(client, self.inner.clone()))
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        lock(&self.inner).total
    }
}

impl Slots {
    /// Takes the oldest connection of the heaviest client when it holds more than one
    /// more than `mine`; `false` when no client does.
    fn evict_for(&mut self, mine: usize) -> bool {
        let heaviest = self
            .clients
            .iter_mut()
            .max_by_key(|(_, held)| held.len())
            .filter(|(_, held)| held.len() > mine + 1);
        let Some((_, held)) = heaviest else {
            return false;
        };
        if let Some(oldest) = held.pop_front() {
            oldest.evict.notify_one();
            self.total -= 1;
        }
        self.clients.retain(|_, held| !held.is_empty());
        true
    }

    fn hold(&mut self, client: IpAddr, inner: Arc<Mutex<Slots>>) -> Ticket {
        let id = self.next_id;
        self.next_id += 1;
        let evict = Arc::new(Notify::new());
        let held = Held {
            id,
            evict: evict.clone(),
        };
        self.clients.entry(client).or_default().push_back(held);
        self.total += 1;
        Ticket {
            inner,
            client,
            id,
            evict,
        }
    }

    /// Gives back a slot unless it was already taken by an eviction.
    fn release(&mut self, client: IpAddr, id: u64) {
        let Some(held) = self.clients.get_mut(&client) else {
            return;
        };
        if let Some(at) = held.iter().position(|h| h.id == id) {
            held.remove(at);
            self.total -= 1;
        }
        if held.is_empty() {
            self.clients.remove(&client);
        }
    }
}

impl Ticket {
    /// Resolves when a fairer client took this connection's slot: close it.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        lock(&self.inner).release(self.client, self.id);
    }
}

/// The bookkeeping stays consistent even if a holder panicked.
fn lock(m: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn caps_per_client_and_in_total() {
        let gate = Gate::new(3, 1);
        let a = gate.admit(ip(1)).unwrap();
        assert_eq!(gate.admit(ip(1)).err(), Some(Refused::PerClient));
        let _b = gate.admit(ip(2)).unwrap();
        let _c = gate.admit(ip(3)).unwrap();
        // Full, and nobody holds more than one over a newcomer's none.
        assert_eq!(gate.admit(ip(4)).err(), Some(Refused::Full));
        drop(a);
        assert_eq!(gate.open(), 2);
        let _d = gate.admit(ip(4)).unwrap();
        assert_eq!(gate.open(), 3);
    }

    #[tokio::test]
    async fn a_newcomer_takes_the_heaviest_clients_oldest_slot() {
        let gate = Gate::new(3, 3);
        let oldest = gate.admit(ip(1)).unwrap();
        let _b = gate.admit(ip(1)).unwrap();
        let _c = gate.admit(ip(1)).unwrap();
        let newcomer = gate.admit(ip(2)).expect("fairness lets it in");
        tokio::time::timeout(Duration::from_secs(1), oldest.evicted())
            .await
            .expect("the oldest is told to close");
        assert_eq!(gate.open(), 3);
        drop(oldest);
        assert_eq!(gate.open(), 3, "an evicted slot is not given back twice");
        drop(newcomer);
        assert_eq!(gate.open(), 2);
    }

    #[test]
    fn mapped_ipv6_is_the_same_client() {
        let gate = Gate::new(4, 1);
        let _a = gate.admit(ip(1)).unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(gate.admit(mapped).err(), Some(Refused::PerClient));
    }
}
