//! `decide`: everything one run means for its incident, in one pure call.
//!
//! The store reads the [`Facts`] inside the run's transaction, calls [`decide`], and
//! writes exactly what the returned [`Plan`] names. Composition order matters and is
//! fixed here: triage ▸ inhibition ▸ flap damping ▸ severity escalation ▸ the ack rule.

use super::{Decision, EventKind, OpenIncident, Policy, UpdateReason};
use super::{damp, escalate, inhibit, triage};
use crate::config::Severity;
use crate::monitor::Outcome;
use chrono::{DateTime, Utc};

/// What the store knows when a run arrives, read in the run's transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// The monitor's open incident, if any.
    pub open: Option<OpenIncident>,
    /// Consecutive failing runs, this one included.
    pub failures: u32,
    /// Incidents of this monitor opened within the flap window (the open one included).
    pub recent_openings: u32,
    /// The detail of the open incident's latest timeline entry.
    pub last_event_detail: Option<String>,
    /// An active silence holds this monitor's notifications back.
    pub silenced: bool,
}

/// What the store writes for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub decision: Decision,
    /// The open incident's severity rises to this (a breached deadline).
    pub raise_severity: Option<Severity>,
    /// The timeline entry and its notification, when the run is worth one.
    pub event: Option<PlannedEvent>,
}

/// One timeline entry and who hears of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedEvent {
    /// On the timeline, and one outbox row per destination.
    Told(EventKind),
    /// On the timeline as "… (silenced)"; nobody is told.
    Silenced(EventKind),
    /// A still-failing run that says something new; timeline only ("updated").
    Quiet,
}

impl PlannedEvent {
    /// The timeline's `kind` column.
    pub fn timeline_kind(self) -> String {
        match self {
            PlannedEvent::Told(k) => k.as_str().to_string(),
            PlannedEvent::Silenced(k) => format!("{} (silenced)", k.as_str()),
            PlannedEvent::Quiet => "updated".to_string(),
        }
    }

    /// The event people are told of, if any.
    pub fn told(self) -> Option<EventKind> {
        match self {
            PlannedEvent::Told(k) => Some(k),
            _ => None,
        }
    }
}

/// Decides what a run means and what must be written for it.
pub fn decide(
    facts: &Facts,
    outcome: &Outcome,
    policy: &Policy,
    upstream: Option<i64>,
    now: DateTime<Utc>,
) -> Plan {
    let open = facts.open.as_ref();
    let decision = triage(open, facts.failures, outcome, policy, now);
    let decision = inhibit(decision, upstream);
    let decision = match open {
        Some(_) => damp(decision, open, facts.recent_openings, policy),
        None => decision,
    };
    let raise = open
        .filter(|inc| policy.severity < inc.severity)
        .filter(|_| matches!(decision, Decision::Update { .. }))
        .map(|_| policy.severity);
    let decision = escalate(decision, raise.is_some());
    let decision = quiet_if_acked(open, decision);
    Plan {
        decision,
        raise_severity: raise,
        event: event_of(decision, facts, outcome),
    }
}

/// While an incident is acknowledged, its reminders stay on the timeline only: someone
/// is on it. Changes of condition and recovery are still told.
fn quiet_if_acked(open: Option<&OpenIncident>, decision: Decision) -> Decision {
    match (open, decision) {
        (
            Some(inc),
            Decision::Update {
                condition,
                notify: Some(UpdateReason::Reminder),
            },
        ) if inc.acked => Decision::Update {
            condition,
            notify: None,
        },
        (_, d) => d,
    }
}

