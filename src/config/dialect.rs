//! SQL dialect names: the small closed enum `lineage.dialect` and `--dialect` accept.
//! The mapping to sqlparser's dialect objects lives with the lineage engine.
//!
//! BigQuery is the default because Ripple targets BigQuery warehouses; the
//! others exist so teams can lineage-check SQL written for other engines and so
//! the ANSI cases of the external yardstick run with the dialect they were
//! written for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
