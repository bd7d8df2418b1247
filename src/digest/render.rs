//! Digest → text: the console sink prints it; a Slack sink can post it or build
//! blocks from the same [`Digest`].

use super::{Digest, Item, ItemKind};
use chrono::Duration;
use std::fmt::Write;

/// The whole digest as text; an all-clear is one line that says as of when.
pub fn text(d: &Digest) -> String {
    let when = d.at.with_timezone(&d.timezone).format("%Y-%m-%d %H:%M %Z");
    if d.is_all_clear() {
        return format!(
            "Ripple digest `{}` for {}: all clear, nothing open (as of {when})\n",
            d.name, d.channel
        );
    }
    let mut out = format!(
        "Ripple digest `{}` for {} ({when}): {} open",
        d.name,
        d.channel,
        d.total()
    );
    if d.stale() > 0 {
        let _ = write!(
            out,
            ", {} open longer than {}",
            d.stale(),
            age(d.stale_after)
        );
    }
    out.push('\n');
    for g in &d.groups {
        let _ = writeln!(out, "\n{} · {}", g.team, g.severity);
        for item in &g.items {
            let _ = writeln!(out, "  {}", line(item));
        }
    }
    out
}

fn line(i: &Item) -> String {
    let c = &i.candidate;
    let what = match c.kind {
        ItemKind::Incident => c.condition.clone(),
        ItemKind::Issue => "issue still open (recovered)".into(),
    };
    let mut s = format!(
        "{}{} {} — {what}, open {}",
        if i.stale { "STALE " } else { "• " },
        c.reference,
        c.monitor_id,
        age(i.age)
    );
    if !c.owners.is_empty() {
        let owners: Vec<String> = c.owners.iter().map(|o| format!("@{o}")).collect();
        let _ = write!(s, ", owners {}", owners.join(" "));
    }
    if let Some(link) = &c.link {
        let _ = write!(s, " <{link}>");
    }
    s
}

/// `3d 4h`, `5h 10m`, `12m`: two units at most, enough to read at a glance.
pub fn age(d: Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, m) = (mins / 1440, (mins / 60) % 24, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{m}m"),
        (0, h) => format!("{h}h {m}m"),
        (d, h) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(Duration::minutes(12)), "12m");
        assert_eq!(age(Duration::minutes(310)), "5h 10m");
        assert_eq!(age(Duration::hours(76)), "3d 4h");
    }
}
