//! Incident lifecycle: the pure decision of what one run means for an incident.
//!
//! Ok → Failing | Erroring | Missed → Resolved. People hear about transitions (open,
//! a change of condition, resolve) and a reminder every repeat interval — never about
//! every failing run. Pure: no IO. [`decide`] composes the steps below; the store reads
//! its [`Facts`] and writes its [`Plan`] in one transaction.

mod decide;

pub use decide::{Facts, Plan, PlannedEvent, decide};

use crate::config::Severity;
use crate::monitor::Outcome;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Which way a monitor is unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Failing,
    Erroring,
    Missed,
}

impl Condition {
    pub fn of(outcome: &Outcome) -> Option<Condition> {
        match outcome {
            Outcome::Pass => None,
            Outcome::Fail { .. } => Some(Condition::Failing),
            Outcome::Error { .. } => Some(Condition::Erroring),
            Outcome::Missed { .. } => Some(Condition::Missed),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Failing => "failing",
            Condition::Erroring => "erroring",
            Condition::Missed => "missed",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        [Condition::Failing, Condition::Erroring, Condition::Missed]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// The identity of an incident: one open incident per fingerprint, ever.
pub fn fingerprint(monitor_id: &str) -> String {
    format!("monitor:{monitor_id}")
}

/// What triage needs to know about the open incident, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub id: i64,
    pub condition: Condition,
    pub last_notified_at: DateTime<Utc>,
    /// The incident's current severity (it only rises while open).
    pub severity: Severity,
    /// Someone acknowledged it: reminders stay on the timeline.
    pub acked: bool,
}

/// Per-monitor knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The run's severity (a breached deadline raises it).
    pub severity: Severity,
    pub min_consecutive_failures: u32,
    pub repeat_interval: std::time::Duration,
    /// Flap damping; None turns it off.
    pub flap: Option<Flap>,
}

/// Flap damping: once `threshold` incidents of one monitor were opened within
/// `window`, the open one is held (open, quiet) on a pass instead of resolving, so a
/// monitor that ping-pongs stops paging on every bounce. It resolves on the first pass
/// after the window has slid past enough of those openings. `threshold` 0 is off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flap {
    pub threshold: u32,
    pub window: std::time::Duration,
}

/// Why an update is worth telling people about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateReason {
    /// e.g. it was failing and now the query errors.
    ConditionChanged,
    /// Still broken after a repeat interval.
    Reminder,
}

/// What happened to an incident: the events people are told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    Updated(UpdateReason),
    Resolved,
    /// Another monitor, downstream of this incident's tables, fails too.
    AlsoAffected,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Updated(UpdateReason::ConditionChanged) => "changed",
            EventKind::Updated(UpdateReason::Reminder) => "reminder",
            EventKind::Resolved => "resolved",
            EventKind::AlsoAffected => "also_affected",
        }
    }
}

/// What one run means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Healthy, nothing open.
    Nothing,
    /// Failing, but not yet `min_consecutive_failures` times in a row.
    Pending {
        failures: u32,
    },
    Open(Condition),
    /// Still open; `notify` says whether people hear about it.
    Update {
        condition: Condition,
        notify: Option<UpdateReason>,
    },
    Resolve,
    /// Would open, but an upstream incident already covers it: joins that one as
    /// "also affected" instead of paging separately (lineage inhibition).
    Joined {
        incident_id: i64,
    },
}

/// Lineage inhibition: an opening whose broken tables lie downstream of another open
/// incident's joins that incident instead.
pub fn inhibit(decision: Decision, upstream: Option<i64>) -> Decision {
    match (decision, upstream) {
        (Decision::Open(_), Some(incident_id)) => Decision::Joined { incident_id },
        (d, _) => d,
    }
}

/// Flap damping: a resolve of a monitor with `recent_openings` (incidents opened within
/// the flap window, the open one included) at or over the threshold is held open
/// quietly, keeping the condition it had.
pub fn damp(
    decision: Decision,
    open: Option<&OpenIncident>,
    recent_openings: u32,
    policy: &Policy,
) -> Decision {
    let flapping = policy
        .flap
        .is_some_and(|f| f.threshold > 0 && recent_openings >= f.threshold);
    match (decision, open) {
        (Decision::Resolve, Some(inc)) if flapping => Decision::Update {
            condition: inc.condition,
            notify: None,
        },
        (d, _) => d,
    }
}

/// A rise in severity on an open incident (a deadline breached) is news at once, even
/// when the condition stays the same.
pub fn escalate(decision: Decision, severity_raised: bool) -> Decision {
    match decision {
        Decision::Update {
            condition,
            notify: None,
        } if severity_raised => Decision::Update {
            condition,
            notify: Some(UpdateReason::ConditionChanged),
        },
        d => d,
    }
}

