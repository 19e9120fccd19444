//! Binding domain values to the positional parameters of SQLite statements, one row after another.
//!
//! The values themselves come from the shared [`crate::codec`] (the same columns and encodings as
//! PostgreSQL); what is SQLite's is that a row is bound column by column into a statement that
//! carries one row or, for the bulk rows of a one-device write, up to [`ROWS_PER_STATEMENT`]
//! (`values_sql`), run from each connection's prepared-statement cache.

use sqlx::Sqlite;
use sqlx::sqlite::SqliteArguments;

use bulwark_core::{InstalledPackage, SoftwareKey};

use crate::codec::ecosystem_columns;

/// A query with positional binds, as `sqlx::query` builds it.
pub(super) type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// Binds a package's eight columns, in the order of [`crate::codec::PACKAGE_COLUMNS`].
pub(super) fn bind_package<'q>(query: Query<'q>, p: &'q InstalledPackage) -> Query<'q> {
    let (ecosystem, release) = ecosystem_columns(&p.ecosystem);
    query
        .bind(ecosystem)
        .bind(release)
        .bind(p.name.as_str())
        .bind(p.version.as_str())
        .bind(p.source_name.as_deref())
        .bind(p.source_version.as_deref())
        .bind(p.purl.as_deref())
        .bind(p.cpe.as_deref())
}

/// Binds a software key's four columns, in the order [`crate::codec::software_key`] reads them.
pub(super) fn bind_software_key<'q>(query: Query<'q>, key: &'q SoftwareKey) -> Query<'q> {
    let (ecosystem, release) = ecosystem_columns(&key.ecosystem);
    query
        .bind(ecosystem)
        .bind(release)
        .bind(key.name.as_str())
        .bind(key.version.as_str())
}

/// The most rows one multi-row statement carries: with the widest row (11 columns) that stays far
/// below SQLite's limit of 32,766 parameters, and it makes the statement count of a write of `n` rows
/// `n / 500` instead of `n` — each statement is a round trip to sqlx's SQLite worker thread, which is
/// what a one-device write spent most of its time on.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

// The widest multi-row statement (11 columns a row) stays within SQLite's parameter limit.
const _: () = assert!(ROWS_PER_STATEMENT * 11 < 32_766);

/// `head` followed by `rows` groups of `width` anonymous parameters: `head VALUES (?, ?), (?, ?)`.
pub(super) fn values_sql(head: &str, width: usize, rows: usize) -> String {
    let group = format!("({})", vec!["?"; width].join(", "));
    format!("{head} VALUES {}", vec![group; rows].join(", "))
}

/// A parenthesised list of `n` anonymous parameters, for `IN`: `(?, ?, ?)`.
pub(super) fn list_sql(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

/// Whether a statement of `rows` rows is kept in the connection's statement cache: full chunks
/// repeat, the last one of a write mostly does not.
pub(super) fn persistent(rows: usize) -> bool {
    rows == ROWS_PER_STATEMENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_statements_have_one_parameter_per_value() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b)", 2, 3),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)"
        );
        assert_eq!(list_sql(1), "(?)");
        assert_eq!(list_sql(3), "(?, ?, ?)");
    }
}
