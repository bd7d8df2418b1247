//! Applying a run to the store: read the facts, let the caller decide, write what the
//! plan names — all in one transaction, so a crash leaves either all or none of it.
//!
//! The store takes no decision here: [`Planner::plan`] (the app, through
//! `incident::decide`) says what the run means, and [`Planner::payload`] builds each
//! notification. The store only persists.

use super::{Store, from_ms, ms};
use crate::config::Severity;
use crate::incident::{Condition, Decision, EventKind, Facts, OpenIncident, Plan, PlannedEvent};
use crate::monitor::Outcome;
use crate::monitor::runner::RunReport;
use chrono::{DateTime, Utc};
use sqlx::{Row, Sqlite, Transaction};

/// What applying a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub decision: Decision,
    pub incident_id: Option<i64>,
    /// Outbox rows written (one per destination when people are told).
    pub enqueued: usize,
}

/// Whether an incident is still open. Stored as `open` / `resolved`; any other value
/// is an error, never a silent default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Status> {
        match s {
            "open" => Ok(Status::Open),
            "resolved" => Ok(Status::Resolved),
            other => anyhow::bail!("unknown incident status `{other}` in the state store"),
        }
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    pub id: i64,
    pub fingerprint: String,
    pub monitor_id: String,
    pub team: String,
    pub severity: Severity,
    pub status: Status,
    pub condition: Condition,
    pub outcome: Outcome,
    pub failures: i64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl IncidentRow {
    pub fn is_open(&self) -> bool {
        self.status == Status::Open
    }
}

/// Monitor facts kept alongside runs, for the dead-man's switch and triage.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorInfo {
    pub consecutive_failures: u32,
    pub last_outcome: String,
    pub last_completed_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
}

type Tx<'c> = Transaction<'c, Sqlite>;

/// Which incident a run belongs to, and what the facts read needs.
#[derive(Debug, Clone)]
pub struct RunKey<'a> {
    pub monitor_id: &'a str,
    pub team: &'a str,
    pub fingerprint: String,
    /// Severity of a newly opened incident.
    pub severity: Severity,
    /// Openings are counted over this window (flap damping); None counts none.
    pub flap_window: Option<std::time::Duration>,
    /// Where notifications go (one outbox row each).
    pub destinations: &'a [&'a str],
}

/// A timeline event as stored, handed to [`Planner::payload`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredEvent {
    pub incident_id: i64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
}

/// The caller's half of applying a run: the decision and the notification payload.
pub trait Planner: Send + Sync {
    /// What the run means, from what the store knows (pure).
    fn plan(&self, facts: &Facts) -> Plan;
    /// The outbox payload of an event people are told of.
    fn payload(&self, event: &StoredEvent) -> anyhow::Result<String>;
}

impl Store {
    /// Records a run, reads the facts, and writes what the planner decides.
    pub async fn apply_run(
        &self,
        report: &RunReport,
        key: &RunKey<'_>,
        planner: &dyn Planner,
    ) -> anyhow::Result<Applied> {
        let mut tx = self.write().await?;
        insert_run(&mut tx, report).await?;
        let failures = bump_state(&mut tx, report).await?;
        let facts = read_facts(&mut tx, key, failures, report.finished_at).await?;
        let plan = planner.plan(&facts);
        let open_id = facts.open.as_ref().map(|o| o.id);
        let mut w = Writer {
            tx: &mut tx,
            key,
            report,
            planner,
            enqueued: 0,
        };
        let incident_id = w.write(&plan, open_id, failures).await?;
        let enqueued = w.enqueued;
        tx.commit().await?;
        Ok(Applied {
            decision: plan.decision,
            incident_id,
            enqueued,
        })
    }

