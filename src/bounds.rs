//! The documented bounds on every duration, count and size a user writes, and the one
//! way to check them.
//!
//! A leaf (imports nothing of Ripple): `config`, `rules` and `app` check against it, so
//! `ripple check` refuses a value out of range with the range in its message, and the
//! runner, the scheduler and the dead-man's switch only ever see values whose
//! arithmetic cannot overflow. A value out of range is an error, never clamped.
//! README's "Bounds" table lists the same numbers.

use std::time::Duration;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// A monitor's `timeout` (and `defaults.timeout`): a query may run 100 ms to 6 h.
pub const TIMEOUT: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(6 * HOUR));
/// A monitor's `grace` (and `defaults.grace`): up to 7 days late is not yet Missed.
pub const GRACE: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(7 * DAY));
/// `min_consecutive_failures`: at least 1 (0 is an error, not 1), at most 1,000.
pub const CONSECUTIVE_FAILURES: (u32, u32) = (1, 1000);
/// `null_ratio.min_history`: 1 to 1,000 measurements before judging (0 is an error).
pub const MIN_HISTORY: (u32, u32) = (1, 1000);
/// `sample`: 0 (row count only) to 10 rows; Ripple reports, it does not export.
pub const SAMPLE: (u32, u32) = (0, 10);
/// A `sql_file` is read up to 1 MiB.
pub const SQL_FILE_BYTES: u64 = 1024 * 1024;
/// A rule file is read up to 1 MiB.
pub const RULE_FILE_BYTES: u64 = 1024 * 1024;
/// A schedule must fire at least once in this many years (a `30 2` day never does).
pub const CRON_HORIZON_YEARS: i32 = 8;
/// A silence lasts 1 minute to 30 days.
pub const SILENCE: (Duration, Duration) =
    (Duration::from_secs(MINUTE), Duration::from_secs(30 * DAY));
/// Kind windows (`freshness.max_age`, `null_ratio.window`, `deadline.breach_window`).
pub const KIND_WINDOW: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(366 * DAY));
/// `defaults.repeat_interval`: re-announce every 1 minute to 30 days.
pub const REPEAT_INTERVAL: (Duration, Duration) =
    (Duration::from_secs(MINUTE), Duration::from_secs(30 * DAY));
/// `defaults.flap_window`: up to 30 days.
pub const FLAP_WINDOW: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(30 * DAY));
/// `defaults.concurrency`: 1 to 256 monitors at once.
pub const CONCURRENCY: (usize, usize) = (1, 256);
/// `serve.jitter`: runs spread over at most 1 hour after their tick.
pub const JITTER: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(HOUR));

/// `value` when it lies within `(min, max)`, else a message naming `what` and the range.
pub fn duration(
    what: &str,
    value: Duration,
    (min, max): (Duration, Duration),
) -> Result<Duration, String> {
    if (min..=max).contains(&value) {
        return Ok(value);
    }
    Err(format!(
        "{what} must be between {} and {} (got {})",
        human(min),
        human(max),
        human(value)
    ))
}

/// `value` when it lies within `(min, max)`, else a message naming `what` and the range.
pub fn count<T: PartialOrd + std::fmt::Display + Copy>(
    what: &str,
    value: T,
    (min, max): (T, T),
) -> Result<T, String> {
    if min <= value && value <= max {
        return Ok(value);
    }
    Err(format!(
        "{what} must be between {min} and {max} (got {value})"
    ))
}

/// A duration as people write it in a rule (`6h`, `30d`, `1d 12h`, `100ms`); beyond a
/// century, just that.
pub fn human(d: Duration) -> String {
    if d > Duration::from_secs(100 * 366 * DAY) {
        return "more than 100 years".into();
    }
    let secs = d.as_secs();
    let units = [(DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (1, "s")];
    let mut parts: Vec<String> = units
        .iter()
        .map(|(size, name)| (secs / size % unit_limit(*size), name))
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n}{name}"))
        .collect();
    match (parts.is_empty(), d.subsec_millis(), d.subsec_nanos()) {
        (_, ms, _) if ms > 0 => parts.push(format!("{ms}ms")),
        (true, _, ns) if ns > 0 => parts.push(format!("{ns}ns")),
        (true, _, _) => parts.push("0s".into()),
        _ => {}
    }
    parts.join(" ")
}

/// How many of a unit fit in the next larger one (days are not folded further).
fn unit_limit(size: u64) -> u64 {
    match size {
        DAY => u64::MAX,
        HOUR => 24,
        _ => 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_range_values_pass_unchanged() {
        let six_hours = Duration::from_secs(6 * HOUR);
        assert_eq!(duration("timeout", six_hours, TIMEOUT), Ok(six_hours));
        assert_eq!(count("sample", 10, SAMPLE), Ok(10));
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_range() {
        let e = duration("timeout", Duration::from_secs(u64::MAX), TIMEOUT).unwrap_err();
        assert_eq!(
            e,
            "timeout must be between 100ms and 6h (got more than 100 years)"
        );
        let e = count("min_consecutive_failures", 0, CONSECUTIVE_FAILURES).unwrap_err();
        assert_eq!(
            e,
            "min_consecutive_failures must be between 1 and 1000 (got 0)"
        );
        let e = duration("a silence", Duration::from_secs(31 * DAY), SILENCE).unwrap_err();
        assert_eq!(e, "a silence must be between 1m and 30d (got 31d)");
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(human(Duration::from_secs(36 * HOUR + 90)), "1d 12h 1m 30s");
        assert_eq!(human(Duration::from_millis(100)), "100ms");
        assert_eq!(human(Duration::from_nanos(1)), "1ns");
        assert_eq!(human(Duration::ZERO), "0s");
    }

    #[test]
    fn the_bounds_are_ordered() {
        for (lo, hi) in [
            TIMEOUT,
            GRACE,
            SILENCE,
            KIND_WINDOW,
            REPEAT_INTERVAL,
            FLAP_WINDOW,
            JITTER,
        ] {
            assert!(lo < hi);
        }
        const { assert!(SQL_FILE_BYTES > 0 && CRON_HORIZON_YEARS > 4) };
    }
}
