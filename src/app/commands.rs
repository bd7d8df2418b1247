//! `App::execute`: a parsed `/ripple` command run against the app, and the words of
//! the reply. Front ends (Slack over HTTP or Socket Mode) only parse and carry.
//!
//! Mistakes that only show once the app is consulted (an unknown monitor, team or
//! table) get the same treatment as parse errors: an ephemeral reply with a
//! did-you-mean. Our own failures become a logged apology with an id.

use super::App;
use crate::command::{Command, Direction, Reply, UserError, help};
use crate::diag::did_you_mean;
// Every text a person typed, and every value the warehouse returned, is escaped where it
// is echoed: replies are Slack mrkdwn, read by everybody in the channel.
use crate::escape::mrkdwn as esc;
use std::fmt::Write;

/// Lines shown by `lineage` before summarising.
const LINEAGE_SHOWN: usize = 40;

impl App {
    /// Runs `cmd` for `who` (as messages name the person, e.g. a Slack mention).
    pub async fn execute(&self, cmd: Command, who: &str) -> Result<Reply, UserError> {
        let result = match cmd {
            Command::Help => Ok(Reply::ephemeral(help())),
            Command::Status { team } => status(self, team.as_deref()).await,
            Command::Impact { table } => impact(self, &table).await,
            Command::Lineage { direction, table } => lineage(self, direction, &table).await,
            Command::Run { monitor } => run(self, &monitor).await,
            Command::Ack { incident } => self.ack(incident, who).await.map(|i| {
                Reply::in_channel(format!(
                    ":eyes: Incident #{} (`{}`) acknowledged by {who}; reminders are paused.",
                    i.id, i.monitor_id
                ))
            }),
            Command::Silence {
                monitor,
                duration,
                reason,
            } => silence(self, &monitor, duration, &reason, who).await,
            Command::Resolve { incident, note } => {
                self.resolve_incident(incident, who, &note).await.map(|i| {
                    let note = if note.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", esc(&note))
                    };
                    Reply::in_channel(format!(
                        ":white_check_mark: Incident #{} (`{}`) resolved by {who}{note}",
                        i.id, i.monitor_id
                    ))
                })
            }
            Command::Incident { incident } => escalate(self, incident).await,
        };
        result.map_err(|e| mistake_or_failure(&e))
    }
}

/// Known mistakes are the person's to fix; anything else is ours, logged with an id.
fn mistake_or_failure(e: &anyhow::Error) -> UserError {
    let known = e.downcast_ref::<super::SilenceError>().is_some()
        || e.downcast_ref::<super::IncidentError>().is_some();
    if known {
        UserError(format!(":warning: {}", esc(&e.to_string())))
    } else {
        UserError::internal(e)
    }
}