    /// The open incident of a monitor, if any.
    pub async fn open_incident_for(&self, monitor_id: &str) -> anyhow::Result<Option<IncidentRow>> {
        let row = sqlx::query("SELECT * FROM incidents WHERE fingerprint = $1 AND status = 'open'")
            .bind(crate::incident::fingerprint(monitor_id))
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| incident_row(&r)).transpose()
    }

    /// Every incident, newest first, optionally only the open ones.
    pub async fn incidents(&self, only_open: bool) -> anyhow::Result<Vec<IncidentRow>> {
        let rows = sqlx::query(
            "SELECT * FROM incidents WHERE ($1 = 0 OR status = 'open') ORDER BY id DESC",
        )
        .bind(i64::from(only_open))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(incident_row).collect()
    }

    /// An incident's timeline: (time, kind, detail) oldest first.
    pub async fn timeline(
        &self,
        incident_id: i64,
    ) -> anyhow::Result<Vec<(DateTime<Utc>, String, String)>> {
        let rows = sqlx::query(
            "SELECT at, kind, detail FROM incident_events WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| (from_ms(r.get("at")), r.get("kind"), r.get("detail")))
            .collect())
    }

    /// What the store knows of a monitor (None before its first run).
    pub async fn monitor_info(&self, monitor_id: &str) -> anyhow::Result<Option<MonitorInfo>> {
        let row = sqlx::query("SELECT * FROM monitor_state WHERE monitor_id = $1")
            .bind(monitor_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| MonitorInfo {
            consecutive_failures: r.get::<i64, _>("consecutive_failures") as u32,
            last_outcome: r.get("last_outcome"),
            last_completed_at: r.get::<Option<i64>, _>("last_completed_at").map(from_ms),
            first_seen_at: from_ms(r.get("first_seen_at")),
        }))
    }

    /// How many runs were recorded for a monitor.
    pub async fn run_count(&self, monitor_id: &str) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM monitor_runs WHERE monitor_id = $1")
            .bind(monitor_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.get("n"))
    }
}

fn incident_row(r: &sqlx::sqlite::SqliteRow) -> anyhow::Result<IncidentRow> {
    let cond: String = r.get("condition");
    Ok(IncidentRow {
        id: r.get("id"),
        fingerprint: r.get("fingerprint"),
        monitor_id: r.get("monitor_id"),
        team: r.get("team"),
        severity: severity(r.get("severity"))?,
        status: Status::parse(r.get("status"))?,
        condition: condition(&cond)?,
        outcome: serde_json::from_str(r.get("outcome"))?,
        failures: r.get("failures"),
        opened_at: from_ms(r.get("opened_at")),
        updated_at: from_ms(r.get("updated_at")),
        resolved_at: r.get::<Option<i64>, _>("resolved_at").map(from_ms),
    })
}

