//! SQL dialects for the lineage engine: the names live in config; here is what each
//! means to sqlparser.

pub use crate::config::{Dialect, UnknownDialect};
use sqlparser::dialect as sp;

impl Dialect {
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
