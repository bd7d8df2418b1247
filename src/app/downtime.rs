//! Downtime is one notice, not a storm. At start the serve loop compares the store's
//! last cycle with now: ticks that fell in between were missed while Ripple itself was
//! down. They raise no Missed (the catch-up runs decide each monitor's state); instead
//! one operations notice says how long, and how many monitors and ticks it cost.
//! Notices are stored, then sent each cycle until the destination takes them.

use super::App;
use crate::monitor::deadman;
use crate::rules::Monitor;
use chrono::{DateTime, Utc};

/// Ticks counted per monitor before the count says "at least".
const COUNT_CAP: usize = 10_000;

/// Monitors with at least one tick in `(from, to]`, and all such ticks.
pub fn missed_ticks(
    monitors: &[Monitor],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (usize, usize) {
    let mut hit = 0;
    let mut ticks = 0;
    for m in monitors {
        let mut at = from;
        let mut n = 0;
        while let Some(t) = deadman::next_tick(&m.schedule, at).filter(|t| *t <= to) {
            n += 1;
            at = t;
            if n >= COUNT_CAP {
                break;
            }
        }
        hit += usize::from(n > 0);
        ticks += n;
    }
    (hit, ticks)
}

/// The notice's text.
pub fn notice(from: DateTime<Utc>, to: DateTime<Utc>, monitors: usize, ticks: usize) -> String {
    let fmt = "%Y-%m-%d %H:%M:%S UTC";
    let m = if monitors == 1 { "monitor" } else { "monitors" };
    let t = if ticks == 1 { "tick" } else { "ticks" };
    format!(
        "Ripple was not running from {} to {}: {monitors} {m} missed {ticks} {t}; catching up now",
        from.format(fmt),
        to.format(fmt)
    )
}

impl App {
    /// Stores the downtime notice when ticks were missed since the last cycle.
    pub async fn note_downtime(&self) -> anyhow::Result<Option<String>> {
        let Some(last) = self.store.last_beat().await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let (monitors, ticks) = missed_ticks(&self.rules.monitors, last, now);
        if ticks == 0 {
            return Ok(None);
        }
        let text = notice(last, now, monitors, ticks);
        tracing::warn!(%last, monitors, ticks, "Ripple was down; catching up");
        self.store.add_ops_notice(&text, now).await?;
        Ok(Some(text))
    }

    /// Sends stored notices in order; one that fails stays for the next cycle.
    pub async fn send_ops_notices(&self) -> anyhow::Result<usize> {
        let mut sent = 0;
        for (id, text) in self.store.unsent_ops_notices().await? {
            if let Err(e) = self.ops.tell(&text).await {
                tracing::warn!(to = %self.ops.name(), error = %e, "ops notice not sent; retrying next cycle");
                break;
            }
            self.store.ops_notice_sent(id, self.clock.now()).await?;
            sent += 1;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_reads_at_a_glance() {
        let from = DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
            .unwrap()
            .to_utc();
        let to = from + chrono::Duration::seconds(35);
        assert_eq!(
            notice(from, to, 1, 3),
            "Ripple was not running from 2026-11-20 00:00:00 UTC to 2026-11-20 00:00:35 UTC: 1 monitor missed 3 ticks; catching up now"
        );
    }
}