/// The timeline entry a decision makes. A quiet update is recorded only when it says
/// something new (another row count, another error), so the timeline stays readable.
fn event_of(decision: Decision, facts: &Facts, outcome: &Outcome) -> Option<PlannedEvent> {
    let told = |kind| {
        Some(if facts.silenced {
            PlannedEvent::Silenced(kind)
        } else {
            PlannedEvent::Told(kind)
        })
    };
    match decision {
        Decision::Nothing | Decision::Pending { .. } => None,
        Decision::Open(_) => told(EventKind::Opened),
        Decision::Resolve => told(EventKind::Resolved),
        Decision::Joined { .. } => told(EventKind::AlsoAffected),
        Decision::Update {
            notify: Some(r), ..
        } => told(EventKind::Updated(r)),
        Decision::Update { notify: None, .. } => {
            let new = facts.last_event_detail.as_deref() != Some(outcome.summary().as_str());
            new.then_some(PlannedEvent::Quiet)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Condition, Flap};
    use chrono::Duration;

    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

    fn policy(min: u32, severity: Severity) -> Policy {
        Policy {
            severity,
            min_consecutive_failures: min,
            repeat_interval: HOUR,
            flap: Some(Flap {
                threshold: 3,
                window: HOUR,
            }),
        }
    }

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(min)
    }

    fn fail(rows: u64) -> Outcome {
        Outcome::Fail {
            rows,
            message: None,
            sample: vec![],
        }
    }

    fn err() -> Outcome {
        Outcome::Error {
            message: "no such column".into(),
        }
    }

    fn missed() -> Outcome {
        Outcome::Missed { expected_by: t(0) }
    }

    /// An open failing incident, notified at minute 0, last saying "2 rows".
    fn open(f: impl FnOnce(&mut OpenIncident)) -> Facts {
        let mut inc = OpenIncident {
            id: 7,
            condition: Condition::Failing,
            last_notified_at: t(0),
            severity: Severity::Medium,
            acked: false,
        };
        f(&mut inc);
        Facts {
            open: Some(inc),
            failures: 2,
            recent_openings: 1,
            last_event_detail: Some(fail(2).summary()),
            silenced: false,
        }
    }

    fn none(failures: u32) -> Facts {
        Facts {
            failures,
            ..Facts::default()
        }
    }

    fn upd(c: Condition, r: Option<UpdateReason>) -> Decision {
        Decision::Update {
            condition: c,
            notify: r,
        }
    }

    use Condition::*;
    use PlannedEvent::*;

    type Case = (
        &'static str,
        Facts,
        Outcome,
        Policy,
        Option<i64>,
        i64,
        Decision,
        Option<Severity>,
        Option<PlannedEvent>,
    );

    /// Every transition: (name, facts, outcome, policy, upstream, minute) →
    /// (decision, severity raise, event).
    #[test]
    fn every_transition() {
        let med = policy(1, Severity::Medium);
        let high = policy(1, Severity::High);
        let three = policy(3, Severity::Medium);
        let remind = EventKind::Updated(UpdateReason::Reminder);
        let changed = EventKind::Updated(UpdateReason::ConditionChanged);
        let silenced = |mut f: Facts| {
            f.silenced = true;
            f
        };
        let flapping = |mut f: Facts| {
            f.recent_openings = 3;
            f
        };
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("healthy, nothing open", none(0), Outcome::Pass, med, None, 0, Decision::Nothing, None, None),
            ("a blip under the threshold", none(2), fail(2), three, None, 0, Decision::Pending { failures: 2 }, None, None),
            ("the threshold reached opens", none(3), fail(2), three, None, 0, Decision::Open(Failing), None, Some(Told(EventKind::Opened))),
            ("an error opens erroring", none(1), err(), med, None, 0, Decision::Open(Erroring), None, Some(Told(EventKind::Opened))),
            ("a missed run opens missed", none(1), missed(), med, None, 0, Decision::Open(Missed), None, Some(Told(EventKind::Opened))),
            ("downstream of an open incident joins it", none(1), fail(2), med, Some(3), 0, Decision::Joined { incident_id: 3 }, None, Some(Told(EventKind::AlsoAffected))),
            ("opened while silenced", silenced(none(1)), fail(2), med, None, 0, Decision::Open(Failing), None, Some(Silenced(EventKind::Opened))),
            ("pass resolves", open(|_| {}), Outcome::Pass, med, None, 5, Decision::Resolve, None, Some(Told(EventKind::Resolved))),
            ("resolved while silenced", silenced(open(|_| {})), Outcome::Pass, med, None, 5, Decision::Resolve, None, Some(Silenced(EventKind::Resolved))),
            ("a flapping pass is held open quietly", flapping(open(|_| {})), Outcome::Pass, med, None, 5, upd(Failing, None), None, Some(Quiet)),
            ("the same failure again is silent", open(|_| {}), fail(2), med, None, 30, upd(Failing, None), None, None),
            ("a new row count is recorded quietly", open(|_| {}), fail(5), med, None, 30, upd(Failing, None), None, Some(Quiet)),
            ("after the repeat interval a reminder", open(|_| {}), fail(2), med, None, 60, upd(Failing, Some(UpdateReason::Reminder)), None, Some(Told(remind))),
            ("acknowledged: no reminder", open(|i| i.acked = true), fail(2), med, None, 60, upd(Failing, None), None, None),
            ("a change of condition is told", open(|_| {}), err(), med, None, 1, upd(Erroring, Some(UpdateReason::ConditionChanged)), None, Some(Told(changed))),
            ("acknowledged: a change is still told", open(|i| i.acked = true), err(), med, None, 1, upd(Erroring, Some(UpdateReason::ConditionChanged)), None, Some(Told(changed))),
            ("a raised severity is told at once", open(|_| {}), fail(2), high, None, 1, upd(Failing, Some(UpdateReason::ConditionChanged)), Some(Severity::High), Some(Told(changed))),
            ("a lower severity never lowers it", open(|i| i.severity = Severity::Critical), fail(2), high, None, 1, upd(Failing, None), None, None),
            ("inhibition never touches an open incident", open(|_| {}), fail(2), med, Some(3), 1, upd(Failing, None), None, None),
        ];
        for (name, facts, outcome, policy, upstream, minute, decision, raise, event) in cases {
            let plan = decide(&facts, &outcome, &policy, upstream, t(minute));
            assert_eq!(
                plan,
                Plan {
                    decision,
                    raise_severity: raise,
                    event
                },
                "{name}"
            );
        }
    }

    #[test]
    fn timeline_kinds() {
        assert_eq!(
            PlannedEvent::Told(EventKind::Opened).timeline_kind(),
            "opened"
        );
        assert_eq!(
            PlannedEvent::Silenced(EventKind::Resolved).timeline_kind(),
            "resolved (silenced)"
        );
        assert_eq!(PlannedEvent::Quiet.timeline_kind(), "updated");
        assert_eq!(PlannedEvent::Quiet.told(), None);
    }
}
