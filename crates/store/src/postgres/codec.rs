//! Conversions between Bulwark's domain values and the column values of the PostgreSQL schema.
//!
//! Decoding mirrors the SQLite backend's codec: every decode names the table it reads, so that a row
//! that cannot be decoded surfaces as [`StoreError::Corrupt`] pointing at the right place. Encoding
//! goes the other way in bulk: [`PackageColumns`] and [`SoftwareKeyColumns`] turn a list of rows into
//! one array per column, bound once each and expanded by `UNNEST` on the server, so that writing
//! thousands of rows is one statement and one round trip.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Decode, Postgres, Row, Type};

use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, SoftwareKey};

use crate::{StoreError, StoreResult};

/// A query with positional binds, as `sqlx::query` builds it.
pub(super) type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// The error for a stored value that cannot be decoded.
pub(super) fn corrupt(table: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: reason.into(),
    }
}

/// One column of a row, a decode failure reported as corruption of `table`.
pub(super) fn get<'r, T>(row: &'r PgRow, table: &'static str, column: &str) -> StoreResult<T>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column)
        .map_err(|e| corrupt(table, format!("column {column}: {e}")))
}

/// A time as stored: microseconds since the Unix epoch (sub-microsecond precision is dropped).
pub(super) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A stored time column back as a UTC time.
pub(super) fn time_column(
    row: &PgRow,
    table: &'static str,
    column: &str,
) -> StoreResult<DateTime<Utc>> {
    let us: i64 = get(row, table, column)?;
    from_micros(table, column, us)
}

/// A nullable stored time column back as a UTC time.
pub(super) fn optional_time_column(
    row: &PgRow,
    table: &'static str,
    column: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    let us: Option<i64> = get(row, table, column)?;
    us.map(|us| from_micros(table, column, us)).transpose()
}

fn from_micros(table: &'static str, column: &str, us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| {
        corrupt(
            table,
            format!("column {column}: {us} µs is outside the representable times"),
        )
    })
}

/// An RFC 3339 time (any offset) as microseconds since the Unix epoch.
pub(super) fn rfc3339_micros(text: &str) -> Result<i64, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| micros(t.with_timezone(&Utc)))
}

/// A JSON array of strings from a TEXT column.
pub(super) fn string_list(
    row: &PgRow,
    table: &'static str,
    column: &str,
) -> StoreResult<Vec<String>> {
    let text: String = get(row, table, column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(table, format!("column {column}: {e}")))
}

/// A list of strings as the JSON array text stored for it.
pub(super) fn string_list_json(list: &[String]) -> String {
    // Serialising strings into a JSON array cannot fail; the fallback keeps this total anyway.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

/// The `ecosystem` and `release` columns back as an [`EcosystemRelease`].
fn ecosystem_release(row: &PgRow, table: &'static str) -> StoreResult<EcosystemRelease> {
    let name: String = get(row, table, "ecosystem")?;
    let ecosystem = Ecosystem::from_osv_name(&name).ok_or_else(|| {
        corrupt(
            table,
            format!("column ecosystem: unknown ecosystem {name:?}"),
        )
    })?;
    let release: Option<String> = get(row, table, "release")?;
    Ok(EcosystemRelease { ecosystem, release })
}

/// A package from the columns `ecosystem, release, name, version, source_name, source_version, purl, cpe`.
pub(super) fn package(row: &PgRow, table: &'static str) -> StoreResult<InstalledPackage> {
    Ok(InstalledPackage {
        ecosystem: ecosystem_release(row, table)?,
        name: get(row, table, "name")?,
        version: get(row, table, "version")?,
        source_name: get(row, table, "source_name")?,
        source_version: get(row, table, "source_version")?,
        purl: get(row, table, "purl")?,
        cpe: get(row, table, "cpe")?,
    })
}

/// A software key from the columns `ecosystem, release, name, version`.
pub(super) fn software_key(row: &PgRow, table: &'static str) -> StoreResult<SoftwareKey> {
    Ok(SoftwareKey {
        ecosystem: ecosystem_release(row, table)?,
        name: get(row, table, "name")?,
        version: get(row, table, "version")?,
    })
}

/// The `UNNEST` arguments and column list of [`PackageColumns`], in the order [`package`] reads them.
pub(super) const UNNEST_PACKAGE: &str = "$2::text[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::text[], $8::text[], $9::text[]";

/// Packages as one array per column, for one `INSERT … SELECT … FROM UNNEST(…)`.
#[derive(Debug, Default)]
pub(super) struct PackageColumns<'a> {
    ecosystem: Vec<&'static str>,
    release: Vec<Option<&'a str>>,
    name: Vec<&'a str>,
    version: Vec<&'a str>,
    source_name: Vec<Option<&'a str>>,
    source_version: Vec<Option<&'a str>>,
    purl: Vec<Option<&'a str>>,
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
            columns.ecosystem.push(p.ecosystem.ecosystem.osv_name());
            columns.release.push(p.ecosystem.release.as_deref());
            columns.name.push(&p.name);
            columns.version.push(&p.version);
            columns.source_name.push(p.source_name.as_deref());
            columns.source_version.push(p.source_version.as_deref());
            columns.purl.push(p.purl.as_deref());
            columns.cpe.push(p.cpe.as_deref());
        }
        columns
    }

    /// Binds the eight arrays, as the placeholders of [`UNNEST_PACKAGE`] expect after one earlier bind.
    pub(super) fn bind(self, query: Query<'a>) -> Query<'a> {
        query
            .bind(self.ecosystem)
            .bind(self.release)
            .bind(self.name)
            .bind(self.version)
            .bind(self.source_name)
            .bind(self.source_version)
            .bind(self.purl)
            .bind(self.cpe)
    }
}