async fn insert_run(tx: &mut Tx<'_>, r: &RunReport) -> anyhow::Result<()> {
    let rows = match &r.outcome {
        Outcome::Fail { rows, .. } => Some(*rows as i64),
        Outcome::Pass => Some(0),
        _ => None,
    };
    sqlx::query(
        "INSERT INTO monitor_runs (monitor_id, started_at, finished_at, outcome, rows_returned, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&r.monitor_id)
    .bind(ms(r.started_at))
    .bind(ms(r.finished_at))
    .bind(r.outcome.label())
    .bind(rows)
    .bind(serde_json::to_string(&r.outcome)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Updates the monitor's running state; returns consecutive failures including this run.
async fn bump_state(tx: &mut Tx<'_>, r: &RunReport) -> anyhow::Result<u32> {
    let prev: Option<i64> =
        sqlx::query_scalar("SELECT consecutive_failures FROM monitor_state WHERE monitor_id = $1")
            .bind(&r.monitor_id)
            .fetch_optional(&mut **tx)
            .await?;
    let failures = if r.outcome.is_failure() {
        prev.unwrap_or(0) + 1
    } else {
        0
    };
    // A Missed outcome is not a completed run: it must not reset the dead-man's switch.
    let completed = (!matches!(r.outcome, Outcome::Missed { .. })).then(|| ms(r.finished_at));
    sqlx::query(
        "INSERT INTO monitor_state (monitor_id, consecutive_failures, last_outcome, last_completed_at, first_seen_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (monitor_id) DO UPDATE SET
           consecutive_failures = excluded.consecutive_failures,
           last_outcome = excluded.last_outcome,
           last_completed_at = COALESCE(excluded.last_completed_at, monitor_state.last_completed_at)",
    )
    .bind(&r.monitor_id)
    .bind(failures)
    .bind(r.outcome.label())
    .bind(completed)
    .bind(ms(r.started_at))
    .execute(&mut **tx)
    .await?;
    Ok(failures as u32)
}

/// Everything `incident::decide` needs, read inside the run's transaction.
async fn read_facts(
    tx: &mut Tx<'_>,
    key: &RunKey<'_>,
    failures: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Facts> {
    let open = open_incident(tx, &key.fingerprint).await?;
    let recent_openings = match key.flap_window {
        Some(w) => {
            let since = now - chrono::Duration::from_std(w)?;
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM incidents WHERE monitor_id = $1 AND opened_at >= $2",
            )
            .bind(key.monitor_id)
            .bind(ms(since))
            .fetch_one(&mut **tx)
            .await?;
            n as u32
        }
        None => 0,
    };
    let last_event_detail = match &open {
        Some(o) => sqlx::query_scalar(
            "SELECT detail FROM incident_events WHERE incident_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(o.id)
        .fetch_optional(&mut **tx)
        .await?,
        None => None,
    };
    let silenced = super::silences::active_in(tx, key.monitor_id, now).await?;
    Ok(Facts {
        open,
        failures,
        recent_openings,
        last_event_detail,
        silenced,
    })
}

async fn open_incident(tx: &mut Tx<'_>, fp: &str) -> anyhow::Result<Option<OpenIncident>> {
    let row = sqlx::query(
        "SELECT id, condition, last_notified_at, severity, acked_at FROM incidents
         WHERE fingerprint = $1 AND status = 'open'",
    )
    .bind(fp)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(OpenIncident {
            id: r.get("id"),
            condition: condition(r.get("condition"))?,
            last_notified_at: from_ms(r.get("last_notified_at")),
            severity: severity(r.get("severity"))?,
            acked: r.get::<Option<i64>, _>("acked_at").is_some(),
        })
    })
    .transpose()
}

pub(super) fn condition(s: &str) -> anyhow::Result<Condition> {
    Condition::parse(s)
        .ok_or_else(|| anyhow::anyhow!("unknown incident condition `{s}` in the state store"))
}

pub(super) fn severity(s: &str) -> anyhow::Result<Severity> {
    Severity::parse(s).ok_or_else(|| anyhow::anyhow!("unknown severity `{s}` in the state store"))
}

/// Writes one plan inside the run's transaction.
struct Writer<'a, 'c> {
    tx: &'a mut Tx<'c>,
    key: &'a RunKey<'a>,
    report: &'a RunReport,
    planner: &'a dyn Planner,
    enqueued: usize,
}

impl Writer<'_, '_> {
    fn now(&self) -> i64 {
        ms(self.report.finished_at)
    }

    /// The incident the plan touches: opened, updated, resolved or joined.
    async fn write(
        &mut self,
        plan: &Plan,
        open: Option<i64>,
        failures: u32,
    ) -> anyhow::Result<Option<i64>> {
        let id = match (plan.decision, open) {
            (Decision::Nothing | Decision::Pending { .. }, _) => return Ok(None),
            (Decision::Open(c), _) => self.open(c, failures, plan.event).await?,
            (Decision::Update { condition, .. }, Some(id)) => {
                self.update(id, condition, failures, plan).await?;
                id
            }
            (Decision::Resolve, Some(id)) => {
                self.resolve(id).await?;
                id
            }
            (Decision::Joined { incident_id }, _) => {
                if !self.join(incident_id).await? {
                    return Ok(Some(incident_id));
                }
                incident_id
            }
            (d, None) => anyhow::bail!("plan {d:?} needs an open incident and there is none"),
        };
        if let Some(event) = plan.event {
            self.event(id, event).await?;
        }
        Ok(Some(id))
    }

    async fn open(
        &mut self,
        c: Condition,
        failures: u32,
        event: Option<PlannedEvent>,
    ) -> anyhow::Result<i64> {
        // Opened while silenced: never announced, so the first unsilenced run is due a
        // reminder at once (last notified at the epoch).
        let notified = match event {
            Some(PlannedEvent::Silenced(_)) => 0,
            _ => self.now(),
        };
        let id: i64 = sqlx::query_scalar(
            // The next number is above both the last incident and the floor a new state
            // over an earlier deployment's traces was given.
            "INSERT INTO incidents (id, fingerprint, monitor_id, team, severity, status, condition,
                                    outcome, failures, opened_at, updated_at, last_notified_at)
             VALUES ((SELECT MAX(COALESCE((SELECT MAX(id) FROM incidents), 0),
                                 COALESCE((SELECT MAX(floor) FROM incident_id_floor), 0)) + 1),
                     $1, $2, $3, $4, 'open', $5, $6, $7, $8, $8, $9) RETURNING id",
        )
        .bind(&self.key.fingerprint)
        .bind(self.key.monitor_id)
        .bind(self.key.team)
        .bind(self.key.severity.as_str())
        .bind(c.as_str())
        .bind(serde_json::to_string(&self.report.outcome)?)
        .bind(i64::from(failures))
        .bind(self.now())
        .bind(notified)
        .fetch_one(&mut **self.tx)
        .await?;
        Ok(id)
    }

    async fn update(
        &mut self,
        id: i64,
        c: Condition,
        failures: u32,
        plan: &Plan,
    ) -> anyhow::Result<()> {
        let told = plan.event.and_then(PlannedEvent::told).is_some();
        sqlx::query(
            "UPDATE incidents SET condition = $2, outcome = $3, failures = $4, updated_at = $5,
                    last_notified_at = CASE WHEN $6 = 1 THEN $5 ELSE last_notified_at END,
                    severity = COALESCE($7, severity)
             WHERE id = $1",
        )
        .bind(id)
        .bind(c.as_str())
        .bind(serde_json::to_string(&self.report.outcome)?)
        .bind(i64::from(failures))
        .bind(self.now())
        .bind(i64::from(told))
        .bind(plan.raise_severity.map(Severity::as_str))
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn resolve(&mut self, id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE incidents SET status = 'resolved', resolved_at = $2, updated_at = $2, last_notified_at = $2 WHERE id = $1")
            .bind(id)
            .bind(self.now())
            .execute(&mut **self.tx)
            .await?;
        Ok(())
    }

    /// Links this monitor to an upstream incident; `true` the first time only (people
    /// hear of a joined monitor once).
    async fn join(&mut self, id: i64) -> anyhow::Result<bool> {
        let linked = sqlx::query(
            "INSERT INTO incident_links (incident_id, monitor_id, joined_at) VALUES ($1, $2, $3)
             ON CONFLICT (incident_id, monitor_id) DO NOTHING",
        )
        .bind(id)
        .bind(self.key.monitor_id)
        .bind(self.now())
        .execute(&mut **self.tx)
        .await?
        .rows_affected();
        Ok(linked == 1)
    }

    /// The timeline entry, and one outbox row per destination when people are told.
    async fn event(&mut self, id: i64, event: PlannedEvent) -> anyhow::Result<()> {
        let summary = self.report.outcome.summary();
        let detail = match event {
            PlannedEvent::Told(EventKind::AlsoAffected)
            | PlannedEvent::Silenced(EventKind::AlsoAffected) => {
                format!("{}: {summary}", self.key.monitor_id)
            }
            _ => summary,
        };
        let at = self.report.finished_at;
        let event_id =
            super::timeline::insert(self.tx, id, at, &event.timeline_kind(), &detail).await?;
        let Some(kind) = event.told() else {
            return Ok(());
        };
        let opened_at: i64 = sqlx::query_scalar("SELECT opened_at FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **self.tx)
            .await?;
        let stored = StoredEvent {
            incident_id: id,
            kind,
            at,
            opened_at: from_ms(opened_at),
        };
        let payload = self.planner.payload(&stored)?;
        self.enqueued +=
            super::outbox::enqueue(self.tx, id, event_id, self.key.destinations, &payload, at)
                .await?;
        Ok(())
    }
}
