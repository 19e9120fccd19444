//! Binding domain values to the positional parameters of SQLite statements, one row at a time.
//!
//! The values themselves come from the shared [`crate::codec`] (the same columns and encodings as
//! PostgreSQL); what is SQLite's is that each row is its own statement execution with one bind per
//! column, which sqlx runs from each connection's prepared-statement cache.

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
