//! The dead-man's switch: silence is an alert, not an all-clear.
//!
//! A monitor is Missed when the latest tick its schedule promised, plus grace, has
//! passed and no run completed since that tick. Pure: time comes in as arguments.

use crate::rules::Schedule;
use chrono::{DateTime, Duration, Utc};

/// The latest scheduled tick at or before `t`.
pub fn previous_tick(schedule: &Schedule, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = t.with_timezone(&schedule.tz);
    let prev = schedule.cron.find_previous_occurrence(&local, true).ok()?;
    Some(prev.with_timezone(&Utc))
}

/// The next scheduled tick strictly after `t`.
pub fn next_tick(schedule: &Schedule, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = t.with_timezone(&schedule.tz);
    let next = schedule.cron.find_next_occurrence(&local, false).ok()?;
    Some(next.with_timezone(&Utc))
}

/// When the monitor is overdue, the moment by which it should have completed.
///
/// `watching_since` is when Ripple started watching this monitor: ticks at or before it
/// cannot be held against the monitor (catch-up runs them). Arithmetic is checked: a
/// grace beyond chrono's range (which `ripple check` refuses anyway) means never
/// overdue, not a panic.
pub fn missed(
    schedule: &Schedule,
    grace: std::time::Duration,
    last_completed: Option<DateTime<Utc>>,
    watching_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let grace = Duration::from_std(grace).ok()?;
    let tick = previous_tick(schedule, now.checked_sub_signed(grace)?)?;
    let due = tick.checked_add_signed(grace)?;
    let covered = last_completed.is_some_and(|done| done >= tick);
    (tick > watching_since && !covered && now >= due).then_some(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly() -> Schedule {
        Schedule {
            cron: "0 * * * *".parse().unwrap(),
            pattern: "0 * * * *".into(),
            tz: chrono_tz::Asia::Tokyo,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    const GRACE: std::time::Duration = std::time::Duration::from_secs(600);

    #[test]
    fn on_time_run_is_not_missed() {
        let done = Some(t("2026-03-01T10:02:00Z"));
        let since = t("2026-03-01T00:00:00Z");
        assert_eq!(
            missed(&hourly(), GRACE, done, since, t("2026-03-01T10:30:00Z")),
            None
        );
    }

    #[test]
    fn silence_past_grace_is_missed() {
        let done = Some(t("2026-03-01T09:02:00Z"));
        let since = t("2026-03-01T00:00:00Z");
        let due = missed(&hourly(), GRACE, done, since, t("2026-03-01T10:11:00Z"));
        assert_eq!(due, Some(t("2026-03-01T10:10:00Z")));
    }

    #[test]
    fn within_grace_is_not_missed_yet() {
        let done = Some(t("2026-03-01T09:02:00Z"));
        let since = t("2026-03-01T00:00:00Z");
        assert_eq!(
            missed(&hourly(), GRACE, done, since, t("2026-03-01T10:09:00Z")),
            None
        );
    }

    #[test]
    fn ticks_before_watching_do_not_count() {
        let since = t("2026-03-01T10:05:00Z");
        assert_eq!(
            missed(&hourly(), GRACE, None, since, t("2026-03-01T10:30:00Z")),
            None
        );
        assert!(missed(&hourly(), GRACE, None, since, t("2026-03-01T11:10:00Z")).is_some());
    }
}
