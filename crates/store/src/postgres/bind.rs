//! Binding lists of rows to PostgreSQL statements as one array per column.
//!
//! The values themselves come from the shared [`crate::codec`] (the same columns and encodings as
//! SQLite); what is PostgreSQL's is the shape: [`PackageColumns`] and [`SoftwareKeyColumns`] turn a
//! list of rows into one array per column, bound once each and expanded by `UNNEST` on the server, so
//! that writing thousands of rows is one statement and one round trip; [`copy_package`] and
//! [`copy_key`] write the same columns as rows of a `COPY … FROM STDIN`, for the large lists.

use sqlx::Postgres;
use sqlx::postgres::PgArguments;

use bulwark_core::{EcosystemRelease, InstalledPackage, SoftwareKey};

use super::copy::CopyRows;
use crate::codec::ecosystem_columns;

/// A query with positional binds, as `sqlx::query` builds it.
pub(super) type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// The `UNNEST` arguments of [`PackageColumns`], in the order of [`crate::codec::PACKAGE_COLUMNS`].
pub(super) const UNNEST_PACKAGE: &str = "$2::text[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::text[], $8::text[], $9::text[]";

/// Packages as one array per column, for one `INSERT … SELECT … FROM UNNEST(…)`.
#[derive(Debug, Default)]
pub(super) struct PackageColumns<'a> {
    /// `ecosystem` and the three columns after it, as for a software key.
    key: SoftwareKeyColumns<'a>,
    /// `source_name`.
    source_name: Vec<Option<&'a str>>,
    /// `source_version`.
    source_version: Vec<Option<&'a str>>,
    /// `purl`.
    purl: Vec<Option<&'a str>>,
    /// `cpe`.
    cpe: Vec<Option<&'a str>>,
}

impl<'a> PackageColumns<'a> {
    /// The columns of `packages`, in the order given.
    pub(super) fn new<I>(packages: I) -> PackageColumns<'a>
    where
        I: IntoIterator<Item = &'a InstalledPackage>,
    {
        let mut columns = PackageColumns::default();
        for p in packages {
            columns.key.push_columns(&p.ecosystem, &p.name, &p.version);
            columns.source_name.push(p.source_name.as_deref());
            columns.source_version.push(p.source_version.as_deref());
            columns.purl.push(p.purl.as_deref());
            columns.cpe.push(p.cpe.as_deref());
        }
        columns
    }

    /// Binds the eight arrays, as the placeholders of [`UNNEST_PACKAGE`] expect after one earlier bind.
    pub(super) fn bind(self, query: Query<'a>) -> Query<'a> {
        self.key
            .bind(query)
            .bind(self.source_name)
            .bind(self.source_version)
            .bind(self.purl)
            .bind(self.cpe)
    }
}

/// Software keys as one array per column (`ecosystem, release, name, version`), for `UNNEST`.
#[derive(Debug, Default)]
pub(super) struct SoftwareKeyColumns<'a> {
    /// `ecosystem`.
    ecosystem: Vec<&'static str>,
    /// `release`.
    release: Vec<Option<&'a str>>,
    /// `name`.
    name: Vec<&'a str>,
    /// `version`.
    version: Vec<&'a str>,
}

impl<'a> SoftwareKeyColumns<'a> {
    /// Adds one key.
    pub(super) fn push(&mut self, key: &'a SoftwareKey) {
        self.push_columns(&key.ecosystem, &key.name, &key.version);
    }

    /// Adds the four key columns of a software key or a package.
    fn push_columns(&mut self, ecosystem: &'a EcosystemRelease, name: &'a str, version: &'a str) {
        let (ecosystem, release) = ecosystem_columns(ecosystem);
        self.ecosystem.push(ecosystem);
        self.release.push(release);
        self.name.push(name);
        self.version.push(version);
    }

    /// Binds the four arrays, in the order [`crate::codec::software_key`] reads the columns.
    pub(super) fn bind(self, query: Query<'a>) -> Query<'a> {
        query
            .bind(self.ecosystem)
            .bind(self.release)
            .bind(self.name)
            .bind(self.version)
    }
}

/// Adds the columns of [`crate::codec::PACKAGE_COLUMNS`] of `package` to the current COPY row.
pub(super) fn copy_package(rows: &mut CopyRows, package: &InstalledPackage) {
    copy_key_columns(rows, &package.ecosystem, &package.name, &package.version);
    rows.text_or_null(package.source_name.as_deref())
        .text_or_null(package.source_version.as_deref())
        .text_or_null(package.purl.as_deref())
        .text_or_null(package.cpe.as_deref());
}

/// Adds the four key columns (`ecosystem, release, name, version`) of `key` to the current COPY row.
pub(super) fn copy_key(rows: &mut CopyRows, key: &SoftwareKey) {
    copy_key_columns(rows, &key.ecosystem, &key.name, &key.version);
}

/// Adds the four key columns of a software key or a package to the current COPY row.
fn copy_key_columns(rows: &mut CopyRows, ecosystem: &EcosystemRelease, name: &str, version: &str) {
    let (ecosystem, release) = ecosystem_columns(ecosystem);
    rows.text(ecosystem)
        .text_or_null(release)
        .text(name)
        .text(version);
}
