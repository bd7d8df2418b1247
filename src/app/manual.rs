//! Incidents handled by people: acknowledge and resolve by hand (Slack buttons,
//! `/ripple ack|resolve`).

use super::App;
use crate::monitor::Outcome;
use crate::notify::{EventKind, Notification};
use crate::store::IncidentRow;

/// A mistake in a request about an incident, in words for the person who made it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IncidentError(pub String);

impl App {
    /// One incident by id.
    pub async fn incident(&self, id: i64) -> anyhow::Result<Option<IncidentRow>> {
        Ok(self
            .store
            .incidents(false)
            .await?
            .into_iter()
            .find(|i| i.id == id))
    }

    async fn open_incident(&self, id: i64) -> anyhow::Result<IncidentRow> {
        match self.incident(id).await? {
            Some(i) if i.is_open() => Ok(i),
            Some(_) => Err(IncidentError(format!("incident #{id} is already resolved")).into()),
            None => Err(IncidentError(format!("no incident #{id}")).into()),
        }
    }

    /// Acknowledges an open incident: on the timeline, and its reminders stop.
    pub async fn ack(&self, incident_id: i64, by: &str) -> anyhow::Result<IncidentRow> {
        let inc = self.open_incident(incident_id).await?;
        if !self
            .store
            .acknowledge(incident_id, by, self.clock.now())
            .await?
        {
            return Err(
                IncidentError(format!("incident #{incident_id} is already resolved")).into(),
            );
        }
        Ok(inc)
    }

    /// Resolves an open incident by hand; every destination hears it as a recovery.
    pub async fn resolve_incident(
        &self,
        incident_id: i64,
        by: &str,
        note: &str,
    ) -> anyhow::Result<IncidentRow> {
        let inc = self.open_incident(incident_id).await?;
        let n = self.resolution(&inc).await?;
        let detail = match note.trim() {
            "" => format!("resolved by hand by {by}"),
            note => format!("resolved by hand by {by}: {note}"),
        };
        let destinations: Vec<&str> = self.notifiers.iter().map(|n| n.destination()).collect();
        if !self
            .store
            .resolve_by_hand(
                inc.id,
                n.at,
                &detail,
                &serde_json::to_string(&n)?,
                &destinations,
            )
            .await?
        {
            return Err(
                IncidentError(format!("incident #{incident_id} is already resolved")).into(),
            );
        }
        Ok(inc)
    }

    /// The Resolved notification: the opening's facts, frozen now.
    async fn resolution(&self, inc: &IncidentRow) -> anyhow::Result<Notification> {
        let base = match Notification::opened(&self.store, inc.id).await? {
            Some(n) => n,
            None => self.bare_notification(inc),
        };
        Ok(Notification {
            event: EventKind::Resolved,
            at: self.clock.now(),
            condition: None,
            outcome: Outcome::Pass,
            impact: None,
            ..base
        })
    }

    /// For an incident whose opening was queued nowhere (no destinations then).
    fn bare_notification(&self, inc: &IncidentRow) -> Notification {
        let m = self.rules.get(&inc.monitor_id);
        Notification {
            incident_id: inc.id,
            event: EventKind::Opened,
            at: inc.opened_at,
            opened_at: inc.opened_at,
            monitor_id: inc.monitor_id.clone(),
            team: inc.team.clone(),
            severity: inc.severity.as_str().to_string(),
            description: m.map(|m| m.description.clone()).unwrap_or_default(),
            condition: Some(inc.condition),
            outcome: inc.outcome.clone(),
            owners: m.map(|m| m.owners.clone()).unwrap_or_default(),
            labels: m.map(|m| m.labels.clone()).unwrap_or_default(),
            sql: m.map(|m| m.check.sql().to_string()).unwrap_or_default(),
            source: m
                .map(|m| format!("{}:{}", m.file.display(), m.line))
                .unwrap_or_default(),
            impact: None,
        }
    }
}
