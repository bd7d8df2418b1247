//! Rule files → [`Monitor`]s. Every problem in every file is collected, located, and
//! returned; one bad monitor never hides another.

use super::sql::{self, Expect, SqlProblem};
mod blocks;
mod read;

use super::{Check, MAX_SAMPLE, Monitor, RuleSet, Schedule, Severity};
use crate::bounds;
use crate::config::Config;
use crate::diag::{Diagnostic, did_you_mean};
use crate::yaml;
use marked_yaml::{Node, Spanned};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A monitor as written, before validation. Spans locate each value for messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonitor {
    id: Spanned<String>,
    team: Spanned<String>,
    #[serde(default)]
    description: String,
    severity: Option<Spanned<String>>,
    schedule: RawSchedule,
    grace: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    owners: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    min_consecutive_failures: Option<Spanned<u32>>,
    kind: Option<Spanned<String>>,
    sql: Option<Spanned<String>>,
    sql_file: Option<Spanned<String>>,
    sample: Option<Spanned<u32>>,
    service_account: Option<Spanned<String>>,
    freshness: Option<blocks::RawFreshness>,
    row_count: Option<blocks::RawRowCount>,
    null_ratio: Option<blocks::RawNullRatio>,
    deadline: Option<blocks::RawDeadline>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    cron: Spanned<String>,
    timezone: Option<Spanned<String>>,
}

/// Loads every `*.yaml`/`*.yml` under `dir` (sorted, recursive) and checks ids are unique.
pub fn load_dir(dir: &Path, cfg: &Config) -> RuleSet {
    let mut set = RuleSet::default();
    let files = match rule_files(dir) {
        Ok(f) => f,
        Err(e) => {
            let msg = format!("cannot read the rules folder: {e}");
            set.problems.push(Diagnostic::new(dir, 0, 0, msg));
            return set;
        }
    };
    let root = if dir.is_file() {
        dir.parent().unwrap_or(Path::new("."))
    } else {
        dir
    };
    let mut first_seen: HashMap<String, (PathBuf, usize, usize)> = HashMap::new();
    for file in files {
        set.files += 1;
        let (monitors, problems) = load_file_in(&file, root, cfg);
        set.problems.extend(problems);
        for m in monitors {
            if let Some((f, line, col)) = first_seen.get(&m.id) {
                let msg = format!(
                    "duplicate monitor id `{}` (first defined at {}:{line}:{col}); ids must be unique",
                    m.id,
                    f.display()
                );
                set.problems
                    .push(Diagnostic::new(&m.file, m.line, m.col, msg));
                continue;
            }
            first_seen.insert(m.id.clone(), (m.file.clone(), m.line, m.col));
            set.monitors.push(m);
        }
    }
    set.problems.sort();
    set
}

fn rule_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out = Vec::new();
    list(dir, &mut HashSet::new(), &mut out)?;
    out.sort();
    Ok(out)
}

