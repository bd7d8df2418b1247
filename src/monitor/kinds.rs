//! The judgement a monitor kind needs beyond "rows are failures". Pure.
//!
//! - `freshness` and `deadline` get their moment as a query parameter (`@stale_before`,
//!   `@deadline`), computed from the run's start so the SQL never reads a clock.
//! - `deadline`: rows before the deadline are *at risk*; at or after it (within
//!   `breach_window`) they are a *breach*, and the incident's severity escalates.
//! - `null_ratio`: the query measures; the ratio is judged against the mean of the
//!   monitor's own recent measurements (kept in the store).

use super::Outcome;
use crate::rules::kinds::{Deadline, NullRatio};
use crate::rules::{Check, Severity};
use crate::warehouse::ParamValue;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// The kind's own named parameters for a run starting at `run_time`.
pub fn params(check: &Check, run_time: DateTime<Utc>) -> Vec<(String, ParamValue)> {
    match check {
        Check::Freshness { spec, .. } => {
            // Checked: an age beyond chrono's range means "anything is fresh enough".
            let stale_before = Duration::from_std(spec.max_age)
                .ok()
                .and_then(|age| run_time.checked_sub_signed(age))
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            vec![("stale_before".into(), ParamValue::Timestamp(stale_before))]
        }
        Check::Deadline { spec, .. } => {
            let due = phase(spec, run_time).due();
            vec![("deadline".into(), ParamValue::Timestamp(due))]
        }
        _ => vec![],
    }
}

/// Rows the warehouse must return at least: the built-in kinds read their one row.
pub fn min_sample(check: &Check) -> u32 {
    match check {
        Check::Freshness { .. } | Check::RowCount { .. } | Check::NullRatio { .. } => 1,
        _ => 0,
    }
}

/// Where a run stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the deadline `due`.
    AtRisk(DateTime<Utc>),
    /// `due` has passed (less than `breach_window` ago).
    Breach(DateTime<Utc>),
}

impl Phase {
    pub fn due(self) -> DateTime<Utc> {
        match self {
            Phase::AtRisk(d) | Phase::Breach(d) => d,
        }
    }
}

/// The deadline on local date `day`; a time skipped by DST falls just after the gap.
fn deadline_on(spec: &Deadline, day: NaiveDate) -> Option<DateTime<Utc>> {
    let local = day.and_time(spec.at);
    (0..=180).find_map(|m| {
        let t = local + Duration::minutes(m);
        spec.tz
            .from_local_datetime(&t)
            .earliest()
            .map(|d| d.to_utc())
    })
}

/// A breach while the latest deadline passed less than `breach_window` ago, else at
/// risk against the next one.
pub fn phase(spec: &Deadline, t: DateTime<Utc>) -> Phase {
    let today = t.with_timezone(&spec.tz).date_naive();
    let days = [-1, 0, 1, 2].map(|d| today.checked_add_signed(Duration::days(d)));
    let deadlines: Vec<DateTime<Utc>> = days
        .iter()
        .flatten()
        .filter_map(|d| deadline_on(spec, *d))
        .collect();
    let window = Duration::from_std(spec.breach_window).unwrap_or(Duration::MAX);
    let passed = deadlines.iter().rev().find(|d| **d <= t);
    match passed {
        Some(d) if t - *d < window => Phase::Breach(*d),
        _ => Phase::AtRisk(deadlines.into_iter().find(|d| *d > t).unwrap_or(t)),
    }
}

/// A deadline run's outcome, and the severity its incident should have.
pub fn judge_deadline(
    spec: &Deadline,
    severity: Severity,
    outcome: Outcome,
    started_at: DateTime<Utc>,
) -> (Outcome, Severity) {
    let Outcome::Fail { rows, sample, .. } = outcome else {
        return (outcome, severity);
    };
    let p = phase(spec, started_at);
    let local = p
        .due()
        .with_timezone(&spec.tz)
        .format("%Y-%m-%d %H:%M:%S %Z");
    let (message, severity) = match p {
        Phase::AtRisk(due) => {
            let left = crate::digest::render::age(due - started_at);
            (
                format!("deadline at risk: {rows} unfinished, due {local} (in {left})"),
                severity,
            )
        }
        Phase::Breach(_) => (
            format!("deadline breached: {rows} unfinished at {local}"),
            escalate(severity),
        ),
    };
    let outcome = Outcome::Fail {
        rows,
        message: Some(message),
        sample,
    };
    (outcome, severity)
}

/// One step more severe; critical stays critical.
pub fn escalate(s: Severity) -> Severity {
    match s {
        Severity::Critical | Severity::High => Severity::Critical,
        Severity::Medium => Severity::High,
        Severity::Low => Severity::Medium,
        Severity::Info => Severity::Low,
    }
}

/// Freshness and row-count failures say what they saw, from their one row.
pub fn describe(check: &Check, outcome: Outcome) -> Outcome {
    let Outcome::Fail {
        rows,
        sample,
        message: None,
    } = outcome
    else {
        return outcome;
    };
    let row = sample.first().cloned().unwrap_or_default();
    let message = match check {
        Check::Freshness { spec, .. } => Some(match row.get("newest") {
            Some(serde_json::Value::Null) | None => {
                format!("{} is empty: no {} at all", spec.table, spec.column)
            }
            Some(v) => format!(
                "{} is stale: newest {} is {}, older than {}",
                spec.table,
                spec.column,
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
                humantime::format_duration(spec.max_age)
            ),
        }),
        Check::RowCount { spec, .. } => row.get("row_count").map(|n| {
            let lo = spec.min.map_or("-".into(), |v| v.to_string());
            let hi = spec.max.map_or("-".into(), |v| v.to_string());
            format!("{} has {n} rows, outside [{lo}, {hi}]", spec.table)
        }),
        _ => None,
    };
    Outcome::Fail {
        rows,
        message,
        sample,
    }
}