/// Decides what a run means. `failures` counts consecutive failing runs including this one.
pub fn triage(
    open: Option<&OpenIncident>,
    failures: u32,
    outcome: &Outcome,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Decision {
    match (open, Condition::of(outcome)) {
        (None, None) => Decision::Nothing,
        (Some(_), None) => Decision::Resolve,
        (None, Some(c)) if failures >= policy.min_consecutive_failures.max(1) => Decision::Open(c),
        (None, Some(_)) => Decision::Pending { failures },
        (Some(inc), Some(c)) => Decision::Update {
            condition: c,
            notify: update_reason(inc, c, policy, now),
        },
    }
}

fn update_reason(
    inc: &OpenIncident,
    c: Condition,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Option<UpdateReason> {
    let repeat = Duration::from_std(policy.repeat_interval).unwrap_or(Duration::MAX);
    if inc.condition != c {
        Some(UpdateReason::ConditionChanged)
    } else if now - inc.last_notified_at >= repeat {
        Some(UpdateReason::Reminder)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        severity: Severity::Medium,
        min_consecutive_failures: 1,
        repeat_interval: std::time::Duration::from_secs(3600),
        flap: Some(Flap {
            threshold: 3,
            window: std::time::Duration::from_secs(3600),
        }),
    };

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(min)
    }

    fn fail() -> Outcome {
        Outcome::Fail {
            rows: 2,
            message: None,
            sample: vec![],
        }
    }

    fn open(c: Condition, notified: i64) -> OpenIncident {
        OpenIncident {
            id: 1,
            condition: c,
            last_notified_at: t(notified),
            severity: Severity::Medium,
            acked: false,
        }
    }

    #[test]
    fn healthy_with_nothing_open_is_nothing() {
        assert_eq!(
            triage(None, 0, &Outcome::Pass, &POLICY, t(0)),
            Decision::Nothing
        );
    }

    #[test]
    fn first_failure_opens() {
        let d = triage(None, 1, &fail(), &POLICY, t(0));
        assert_eq!(d, Decision::Open(Condition::Failing));
    }

    #[test]
    fn consecutive_threshold_holds_back_blips() {
        let p = Policy {
            min_consecutive_failures: 3,
            ..POLICY
        };
        assert_eq!(
            triage(None, 2, &fail(), &p, t(0)),
            Decision::Pending { failures: 2 }
        );
        assert_eq!(
            triage(None, 3, &fail(), &p, t(0)),
            Decision::Open(Condition::Failing)
        );
    }

    #[test]
    fn repeats_are_quiet_until_the_repeat_interval() {
        let inc = open(Condition::Failing, 0);
        let quiet = triage(Some(&inc), 2, &fail(), &POLICY, t(30));
        assert_eq!(
            quiet,
            Decision::Update {
                condition: Condition::Failing,
                notify: None
            }
        );
        let remind = triage(Some(&inc), 3, &fail(), &POLICY, t(60));
        assert_eq!(
            remind,
            Decision::Update {
                condition: Condition::Failing,
                notify: Some(UpdateReason::Reminder)
            }
        );
    }

    #[test]
    fn a_change_of_condition_is_told_at_once() {
        let inc = open(Condition::Failing, 0);
        let err = Outcome::Error {
            message: "boom".into(),
        };
        let d = triage(Some(&inc), 2, &err, &POLICY, t(1));
        assert_eq!(
            d,
            Decision::Update {
                condition: Condition::Erroring,
                notify: Some(UpdateReason::ConditionChanged)
            }
        );
    }

    #[test]
    fn an_opening_downstream_of_an_open_incident_joins_it() {
        let open = Decision::Open(Condition::Failing);
        assert_eq!(inhibit(open, Some(7)), Decision::Joined { incident_id: 7 });
        assert_eq!(inhibit(open, None), open);
        assert_eq!(inhibit(Decision::Resolve, Some(7)), Decision::Resolve);
    }

    #[test]
    fn a_flapping_monitor_is_held_open_quietly() {
        let inc = open(Condition::Failing, 0);
        let resolve = triage(Some(&inc), 0, &Outcome::Pass, &POLICY, t(5));
        assert_eq!(damp(resolve, Some(&inc), 2, &POLICY), Decision::Resolve);
        let held = Decision::Update {
            condition: Condition::Failing,
            notify: None,
        };
        assert_eq!(damp(resolve, Some(&inc), 3, &POLICY), held);
        let off = Policy {
            flap: None,
            ..POLICY
        };
        assert_eq!(damp(resolve, Some(&inc), 9, &off), Decision::Resolve);
        let opening = Decision::Open(Condition::Failing);
        assert_eq!(damp(opening, None, 9, &POLICY), opening);
    }

    #[test]
    fn a_raised_severity_is_told_at_once() {
        let quiet = Decision::Update {
            condition: Condition::Failing,
            notify: None,
        };
        let told = Decision::Update {
            condition: Condition::Failing,
            notify: Some(UpdateReason::ConditionChanged),
        };
        assert_eq!(escalate(quiet, true), told);
        assert_eq!(escalate(quiet, false), quiet);
    }

    #[test]
    fn pass_resolves() {
        let inc = open(Condition::Erroring, 0);
        assert_eq!(
            triage(Some(&inc), 0, &Outcome::Pass, &POLICY, t(5)),
            Decision::Resolve
        );
    }
}
