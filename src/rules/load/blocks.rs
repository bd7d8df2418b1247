//! The kind blocks of a rule (`freshness:`, `row_count:`, `null_ratio:`, `deadline:`):
//! as written, and validated into `rules::kinds` specs with every problem located.

use super::{Ctx, RawMonitor, RawSchedule};
use crate::bounds;
use crate::diag::Diagnostic;
use crate::rules::sql::{self, Expect};
use crate::rules::{Check, kinds};
use marked_yaml::Spanned;
use serde::Deserialize;

/// `freshness: { table, column, max_age }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFreshness {
    pub(super) table: Spanned<String>,
    pub(super) column: Spanned<String>,
    pub(super) max_age: Spanned<String>,
}

/// `row_count: { table, min, max, where }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRowCount {
    pub(super) table: Spanned<String>,
    pub(super) min: Option<u64>,
    pub(super) max: Option<u64>,
    #[serde(rename = "where")]
    pub(super) filter: Option<Spanned<String>>,
}

/// `null_ratio: { table, column, window, max_shift, where, min_history }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNullRatio {
    pub(super) table: Spanned<String>,
    pub(super) column: Spanned<String>,
    pub(super) window: Option<Spanned<String>>,
    pub(super) max_shift: Spanned<f64>,
    #[serde(rename = "where")]
    pub(super) filter: Option<Spanned<String>>,
    pub(super) min_history: Option<Spanned<u32>>,
}

/// `deadline: { at, timezone, breach_window }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeadline {
    pub(super) at: Spanned<String>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) breach_window: Option<Spanned<String>>,
}