async fn status(app: &App, team: Option<&str>) -> anyhow::Result<Reply> {
    if let Some(t) = team
        && app.config.team(t).is_none()
    {
        let names: Vec<&str> = app.config.teams.iter().map(|t| t.name.as_str()).collect();
        let hint = did_you_mean(t, &names)
            .map(|s| format!(" Did you mean `{s}`?"))
            .unwrap_or_default();
        return Ok(Reply::ephemeral(format!("No team `{}`.{hint}", esc(t))));
    }
    let open: Vec<_> = app
        .store
        .incidents(true)
        .await?
        .into_iter()
        .filter(|i| team.is_none_or(|t| i.team == t))
        .collect();
    let mut out = String::new();
    let scope = team.map(|t| format!(" for {}", esc(t))).unwrap_or_default();
    let _ = writeln!(out, "*Open incidents{scope}: {}*", open.len());
    for i in &open {
        let acked = match app.store.acknowledgement(i.id).await? {
            Some((by, _)) => format!(" · acked by {by}"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "• #{} [{}] `{}` — {} since {}{acked}",
            i.id,
            i.severity,
            i.monitor_id,
            esc(&i.outcome.summary()),
            i.opened_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    let silences: Vec<_> = app
        .silences()
        .await?
        .into_iter()
        .filter(|s| team.is_none_or(|t| app.rules.get(&s.monitor_id).is_some_and(|m| m.team == t)))
        .collect();
    if !silences.is_empty() {
        let _ = writeln!(out, "*Silences: {}*", silences.len());
        for s in &silences {
            let _ = writeln!(
                out,
                "• `{}` until {} by {} — {}",
                s.monitor_id,
                s.until.format("%Y-%m-%d %H:%M UTC"),
                s.created_by,
                esc(&s.reason)
            );
        }
    }
    Ok(Reply::ephemeral(out.trim_end()))
}

/// `None` when the table is in the graph; otherwise the reply saying so.
async fn unknown_table(app: &App, table: &str) -> anyhow::Result<Option<Reply>> {
    let graph = app.lineage_graph().await?;
    if graph.contains(table) {
        return Ok(None);
    }
    let tables: Vec<&str> = graph.tables().collect();
    let hint = did_you_mean(table, &tables)
        .map(|s| format!(" Did you mean `{s}`?"))
        .unwrap_or_default();
    Ok(Some(Reply::ephemeral(format!(
        "`{}` is not in the lineage graph.{hint}",
        esc(table)
    ))))
}

async fn impact(app: &App, table: &str) -> anyhow::Result<Reply> {
    if let Some(r) = unknown_table(app, table).await? {
        return Ok(r);
    }
    let top = app.config.slack.as_ref().map(|s| s.impact_top);
    let report = app.impact_report(&[table.to_string()], top).await?;
    let text = crate::impact::render::text(&report);
    Ok(Reply::ephemeral(format!("```{}```", esc(text.trim_end()))))
}

async fn lineage(app: &App, direction: Direction, table: &str) -> anyhow::Result<Reply> {
    if let Some(r) = unknown_table(app, table).await? {
        return Ok(r);
    }
    let graph = app.lineage_graph().await?;
    let (reached, word) = match direction {
        Direction::Up => (graph.upstream(table, None), "upstream of"),
        Direction::Down => (graph.downstream(table, None), "downstream of"),
    };
    let mut out = format!("*{} table(s) {word} `{}`*\n", reached.len(), esc(table));
    for r in reached.iter().take(LINEAGE_SHOWN) {
        let _ = writeln!(
            out,
            "{}• `{}`",
            "  ".repeat(r.depth.saturating_sub(1)),
            esc(&r.table)
        );
    }
    if reached.len() > LINEAGE_SHOWN {
        let _ = writeln!(out, "…and {} more", reached.len() - LINEAGE_SHOWN);
    }
    Ok(Reply::ephemeral(out.trim_end()))
}

fn unknown_monitor(app: &App, id: &str) -> Reply {
    let ids: Vec<&str> = app.rules.monitors.iter().map(|m| m.id.as_str()).collect();
    let hint = did_you_mean(id, &ids)
        .map(|s| format!(" Did you mean `{s}`?"))
        .unwrap_or_default();
    Reply::ephemeral(format!("No monitor `{}`.{hint}", esc(id)))
}

async fn run(app: &App, id: &str) -> anyhow::Result<Reply> {
    let Some(m) = app.rules.get(id).cloned() else {
        return Ok(unknown_monitor(app, id));
    };
    // One monitor: `run_one` + `apply` is `run_monitors` without the concurrent stream,
    // whose borrowed closures would keep this future from being spawned.
    let report = crate::monitor::runner::run_one(&*app.warehouse, &m, &*app.clock).await;
    let applied = app.apply(&m, &report).await?;
    app.deliver().await?;
    let incident = applied
        .incident_id
        .map(|i| format!(" · incident #{i}"))
        .unwrap_or_default();
    Ok(Reply::ephemeral(format!(
        "Ran `{id}`: {}{incident}",
        esc(&report.outcome.summary())
    )))
}

async fn silence(
    app: &App,
    monitor: &str,
    duration: std::time::Duration,
    reason: &str,
    who: &str,
) -> anyhow::Result<Reply> {
    if app.rules.get(monitor).is_none() {
        return Ok(unknown_monitor(app, monitor));
    }
    let s = app.silence(monitor, duration, reason, who).await?;
    Ok(Reply::in_channel(format!(
        ":mute: `{}` silenced until {} by {who}: {}",
        s.monitor_id,
        s.until.format("%Y-%m-%d %H:%M UTC"),
        esc(&s.reason)
    )))
}

async fn escalate(app: &App, incident: i64) -> anyhow::Result<Reply> {
    let Some(slack) = app.slack.as_deref() else {
        return Ok(Reply::ephemeral(
            "Slack is not configured (no `slack:` section or no SLACK_BOT_TOKEN): no channel can be made.",
        ));
    };
    match slack.escalate(incident).await {
        Ok(channel) => Ok(Reply::in_channel(format!(
            ":rotating_light: Incident #{incident} now has its own channel: <#{channel}>"
        ))),
        Err(e) => Ok(Reply::ephemeral(format!(":warning: {}", esc(&e.message)))),
    }
}