/// The measured null ratio from a `null_ratio` run's one row (`total`, `nulls`); None
/// when the run did not complete. An empty table has ratio 0.
pub fn measured_null_ratio(outcome: &Outcome) -> Option<f64> {
    let Outcome::Fail { sample, .. } = outcome else {
        return None;
    };
    let row = sample.first()?;
    let num = |k: &str| {
        row.get(k)
            .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
    };
    let total = num("total")?;
    let nulls = num("nulls").unwrap_or(0.0);
    Some(if total > 0.0 { nulls / total } else { 0.0 })
}

/// Judges a measured ratio against the mean of `history` (older measurements within
/// the window). Too little history only learns: it passes.
pub fn judge_null_ratio(spec: &NullRatio, current: f64, history: &[f64]) -> Outcome {
    if history.len() < spec.min_history as usize {
        return Outcome::Pass;
    }
    let mean = history.iter().sum::<f64>() / history.len() as f64;
    let shift = (current - mean).abs();
    if shift <= spec.max_shift {
        return Outcome::Pass;
    }
    let days = spec.window.as_secs_f64() / 86400.0;
    Outcome::Fail {
        rows: 1,
        message: Some(format!(
            "null ratio of {}.{} is {current:.2}, against {mean:.2} on average over {days:.0}d (shift {shift:.2} > {:.2})",
            spec.table, spec.column, spec.max_shift
        )),
        sample: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn tokyo_midnight() -> Deadline {
        Deadline {
            at: NaiveTime::from_hms_opt(23, 59, 59).unwrap(),
            tz: chrono_tz::Asia::Tokyo,
            breach_window: std::time::Duration::from_secs(6 * 3600),
        }
    }

    fn fail(rows: u64) -> Outcome {
        Outcome::Fail {
            rows,
            message: None,
            sample: vec![],
        }
    }

    #[test]
    fn before_the_deadline_is_at_risk_and_at_it_a_breach_that_escalates() {
        let spec = tokyo_midnight();
        // 23:59:59 Tokyo on 2026-11-20 is 14:59:59 UTC.
        let due = t("2026-11-20T14:59:59Z");
        assert_eq!(phase(&spec, t("2026-11-20T12:00:00Z")), Phase::AtRisk(due));
        assert_eq!(phase(&spec, due), Phase::Breach(due));
        assert_eq!(phase(&spec, t("2026-11-20T20:00:00Z")), Phase::Breach(due));
        // Past the breach window: at risk against the next day's deadline.
        let next = t("2026-11-21T14:59:59Z");
        assert_eq!(phase(&spec, t("2026-11-20T21:00:00Z")), Phase::AtRisk(next));

        let (o, sev) = judge_deadline(&spec, Severity::Medium, fail(3), t("2026-11-20T12:00:00Z"));
        assert_eq!(sev, Severity::Medium);
        assert_eq!(
            o.summary(),
            "deadline at risk: 3 unfinished, due 2026-11-20 23:59:59 JST (in 2h 59m)"
        );
        let (o, sev) = judge_deadline(&spec, Severity::Medium, fail(3), due);
        assert_eq!(sev, Severity::High);
        assert!(
            o.summary().contains("deadline breached: 3 unfinished"),
            "{}",
            o.summary()
        );
        let (o, sev) = judge_deadline(&spec, Severity::Medium, Outcome::Pass, due);
        assert_eq!((o, sev), (Outcome::Pass, Severity::Medium));
    }

    #[test]
    fn a_deadline_in_a_dst_gap_falls_after_it() {
        let spec = Deadline {
            at: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            tz: chrono_tz::Europe::Paris,
            breach_window: std::time::Duration::from_secs(3600),
        };
        // 2026-03-29 02:30 does not exist in Paris: the deadline is 03:00 CEST.
        let p = phase(&spec, t("2026-03-28T23:00:00Z"));
        assert_eq!(p, Phase::AtRisk(t("2026-03-29T01:00:00Z")));
    }

    #[test]
    fn null_ratio_learns_then_flags_a_sudden_shift() {
        let spec = NullRatio {
            table: "shop.orders".into(),
            column: "processed_at".into(),
            window: std::time::Duration::from_secs(7 * 86400),
            max_shift: 0.2,
            filter: None,
            min_history: 3,
        };
        assert_eq!(judge_null_ratio(&spec, 0.9, &[0.0, 0.0]), Outcome::Pass);
        assert_eq!(
            judge_null_ratio(&spec, 0.15, &[0.0, 0.05, 0.1]),
            Outcome::Pass
        );
        let o = judge_null_ratio(&spec, 0.5, &[0.0, 0.05, 0.1]);
        assert!(
            o.summary().contains("is 0.50, against 0.05"),
            "{}",
            o.summary()
        );
        let row = Outcome::Fail {
            rows: 1,
            message: None,
            sample: vec![serde_json::json!({"total": 400, "nulls": 100})],
        };
        assert_eq!(measured_null_ratio(&row), Some(0.25));
    }
}