impl Ctx<'_> {
    /// The kind: `kind:` when given (it must match a kind block), else the one kind
    /// block present, else `rows`.
    pub(super) fn kind(&self, raw: &RawMonitor) -> Result<&'static str, Diagnostic> {
        let blocks: Vec<&'static str> = [
            ("freshness", raw.freshness.is_some()),
            ("row_count", raw.row_count.is_some()),
            ("null_ratio", raw.null_ratio.is_some()),
            ("deadline", raw.deadline.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, present)| present.then_some(k))
        .collect();
        if blocks.len() > 1 {
            let msg = format!(
                "a monitor has one kind, but this one has blocks for {}",
                blocks.join(", ")
            );
            return Err(self.at(&raw.id, msg));
        }
        let Some(k) = &raw.kind else {
            return Ok(blocks.first().copied().unwrap_or("rows"));
        };
        let Some(kind) = Check::KINDS.iter().copied().find(|c| *c == k.as_str()) else {
            let msg = format!(
                "unknown monitor kind `{}`; expected one of: {}",
                k.as_str(),
                Check::KINDS.join(", ")
            );
            return Err(self.at(k, msg));
        };
        match blocks.first() {
            Some(b) if *b != kind => {
                Err(self.at(k, format!("`kind: {kind}` does not match the `{b}:` block")))
            }
            None if !matches!(kind, "rows" | "assert") => Err(self.at(
                k,
                format!(
                    "a monitor of `kind: {kind}` needs a `{kind}:` block, like {}",
                    example(kind)
                ),
            )),
            _ => Ok(kind),
        }
    }

    /// Compiled SQL goes through the same read-only validation; a problem can only come
    /// from a `where:` filter, so it is reported there (or at the table).
    pub(super) fn compiled(&self, sql: String, at: &Spanned<String>) -> Result<String, Diagnostic> {
        sql::validate(&sql, Expect::Rows).map_err(|p| self.at(at, p.message))?;
        Ok(sql)
    }

    pub(super) fn table(&self, t: &Spanned<String>) -> Result<String, Diagnostic> {
        if kinds::valid_table(t) {
            return Ok(t.to_string());
        }
        Err(self.at(
            t,
            format!(
                "invalid table `{}`; write it as `dataset.table` or `project.dataset.table`",
                t.as_str()
            ),
        ))
    }

    pub(super) fn column(&self, c: &Spanned<String>) -> Result<String, Diagnostic> {
        if kinds::valid_column(c) {
            return Ok(c.to_string());
        }
        Err(self.at(
            c,
            format!("invalid column `{}`; use a plain column name", c.as_str()),
        ))
    }

    pub(super) fn freshness(&self, f: &RawFreshness) -> Result<Check, Diagnostic> {
        let spec = kinds::Freshness {
            table: self.table(&f.table)?,
            column: self.column(&f.column)?,
            max_age: self.bounded(
                "max_age",
                Some(&f.max_age),
                Default::default(),
                bounds::KIND_WINDOW,
            )?,
        };
        let sql = self.compiled(spec.sql(), &f.table)?;
        Ok(Check::Freshness { sql, spec })
    }

    pub(super) fn row_count(&self, r: &RawRowCount) -> Result<Check, Diagnostic> {
        let spec = kinds::RowCount {
            table: self.table(&r.table)?,
            min: r.min,
            max: r.max,
            filter: r.filter.as_ref().map(|f| f.to_string()),
        };
        match (spec.min, spec.max) {
            (None, None) => return Err(self.at(&r.table, "row_count needs `min`, `max` or both")),
            (Some(lo), Some(hi)) if lo > hi => {
                return Err(self.at(
                    &r.table,
                    format!("row_count `min` ({lo}) is above `max` ({hi})"),
                ));
            }
            _ => {}
        }
        let sql = self.compiled(spec.sql(), r.filter.as_ref().unwrap_or(&r.table))?;
        Ok(Check::RowCount { sql, spec })
    }

    pub(super) fn null_ratio(&self, n: &RawNullRatio) -> Result<Check, Diagnostic> {
        let week = std::time::Duration::from_secs(7 * 86400);
        let shift = *n.max_shift;
        if !(shift > 0.0 && shift <= 1.0) {
            return Err(self.at(
                &n.max_shift,
                format!("max_shift is a share between 0 and 1, like 0.2 (got {shift})"),
            ));
        }
        let spec = kinds::NullRatio {
            table: self.table(&n.table)?,
            column: self.column(&n.column)?,
            window: self.bounded("window", n.window.as_ref(), week, bounds::KIND_WINDOW)?,
            max_shift: shift,
            filter: n.filter.as_ref().map(|f| f.to_string()),
            min_history: self.min_history(n.min_history.as_ref())?,
        };
        let sql = self.compiled(spec.sql(), n.filter.as_ref().unwrap_or(&n.table))?;
        Ok(Check::NullRatio { sql, spec })
    }

    /// 0 is an error, not silently 1: a ratio is judged against at least one measurement.
    fn min_history(&self, v: Option<&Spanned<u32>>) -> Result<u32, Diagnostic> {
        let Some(v) = v else { return Ok(3) };
        bounds::count("min_history", **v, bounds::MIN_HISTORY).map_err(|m| self.at(v, m))
    }

    /// The deadline's zone defaults to the schedule's: both describe the same batch.
    pub(super) fn deadline(
        &self,
        d: &RawDeadline,
        schedule: &RawSchedule,
    ) -> Result<kinds::Deadline, Diagnostic> {
        let at = chrono::NaiveTime::parse_from_str(&d.at, "%H:%M:%S")
            .or_else(|_| chrono::NaiveTime::parse_from_str(&d.at, "%H:%M"))
            .map_err(|_| {
                self.at(
                    &d.at,
                    format!(
                        "invalid deadline `{}`; write it as `HH:MM` or `HH:MM:SS`",
                        d.at.as_str()
                    ),
                )
            })?;
        let tz = match d.timezone.as_ref().or(schedule.timezone.as_ref()) {
            None => chrono_tz::UTC,
            Some(tz) => self.timezone(tz)?,
        };
        let six_hours = std::time::Duration::from_secs(6 * 3600);
        Ok(kinds::Deadline {
            at,
            tz,
            breach_window: self.bounded(
                "breach_window",
                d.breach_window.as_ref(),
                six_hours,
                bounds::KIND_WINDOW,
            )?,
        })
    }
}

/// A one-line example of each kind's block, for "needs a block" messages.
fn example(kind: &str) -> &'static str {
    match kind {
        "freshness" => "`freshness: { table: shop.orders, column: ordered_at, max_age: 6h }`",
        "row_count" => "`row_count: { table: shop.orders, min: 1 }`",
        "null_ratio" => {
            "`null_ratio: { table: shop.orders, column: processed_at, max_shift: 0.2 }`"
        }
        _ => {
            "`deadline: { at: \"23:59:59\", timezone: Asia/Tokyo }` with `sql:` returning unfinished rows"
        }
    }
}