/// Rule files under `dir`; a folder reached twice (a symlink loop) is listed once.
fn list(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !seen.insert(dir.canonicalize()?) {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            list(&path, seen, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads one rule file: the monitors that are valid, and every problem found. Its
/// `sql_file`s must lie in the file's own folder.
pub fn load_file(file: &Path, cfg: &Config) -> (Vec<Monitor>, Vec<Diagnostic>) {
    load_file_in(file, file.parent().unwrap_or(Path::new(".")), cfg)
}

/// [`load_file`] for a file of the rules folder `root` (its `sql_file`s stay inside).
fn load_file_in(file: &Path, root: &Path, cfg: &Config) -> (Vec<Monitor>, Vec<Diagnostic>) {
    let text = match read::text(file, bounds::RULE_FILE_BYTES) {
        Ok(t) => t,
        Err(e) => return (vec![], vec![Diagnostic::new(file, 1, 1, e)]),
    };
    let items = match monitor_nodes(file, &text) {
        Ok(items) => items,
        Err(d) => return (vec![], vec![d]),
    };
    let mut monitors = Vec::new();
    let mut problems = Vec::new();
    for node in &items {
        let ctx = Ctx {
            file,
            root,
            text: &text,
            cfg,
        };
        match ctx.monitor(node) {
            Ok(m) => monitors.push(m),
            Err(mut p) => problems.append(&mut p),
        }
    }
    (monitors, problems)
}

/// The file's top level must be `monitors: [ … ]`.
fn monitor_nodes(file: &Path, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let root = yaml::parse(file, text)?;
    let map = root.as_mapping().ok_or_else(|| {
        Diagnostic::at(
            file,
            root.span(),
            "a rule file must be a mapping with a `monitors:` list",
        )
    })?;
    if let Some((key, _)) = map.iter().find(|(k, _)| k.as_str() != "monitors") {
        let msg = format!("unknown key `{}`, expected `monitors`", key.as_str());
        return Err(Diagnostic::at(file, key.span(), msg));
    }
    let seq = map.get_sequence("monitors").ok_or_else(|| {
        Diagnostic::at(file, map.span(), "`monitors:` must be a list of monitors")
    })?;
    Ok(seq.iter().cloned().collect())
}

/// What every validation step of one file needs.
struct Ctx<'a> {
    file: &'a Path,
    /// The rules folder: a `sql_file` must resolve inside it.
    root: &'a Path,
    text: &'a str,
    cfg: &'a Config,
}

impl Ctx<'_> {
    fn at<T>(&self, value: &Spanned<T>, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.file, value.span(), msg)
    }

    fn monitor(&self, node: &Node) -> Result<Monitor, Vec<Diagnostic>> {
        let raw: RawMonitor = yaml::from_node(self.file, node).map_err(|d| vec![d])?;
        let mut errs = Vec::new();
        keep(&mut errs, self.check_id(&raw.id));
        keep(&mut errs, self.check_team(&raw.team));
        keep(&mut errs, self.check_service_account(&raw));
        let severity = keep(&mut errs, self.severity(raw.severity.as_ref()));
        let schedule = keep(&mut errs, self.schedule(&raw.schedule));
        let defaults = &self.cfg.defaults;
        let grace = self.bounded("grace", raw.grace.as_ref(), defaults.grace, bounds::GRACE);
        let grace = keep(&mut errs, grace);
        let timeout = self.bounded(
            "timeout",
            raw.timeout.as_ref(),
            defaults.timeout,
            bounds::TIMEOUT,
        );
        let timeout = keep(&mut errs, timeout);
        let sample = keep(&mut errs, self.sample(raw.sample.as_ref()));
        let check = keep(&mut errs, self.check(&raw));
        let min_failures = keep(
            &mut errs,
            self.min_failures(raw.min_consecutive_failures.as_ref()),
        );
        let built = (|| {
            Some(Monitor {
                id: raw.id.to_string(),
                team: raw.team.to_string(),
                description: raw.description.clone(),
                severity: severity?,
                schedule: schedule?,
                grace: grace?,
                timeout: timeout?,
                owners: raw.owners.clone(),
                labels: raw.labels.clone(),
                min_consecutive_failures: min_failures?,
                check: check?,
                sample: sample?,
                service_account: raw.service_account.as_ref().map(|s| s.to_string()),
                file: self.file.to_path_buf(),
                line: yaml::line_col(raw.id.span()).0,
                col: yaml::line_col(raw.id.span()).1,
            })
        })();
        match built {
            Some(m) if errs.is_empty() => Ok(m),
            _ => {
                errs.sort();
                Err(errs)
            }
        }
    }

    fn check_id(&self, id: &Spanned<String>) -> Result<(), Diagnostic> {
        let ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(())
        } else {
            Err(self.at(
                id,
                format!(
                    "invalid monitor id `{}`: use letters, digits, `_`, `-` and `.` only",
                    id.as_str()
                ),
            ))
        }
    }

    fn check_team(&self, team: &Spanned<String>) -> Result<(), Diagnostic> {
        if self.cfg.team(team).is_some() {
            return Ok(());
        }
        let names: Vec<&str> = self.cfg.teams.iter().map(|t| t.name.as_str()).collect();
        let hint = match did_you_mean(team, &names) {
            Some(s) => format!("; did you mean `{s}`?"),
            None if names.is_empty() => "; add it under `teams:` in ripple.yaml".to_string(),
            None => format!("; known teams: {}", names.join(", ")),
        };
        Err(self.at(team, format!("unknown team `{}`{hint}", team.as_str())))
    }

    /// A rule may run only as a service account that `ripple.yaml` grants to its team:
    /// otherwise any team could query as any identity Ripple can impersonate.
    fn check_service_account(&self, raw: &RawMonitor) -> Result<(), Diagnostic> {
        let Some(sa) = &raw.service_account else {
            return Ok(());
        };
        // An unknown team is reported by `check_team` already: one problem, one message.
        let Some(team) = self.cfg.team(&raw.team) else {
            return Ok(());
        };
        let granted = &team.service_accounts;
        if granted.iter().any(|g| g == sa.as_str()) {
            return Ok(());
        }
        let hint = if granted.is_empty() {
            format!(
                "team `{}` is granted no service accounts (add them under the team's `service_accounts:` in ripple.yaml)",
                raw.team.as_str()
            )
        } else {
            format!(
                "team `{}` is granted: {}",
                raw.team.as_str(),
                granted.join(", ")
            )
        };
        Err(self.at(
            sa,
            format!(
                "service account `{}` is not granted to team `{}`; {hint}",
                sa.as_str(),
                raw.team.as_str()
            ),
        ))
    }

    fn severity(&self, s: Option<&Spanned<String>>) -> Result<Severity, Diagnostic> {
        let Some(s) = s else {
            return Ok(Severity::parse(&self.cfg.defaults.severity).unwrap_or(Severity::Medium));
        };
        Severity::parse(s).ok_or_else(|| {
            self.at(
                s,
                format!(
                    "unknown severity `{}`; expected one of {}",
                    s.as_str(),
                    Severity::NAMES.join(", ")
                ),
            )
        })
    }

    fn schedule(&self, raw: &RawSchedule) -> Result<Schedule, Diagnostic> {
        let cron: croner::Cron = raw.cron.parse().map_err(|e| {
            self.at(
                &raw.cron,
                format!(
                    "invalid cron `{}`: {}; expected 5 fields like `*/15 * * * *`",
                    raw.cron.as_str(),
                    cron_message(&e)
                ),
            )
        })?;
        let tz = match &raw.timezone {
            None => chrono_tz::UTC,
            Some(tz) => self.timezone(tz)?,
        };
        if !fires(&cron, tz) {
            return Err(self.at(
                &raw.cron,
                format!(
                    "cron `{}` never fires (no time matches it within {} years); check the day and month fields",
                    raw.cron.as_str(),
                    bounds::CRON_HORIZON_YEARS
                ),
            ));
        }
        Ok(Schedule {
            cron,
            pattern: raw.cron.to_string(),
            tz,
        })
    }

    fn timezone(&self, tz: &Spanned<String>) -> Result<chrono_tz::Tz, Diagnostic> {
        tz.parse().map_err(|_| {
            self.at(
                tz,
                format!(
                    "unknown time zone `{}`; use an IANA name like `Asia/Tokyo` or `UTC`",
                    tz.as_str()
                ),
            )
        })
    }

    fn duration(
        &self,
        v: Option<&Spanned<String>>,
        default: std::time::Duration,
    ) -> Result<std::time::Duration, Diagnostic> {
        let Some(v) = v else { return Ok(default) };
        humantime::parse_duration(v).map_err(|e| {
            self.at(
                v,
                format!(
                    "invalid duration `{}` ({e}); write it like `90s`, `10m` or `1h 30m`",
                    v.as_str()
                ),
            )
        })
    }

    /// A duration that `bounds` limits to `range`; the default (from `ripple.yaml`) is
    /// checked there.
    pub(super) fn bounded(
        &self,
        what: &str,
        v: Option<&Spanned<String>>,
        default: std::time::Duration,
        range: (std::time::Duration, std::time::Duration),
    ) -> Result<std::time::Duration, Diagnostic> {
        let d = self.duration(v, default)?;
        match v {
            Some(v) => bounds::duration(what, d, range).map_err(|m| self.at(v, m)),
            None => Ok(d),
        }
    }

    /// 0 is an error, not silently 1: it would mean "never open an incident".
    fn min_failures(&self, v: Option<&Spanned<u32>>) -> Result<u32, Diagnostic> {
        let Some(v) = v else {
            return Ok(self.cfg.defaults.min_consecutive_failures);
        };
        bounds::count(
            "min_consecutive_failures",
            **v,
            bounds::CONSECUTIVE_FAILURES,
        )
        .map_err(|m| self.at(v, m))
    }

    fn sample(&self, v: Option<&Spanned<u32>>) -> Result<u32, Diagnostic> {
        match v {
            Some(n) if **n > MAX_SAMPLE => Err(self.at(n, format!(
                "sample is capped at {MAX_SAMPLE} rows (asked for {}); Ripple reports failures, it does not export data",
                **n
            ))),
            Some(n) => Ok(**n),
            None => Ok(0),
        }
    }

    fn check(&self, raw: &RawMonitor) -> Result<Check, Diagnostic> {
        let kind = self.kind(raw)?;
        if !matches!(kind, "rows" | "assert" | "deadline") {
            if let Some(f) = &raw.sql_file {
                return Err(self.at(
                    f,
                    format!("`kind: {kind}` builds its own SQL; remove `sql_file`"),
                ));
            }
            if let Some(q) = &raw.sql {
                return Err(self.at(
                    q,
                    format!("`kind: {kind}` builds its own SQL; remove `sql`"),
                ));
            }
        }
        match (kind, raw) {
            (
                "freshness",
                RawMonitor {
                    freshness: Some(f), ..
                },
            ) => self.freshness(f),
            (
                "row_count",
                RawMonitor {
                    row_count: Some(r), ..
                },
            ) => self.row_count(r),
            (
                "null_ratio",
                RawMonitor {
                    null_ratio: Some(n),
                    ..
                },
            ) => self.null_ratio(n),
            (
                "deadline",
                RawMonitor {
                    deadline: Some(d), ..
                },
            ) => {
                let spec = self.deadline(d, &raw.schedule)?;
                let sql = self.validated_sql(raw, Expect::Rows)?;
                Ok(Check::Deadline { sql, spec })
            }
            ("assert", _) => Ok(Check::Assert {
                sql: self.validated_sql(raw, Expect::Assert)?,
            }),
            _ => Ok(Check::Rows {
                sql: self.validated_sql(raw, Expect::Rows)?,
            }),
        }
    }

    /// The rule's own SQL, validated for what the kind expects.
    fn validated_sql(&self, raw: &RawMonitor, expect: Expect) -> Result<String, Diagnostic> {
        let (sql, origin) = self.sql_text(raw)?;
        sql::validate(&sql, expect).map_err(|p| origin.locate(&p))?;
        Ok(sql)
    }

    /// The monitor's SQL and where its first character sits, inline or from `sql_file`.
    fn sql_text(&self, raw: &RawMonitor) -> Result<(String, Origin), Diagnostic> {
        match (&raw.sql, &raw.sql_file) {
            (Some(_), Some(f)) => Err(self.at(f, "give either `sql` or `sql_file`, not both")),
            (None, None) => Err(self.at(
                &raw.id,
                "missing `sql` (or `sql_file`): the query whose rows are failures",
            )),
            (Some(sql), None) => Ok((sql.to_string(), self.inline_origin(sql))),
            (None, Some(f)) => {
                let path = self
                    .file
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join(f.as_str());
                let real =
                    read::sql_file_path(self.root, self.file, f).map_err(|m| self.at(f, m))?;
                let text = read::sql_file(&real, &path).map_err(|m| self.at(f, m))?;
                Ok((
                    text,
                    Origin {
                        file: path,
                        line: 1,
                        col: 1,
                    },
                ))
            }
        }
    }

    /// Where inline SQL starts in the YAML file: block scalars (`|`, `>`) start on the
    /// next line at its indentation; plain and quoted scalars start at the value.
    fn inline_origin(&self, sql: &Spanned<String>) -> Origin {
        let (line, col) = yaml::line_col(sql.span());
        let src_line = self.text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let at_value = src_line.get(col.saturating_sub(1)..).unwrap_or("");
        let file = self.file.to_path_buf();
        if at_value.starts_with('|') || at_value.starts_with('>') {
            let next = self.text.lines().nth(line).unwrap_or("");
            let indent = next.len() - next.trim_start().len();
            Origin {
                file,
                line: line + 1,
                col: indent + 1,
            }
        } else {
            let quoted = at_value.starts_with('"') || at_value.starts_with('\'');
            Origin {
                file,
                line,
                col: col + usize::from(quoted),
            }
        }
    }
}

