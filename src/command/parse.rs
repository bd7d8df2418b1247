//! `/ripple` text → a [`Command`], or a usage message with a did-you-mean. Pure.

use crate::diag::did_you_mean;
// Usage texts echo what was typed; Slack must not read it as a mention.
use crate::escape::mrkdwn as esc;
use std::time::Duration;

/// Which way `lineage` walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// One `/ripple` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Status {
        team: Option<String>,
    },
    Impact {
        table: String,
    },
    Lineage {
        direction: Direction,
        table: String,
    },
    Run {
        monitor: String,
    },
    Ack {
        incident: i64,
    },
    Silence {
        monitor: String,
        duration: Duration,
        reason: String,
    },
    Resolve {
        incident: i64,
        note: String,
    },
    Incident {
        incident: i64,
    },
}

impl Command {
    /// Commands that may outlive Slack's 3-second acknowledgement: they answer through
    /// `response_url`.
    pub fn is_slow(&self) -> bool {
        matches!(
            self,
            Command::Impact { .. }
                | Command::Lineage { .. }
                | Command::Run { .. }
                | Command::Incident { .. }
        )
    }
}

/// A mistake, with the usage to fix it; always shown only to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

/// (name, arguments, what it does).
pub const SUBCOMMANDS: &[(&str, &str, &str)] = &[
    ("help", "", "this list"),
    ("status", "[team]", "open incidents and silences"),
    (
        "impact",
        "<table>",
        "what a break in a table hurts, and who to tell",
    ),
    (
        "lineage",
        "up|down <table>",
        "tables feeding, or fed by, a table",
    ),
    ("run", "<monitor>", "run a monitor now"),
    (
        "ack",
        "<incident>",
        "acknowledge an incident (reminders stop)",
    ),
    (
        "silence",
        "<monitor> <duration> [reason]",
        "hold a monitor's notifications, e.g. `2h`",
    ),
    (
        "resolve",
        "<incident> [note]",
        "resolve an incident by hand",
    ),
    ("incident", "<incident>", "give an incident its own channel"),
];

/// The help text: every subcommand with its arguments.
pub fn help() -> String {
    let mut out = String::from("*Ripple commands*\n");
    for (name, args, what) in SUBCOMMANDS {
        let call = format!("/ripple {name} {args}");
        out.push_str(&format!("• `{}` — {what}\n", call.trim_end()));
    }
    out.trim_end().to_string()
}

fn usage_of(name: &str) -> String {
    let (_, args, _) = SUBCOMMANDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .expect("known subcommand");
    format!("/ripple {name} {args}").trim_end().to_string()
}

fn wrong(name: &str, problem: &str) -> Usage {
    Usage(format!("{problem}. Usage: `{}`", usage_of(name)))
}

/// Parses the text after `/ripple`.
pub fn parse(text: &str) -> Result<Command, Usage> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Ok(Command::Help);
    };
    let name = name.to_lowercase();
    match name.as_str() {
        "help" => Ok(Command::Help),
        "status" => match args {
            [] => Ok(Command::Status { team: None }),
            [team] => Ok(Command::Status {
                team: Some(team.to_string()),
            }),
            _ => Err(wrong("status", "`status` takes at most one team")),
        },
        "impact" => one_arg("impact", args).map(|table| Command::Impact { table }),
        "lineage" => lineage(args),
        "run" => one_arg("run", args).map(|monitor| Command::Run { monitor }),
        "ack" => incident_arg("ack", args).map(|incident| Command::Ack { incident }),
        "incident" => incident_arg("incident", args).map(|incident| Command::Incident { incident }),
        "resolve" => resolve(args),
        "silence" => silence(args),
        other => Err(unknown(other)),
    }
}

fn unknown(word: &str) -> Usage {
    let names: Vec<&str> = SUBCOMMANDS.iter().map(|(n, _, _)| *n).collect();
    let hint = match did_you_mean(word, &names) {
        Some(s) => format!(" Did you mean `/ripple {s}`?"),
        None => String::new(),
    };
    Usage(format!(
        "Unknown subcommand `{}`.{hint} Try `/ripple help`.",
        esc(word)
    ))
}

