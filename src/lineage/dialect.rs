//! SQL dialect selection: a small closed enum over sqlparser's dialects.
//!
//! BigQuery is the default because Ripple targets BigQuery warehouses; the
//! others exist so teams can lineage-check SQL written for other engines and so
//! the ANSI cases of the external yardstick run with the dialect they were
//! written for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlparser::dialect as sp;

/// A SQL dialect understood by the extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    BigQuery,
    Ansi,
    Generic,
    Postgres,
    Snowflake,
    MySql,
    DuckDb,
}

impl Dialect {
    /// Every dialect, for help texts and error messages.
    pub const ALL: [Dialect; 7] = [
        Dialect::BigQuery,
        Dialect::Ansi,
        Dialect::Generic,
        Dialect::Postgres,
        Dialect::Snowflake,
        Dialect::MySql,
        Dialect::DuckDb,
    ];

    /// The canonical lowercase name (what `FromStr` accepts).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::BigQuery => "bigquery",
            Dialect::Ansi => "ansi",
            Dialect::Generic => "generic",
            Dialect::Postgres => "postgres",
            Dialect::Snowflake => "snowflake",
            Dialect::MySql => "mysql",
            Dialect::DuckDb => "duckdb",
        }
    }

    /// The sqlparser dialect object. They are all zero-sized, so a `'static`
    /// reference avoids boxing on every call.
    pub(crate) fn parser_dialect(self) -> &'static dyn sp::Dialect {
        match self {
            Dialect::BigQuery => &sp::BigQueryDialect,
            Dialect::Ansi => &sp::AnsiDialect {},
            Dialect::Generic => &sp::GenericDialect {},
            Dialect::Postgres => &sp::PostgreSqlDialect {},
            Dialect::Snowflake => &sp::SnowflakeDialect,
            Dialect::MySql => &sp::MySqlDialect {},
            Dialect::DuckDb => &sp::DuckDbDialect {},
        }
    }

    /// BigQuery resolves identifiers case-insensitively except for
    /// dataset/table parts, and splits dotted backtick names.
    pub(crate) fn is_bigquery(self) -> bool {
        self == Dialect::BigQuery
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown dialect name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown SQL dialect `{0}` (expected one of: bigquery, ansi, generic, postgres, snowflake, mysql, duckdb)"
)]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "bq" | "googlesql" => Some(Dialect::BigQuery),
            "postgresql" => Some(Dialect::Postgres),
            other => Dialect::ALL.into_iter().find(|d| d.name() == other),
        };
        found.ok_or_else(|| UnknownDialect(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_aliases() {
        assert_eq!("BigQuery".parse::<Dialect>(), Ok(Dialect::BigQuery));
        assert_eq!("postgresql".parse::<Dialect>(), Ok(Dialect::Postgres));
        assert!("oracle9".parse::<Dialect>().is_err());
        for d in Dialect::ALL {
            assert_eq!(d.name().parse::<Dialect>(), Ok(d));
        }
        assert_eq!(Dialect::default(), Dialect::BigQuery);
    }
}