/// Whether the schedule fires within `bounds::CRON_HORIZON_YEARS` of a fixed start
/// (2024-01-01, a leap year, in the monitor's zone): `0 0 30 2 *` never does. A fixed
/// start keeps the check pure and its answer the same on every machine.
fn fires(cron: &croner::Cron, tz: chrono_tz::Tz) -> bool {
    use chrono::TimeZone;
    let Some(start) = tz.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).earliest() else {
        return true;
    };
    let end_year = 2024 + bounds::CRON_HORIZON_YEARS;
    let Some(end) = tz.with_ymd_and_hms(end_year, 1, 1, 0, 0, 0).earliest() else {
        return true;
    };
    cron.find_next_occurrence(&start, true)
        .is_ok_and(|next| next < end)
}

/// croner's message without its "Invalid pattern:" prefix and final period.
fn cron_message(e: &croner::errors::CronError) -> String {
    let text = e.to_string();
    let text = text.strip_prefix("Invalid pattern: ").unwrap_or(&text);
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    chars
        .next()
        .map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
}

/// Records a failed step's diagnostic and yields its value when it succeeded.
fn keep<T>(errs: &mut Vec<Diagnostic>, r: Result<T, Diagnostic>) -> Option<T> {
    r.map_err(|d| errs.push(d)).ok()
}

/// Maps a position inside SQL text to a position in the file holding it.
struct Origin {
    file: PathBuf,
    line: usize,
    col: usize,
}

impl Origin {
    fn locate(&self, p: &SqlProblem) -> Diagnostic {
        let line = self.line + p.line - 1;
        // Columns shift only on the SQL's first line (or every line of a block scalar).
        let col = if p.line == 1 || self.col > 1 {
            self.col + p.col - 1
        } else {
            p.col
        };
        Diagnostic::new(&self.file, line, col, p.message.clone())
    }
}
