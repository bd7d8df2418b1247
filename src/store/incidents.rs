//! Applying a run to the store: record it, triage it, change the incident, enqueue the
//! notifications — all in one transaction, so a crash leaves either all or none of it.

use super::{Store, from_ms, ms};
use crate::incident::{self, Condition, Decision, OpenIncident, Policy};
use crate::monitor::Outcome;
use crate::monitor::runner::RunReport;
use crate::notify::{EventKind, Notification};
use crate::rules::Monitor;
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

/// An incident as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    pub id: i64,
    pub fingerprint: String,
    pub monitor_id: String,
    pub team: String,
    pub severity: String,
    pub status: String,
    pub condition: Condition,
    pub outcome: Outcome,
    pub failures: i64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
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

/// What the app knows about a run beyond the run itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunContext<'a> {
    /// Where notifications go (one outbox row each).
    pub destinations: &'a [&'a str],
    /// The impact of the monitor's broken tables, when known.
    pub impact: Option<&'a crate::impact::ImpactReport>,
    /// An open incident upstream of this monitor's tables (lineage inhibition).
    pub upstream: Option<i64>,
    /// The monitor is silenced: incidents change as usual, nobody is told.
    pub silenced: bool,
}

impl Store {
    /// Records a run and applies its meaning to the monitor's incident.
    pub async fn process_run(
        &self,
        m: &Monitor,
        policy: &Policy,
        report: &RunReport,
        ctx: &RunContext<'_>,
    ) -> anyhow::Result<Applied> {
        let mut tx = self.pool().begin().await?;
        insert_run(&mut tx, report).await?;
        let failures = bump_state(&mut tx, report).await?;
        let fp = incident::fingerprint(&m.id);
        let open = open_incident(&mut tx, &fp).await?;
        let now = report.finished_at;
        let decision = incident::triage(open.as_ref(), failures, &report.outcome, policy, now);
        let decision = incident::inhibit(decision, ctx.upstream);
        let decision = damp_and_escalate(&mut tx, decision, open.as_ref(), m, policy, now).await?;
        let decision = super::manual::quiet_if_acked(&mut tx, open.as_ref(), decision).await?;
        let mut change = Change {
            tx: &mut tx,
            m,
            report,
            ctx,
            enqueued: 0,
        };
        let incident_id = match decision {
            Decision::Nothing | Decision::Pending { .. } => None,
            Decision::Open(c) => Some(change.open(&fp, c, failures).await?),
            Decision::Update { condition, notify } => {
                let id = open.as_ref().map(|o| o.id).expect("update implies open");
                change
                    .update(id, condition, failures, notify.map(EventKind::Updated))
                    .await?;
                Some(id)
            }
            Decision::Resolve => {
                let id = open.as_ref().map(|o| o.id).expect("resolve implies open");
                change.resolve(id).await?;
                Some(id)
            }
            Decision::Joined { incident_id } => {
                change.join(incident_id).await?;
                Some(incident_id)
            }
        };
        let enqueued = change.enqueued;
        tx.commit().await?;
        Ok(Applied {
            decision,
            incident_id,
            enqueued,
        })
    }