/// Software keys as one array per column (`ecosystem, release, name, version`), for `UNNEST`.
#[derive(Debug, Default)]
pub(super) struct SoftwareKeyColumns<'a> {
    ecosystem: Vec<&'static str>,
    release: Vec<Option<&'a str>>,
    name: Vec<&'a str>,
    version: Vec<&'a str>,
}

impl<'a> SoftwareKeyColumns<'a> {
    /// Adds one key.
    pub(super) fn push(&mut self, key: &'a SoftwareKey) {
        self.ecosystem.push(key.ecosystem.ecosystem.osv_name());
        self.release.push(key.ecosystem.release.as_deref());
        self.name.push(&key.name);
        self.version.push(&key.version);
    }

    /// Binds the four arrays, in the order [`software_key`] reads the columns.
    pub(super) fn bind(self, query: Query<'a>) -> Query<'a> {
        query
            .bind(self.ecosystem)
            .bind(self.release)
            .bind(self.name)
            .bind(self.version)
    }
}

/// The order in which package lists are returned: by ecosystem, name, version, then the rest.
pub(super) fn package_cmp(a: &InstalledPackage, b: &InstalledPackage) -> Ordering {
    (&a.ecosystem, &a.name, &a.version)
        .cmp(&(&b.ecosystem, &b.name, &b.version))
        .then_with(|| {
            (&a.source_name, &a.source_version, &a.purl, &a.cpe).cmp(&(
                &b.source_name,
                &b.source_version,
                &b.purl,
                &b.cpe,
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_compare_as_instants() {
        let z = rfc3339_micros("2024-01-01T09:00:00Z").unwrap();
        assert!(rfc3339_micros("2024-01-01T10:00:00+02:00").unwrap() < z);
        assert!(rfc3339_micros("2024-01-01T09:00:00.5Z").unwrap() > z);
        assert_eq!(
            rfc3339_micros("2024-01-01T09:00:00.000001Z").unwrap(),
            z + 1
        );
        assert!(rfc3339_micros("2024-01-01").is_err());
        assert!(rfc3339_micros("yesterday").is_err());
    }

    #[test]
    fn times_round_trip_through_micros() {
        let t = DateTime::parse_from_rfc3339("2031-05-06T07:08:09.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(from_micros("t", "c", micros(t)).unwrap(), t);
        assert!(matches!(
            from_micros("t", "c", i64::MAX),
            Err(StoreError::Corrupt { table: "t", .. })
        ));
    }
}