fn one_arg(name: &str, args: &[&str]) -> Result<String, Usage> {
    match args {
        [one] => Ok(one.to_string()),
        [] => Err(wrong(name, &format!("`{name}` needs an argument"))),
        _ => Err(wrong(name, &format!("`{name}` takes one argument"))),
    }
}

/// `12` or `#12`.
fn incident_id(word: &str) -> Option<i64> {
    word.trim_start_matches('#').parse().ok().filter(|n| *n > 0)
}

fn incident_arg(name: &str, args: &[&str]) -> Result<i64, Usage> {
    let word = one_arg(name, args)?;
    incident_id(&word).ok_or_else(|| {
        wrong(
            name,
            &format!(
                "`{}` is not an incident number (like `12` or `#12`)",
                esc(&word)
            ),
        )
    })
}

fn lineage(args: &[&str]) -> Result<Command, Usage> {
    let direction = match args.first().map(|w| w.to_lowercase()).as_deref() {
        Some("up") => Direction::Up,
        Some("down") => Direction::Down,
        Some(other) => {
            let hint = did_you_mean(other, &["up", "down"])
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(wrong(
                "lineage",
                &format!("`{}` is not `up` or `down`{hint}", esc(other)),
            ));
        }
        None => return Err(wrong("lineage", "`lineage` needs a direction and a table")),
    };
    let table = one_arg("lineage", &args[1..])?;
    Ok(Command::Lineage { direction, table })
}

fn resolve(args: &[&str]) -> Result<Command, Usage> {
    let Some((first, note)) = args.split_first() else {
        return Err(wrong("resolve", "`resolve` needs an incident number"));
    };
    let incident = incident_id(first).ok_or_else(|| {
        wrong(
            "resolve",
            &format!(
                "`{}` is not an incident number (like `12` or `#12`)",
                esc(first)
            ),
        )
    })?;
    Ok(Command::Resolve {
        incident,
        note: note.join(" "),
    })
}

fn silence(args: &[&str]) -> Result<Command, Usage> {
    let [monitor, duration, reason @ ..] = args else {
        return Err(wrong("silence", "`silence` needs a monitor and a duration"));
    };
    let duration = humantime::parse_duration(duration).map_err(|_| {
        wrong(
            "silence",
            &format!(
                "`{}` is not a duration (like `30m`, `2h`, `1d`)",
                esc(duration)
            ),
        )
    })?;
    Ok(Command::Silence {
        monitor: monitor.to_string(),
        duration,
        reason: reason.join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_parse() {
        assert_eq!(parse(""), Ok(Command::Help));
        assert_eq!(
            parse("status finance"),
            Ok(Command::Status {
                team: Some("finance".into())
            })
        );
        assert_eq!(parse("ack #12"), Ok(Command::Ack { incident: 12 }));
        assert_eq!(
            parse("lineage DOWN shop.orders"),
            Ok(Command::Lineage {
                direction: Direction::Down,
                table: "shop.orders".into()
            })
        );
        assert_eq!(
            parse("silence payments_duplicated 2h backfill running"),
            Ok(Command::Silence {
                monitor: "payments_duplicated".into(),
                duration: Duration::from_secs(7200),
                reason: "backfill running".into()
            })
        );
        assert_eq!(
            parse("resolve 3 fixed upstream"),
            Ok(Command::Resolve {
                incident: 3,
                note: "fixed upstream".into()
            })
        );
    }

    #[test]
    fn mistakes_say_how_to_fix_them() {
        assert_eq!(
            parse("stauts").unwrap_err().0,
            "Unknown subcommand `stauts`. Did you mean `/ripple status`? Try `/ripple help`."
        );
        assert!(
            parse("ack twelve")
                .unwrap_err()
                .0
                .contains("Usage: `/ripple ack <incident>`")
        );
        assert!(
            parse("lineage sideways t")
                .unwrap_err()
                .0
                .contains("not `up` or `down`")
        );
        assert!(
            parse("silence m soon")
                .unwrap_err()
                .0
                .contains("`soon` is not a duration")
        );
    }
}