    /// The open incident of a monitor, if any.
    pub async fn open_incident_for(&self, monitor_id: &str) -> anyhow::Result<Option<IncidentRow>> {
        let row = sqlx::query("SELECT * FROM incidents WHERE fingerprint = $1 AND status = 'open'")
            .bind(incident::fingerprint(monitor_id))
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
    let condition: String = r.get("condition");
    Ok(IncidentRow {
        id: r.get("id"),
        fingerprint: r.get("fingerprint"),
        monitor_id: r.get("monitor_id"),
        team: r.get("team"),
        severity: r.get("severity"),
        status: r.get("status"),
        condition: Condition::parse(&condition).unwrap_or(Condition::Failing),
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

/// Flap damping and severity escalation need the store's memory of this monitor:
/// how many incidents it opened lately, and the open incident's severity (raised in
/// place when this run is more severe, e.g. a breached deadline).
async fn damp_and_escalate(
    tx: &mut Tx<'_>,
    decision: Decision,
    open: Option<&OpenIncident>,
    m: &Monitor,
    policy: &Policy,
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    let Some(inc) = open else {
        return Ok(decision);
    };
    let decision = match (decision, policy.flap) {
        (Decision::Resolve, Some(flap)) => {
            let since = now - chrono::Duration::from_std(flap.window)?;
            let recent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM incidents WHERE monitor_id = $1 AND opened_at >= $2",
            )
            .bind(&m.id)
            .bind(ms(since))
            .fetch_one(&mut **tx)
            .await?;
            incident::damp(decision, open, recent as u32, policy)
        }
        (d, _) => d,
    };
    let current: String = sqlx::query_scalar("SELECT severity FROM incidents WHERE id = $1")
        .bind(inc.id)
        .fetch_one(&mut **tx)
        .await?;
    let raised = crate::rules::Severity::parse(&current).is_some_and(|s| m.severity < s)
        && matches!(decision, Decision::Update { .. });
    if raised {
        sqlx::query("UPDATE incidents SET severity = $2 WHERE id = $1")
            .bind(inc.id)
            .bind(m.severity.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(incident::escalate(decision, raised))
}

async fn open_incident(tx: &mut Tx<'_>, fp: &str) -> anyhow::Result<Option<OpenIncident>> {
    let row = sqlx::query("SELECT id, condition, last_notified_at FROM incidents WHERE fingerprint = $1 AND status = 'open'")
        .bind(fp)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|r| OpenIncident {
        id: r.get("id"),
        condition: Condition::parse(r.get("condition")).unwrap_or(Condition::Failing),
        last_notified_at: from_ms(r.get("last_notified_at")),
    }))
}

/// One incident change inside the run's transaction.
struct Change<'a, 'c> {
    tx: &'a mut Tx<'c>,
    m: &'a Monitor,
    report: &'a RunReport,
    ctx: &'a RunContext<'a>,
    enqueued: usize,
}

impl Change<'_, '_> {
    fn now(&self) -> i64 {
        ms(self.report.finished_at)
    }

    async fn open(&mut self, fp: &str, c: Condition, failures: u32) -> anyhow::Result<i64> {
        let outcome = serde_json::to_string(&self.report.outcome)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (fingerprint, monitor_id, team, severity, status, condition, outcome,
                                    failures, opened_at, updated_at, last_notified_at)
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $8, $8) RETURNING id",
        )
        .bind(fp)
        .bind(&self.m.id)
        .bind(&self.m.team)
        .bind(self.m.severity.as_str())
        .bind(c.as_str())
        .bind(outcome)
        .bind(i64::from(failures))
        .bind(self.now())
        .fetch_one(&mut **self.tx)
        .await?;
        if self.ctx.silenced {
            // Never announced: the first unsilenced run is due a reminder at once.
            sqlx::query("UPDATE incidents SET last_notified_at = 0 WHERE id = $1")
                .bind(id)
                .execute(&mut **self.tx)
                .await?;
        }
        self.event(id, EventKind::Opened).await?;
        Ok(id)
    }

    async fn update(
        &mut self,
        id: i64,
        c: Condition,
        failures: u32,
        tell: Option<EventKind>,
    ) -> anyhow::Result<()> {
        let outcome = serde_json::to_string(&self.report.outcome)?;
        sqlx::query(
            "UPDATE incidents SET condition = $2, outcome = $3, failures = $4, updated_at = $5,
                    last_notified_at = CASE WHEN $6 = 1 THEN $5 ELSE last_notified_at END
             WHERE id = $1",
        )
        .bind(id)
        .bind(c.as_str())
        .bind(outcome)
        .bind(i64::from(failures))
        .bind(self.now())
        .bind(i64::from(tell.is_some() && !self.ctx.silenced))
        .execute(&mut **self.tx)
        .await?;
        match tell {
            Some(kind) => self.event(id, kind).await,
            None => self.quiet_event(id).await,
        }
    }

    async fn resolve(&mut self, id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE incidents SET status = 'resolved', resolved_at = $2, updated_at = $2, last_notified_at = $2 WHERE id = $1")
            .bind(id)
            .bind(self.now())
            .execute(&mut **self.tx)
            .await?;
        self.event(id, EventKind::Resolved).await
    }

    /// Links this monitor to an upstream incident; people hear of it the first time only.
    async fn join(&mut self, id: i64) -> anyhow::Result<()> {
        let linked = sqlx::query(
            "INSERT INTO incident_links (incident_id, monitor_id, joined_at) VALUES ($1, $2, $3)
             ON CONFLICT (incident_id, monitor_id) DO NOTHING",
        )
        .bind(id)
        .bind(&self.m.id)
        .bind(self.now())
        .execute(&mut **self.tx)
        .await?
        .rows_affected();
        if linked == 1 {
            self.event(id, EventKind::AlsoAffected).await?;
        }
        Ok(())
    }

    /// A still-failing run nobody is told about: on the timeline only when it says
    /// something new (another row count, another error), so the timeline stays readable.
    async fn quiet_event(&mut self, id: i64) -> anyhow::Result<()> {
        let last: Option<String> = sqlx::query_scalar(
            "SELECT detail FROM incident_events WHERE incident_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut **self.tx)
        .await?;
        if last.as_deref() != Some(self.report.outcome.summary().as_str()) {
            self.insert_event(id, "updated").await?;
        }
        Ok(())
    }

    async fn insert_event(&mut self, id: i64, kind: &str) -> anyhow::Result<i64> {
        let detail = match kind {
            k if k.starts_with("also_affected") => {
                format!("{}: {}", self.m.id, self.report.outcome.summary())
            }
            _ => self.report.outcome.summary(),
        };
        let event_id = sqlx::query_scalar(
            "INSERT INTO incident_events (incident_id, at, kind, detail) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(id)
        .bind(self.now())
        .bind(kind)
        .bind(detail)
        .fetch_one(&mut **self.tx)
        .await?;
        Ok(event_id)
    }

    /// A timeline entry people are told about: one outbox row per destination, unless
    /// the monitor is silenced (then the timeline says so and nobody is told).
    async fn event(&mut self, id: i64, kind: EventKind) -> anyhow::Result<()> {
        if self.ctx.silenced {
            self.insert_event(id, &format!("{} (silenced)", kind.as_str()))
                .await?;
            return Ok(());
        }
        let event_id = self.insert_event(id, kind.as_str()).await?;
        let opened_at: i64 = sqlx::query_scalar("SELECT opened_at FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **self.tx)
            .await?;
        let payload = serde_json::to_string(&self.notification(id, kind, from_ms(opened_at)))?;
        for dest in self.ctx.destinations {
            sqlx::query(
                "INSERT INTO outbox (incident_id, event_id, destination, payload, created_at, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (event_id, destination) DO NOTHING",
            )
            .bind(id)
            .bind(event_id)
            .bind(*dest)
            .bind(&payload)
            .bind(self.now())
            .execute(&mut **self.tx)
            .await?;
            self.enqueued += 1;
        }
        Ok(())
    }

    fn notification(&self, id: i64, kind: EventKind, opened_at: DateTime<Utc>) -> Notification {
        let m = self.m;
        Notification {
            incident_id: id,
            event: kind,
            at: self.report.finished_at,
            opened_at,
            monitor_id: m.id.clone(),
            team: m.team.clone(),
            severity: m.severity.as_str().to_string(),
            description: m.description.clone(),
            condition: Condition::of(&self.report.outcome),
            outcome: self.report.outcome.clone(),
            owners: m.owners.clone(),
            labels: m.labels.clone(),
            sql: m.check.sql().to_string(),
            source: format!("{}:{}", m.file.display(), m.line),
            impact: self.ctx.impact.cloned(),
        }
    }
}
