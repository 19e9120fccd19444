//! Conversions between Bulwark's domain values and the column values of the store's schema, shared by
//! both backends.
//!
//! The SQLite and PostgreSQL schemas have the same tables, columns and units (times are BIGINT
//! microseconds since the Unix epoch, lists and advisory records are JSON text, an ecosystem is its
//! name — OSV's, or `CPE` for CPE-only software — as TEXT with the release in a column of its own),
//! so one codec serves both. Rows are read through [`StoredRow`], which any sqlx row whose backend
//! decodes integers and text implements. Every decode names the table it reads, so that a row that
//! cannot be decoded surfaces as [`StoreError::Corrupt`] pointing at the right place instead of as a
//! generic database error.
//!
//! The column lists here ([`DEVICE_COLUMNS`], [`PACKAGE_COLUMNS`], [`WEAKNESS_COLUMNS`]) are the
//! columns the decoders read, for the backends' `SELECT`s; the statements themselves stay with each
//! backend.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use bulwark_core::group::DeviceGroup;
use bulwark_core::score::DeviceValue;
use bulwark_core::threat::{KevEntry, NvdRecord};
use bulwark_core::{
    Advisory, Device, DeviceId, DeviceInfo, Ecosystem, EcosystemRelease, InstalledPackage,
    SoftwareKey, Weakness,
};

use crate::{InventoryChange, ScoreScope, ScoreSnapshot, StoreError, StoreResult};

/// The columns [`device`] reads, in the order the `devices` table declares them.
pub(crate) const DEVICE_COLUMNS: &str =
    "id, name, os, device_group, tags, value, first_seen, last_seen";

/// The columns [`device_group`] reads.
pub(crate) const GROUP_COLUMNS: &str = "id, name, description, rank, rules";

/// The columns [`score_snapshot`] reads.
pub(crate) const SNAPSHOT_COLUMNS: &str = "at, scope, scope_name, exposure, configuration";

/// The columns [`package`] reads; the first four are the ones [`software_key`] reads.
pub(crate) const PACKAGE_COLUMNS: &str =
    "ecosystem, release, name, version, source_name, source_version, purl, cpe";

/// The columns [`weakness`] reads.
pub(crate) const WEAKNESS_COLUMNS: &str = "device_id, ecosystem, release, name, version, vulnerability_id, advisory_ids, first_detected, resolved";

/// The `change` of an inventory change row for a package that appeared.
pub(crate) const APPEARED: &str = "appeared";

/// The `change` of an inventory change row for a package that disappeared.
pub(crate) const DISAPPEARED: &str = "disappeared";

/// A row of either backend, read by column name; a value that cannot be decoded is reported as
/// corruption of `table`. These column types are all the schema uses (the nullable boolean only for
/// `copy`, which reads every column as nullable).
pub(crate) trait StoredRow {
    /// A non-null boolean column.
    fn boolean(&self, table: &'static str, column: &str) -> StoreResult<bool>;
    /// A nullable boolean column.
    fn optional_boolean(&self, table: &'static str, column: &str) -> StoreResult<Option<bool>>;
    /// A non-null floating-point column.
    fn real(&self, table: &'static str, column: &str) -> StoreResult<f64>;
    /// A nullable floating-point column.
    fn optional_real(&self, table: &'static str, column: &str) -> StoreResult<Option<f64>>;
    /// A non-null integer column.
    fn integer(&self, table: &'static str, column: &str) -> StoreResult<i64>;
    /// A nullable integer column.
    fn optional_integer(&self, table: &'static str, column: &str) -> StoreResult<Option<i64>>;
    /// A non-null text column.
    fn text(&self, table: &'static str, column: &str) -> StoreResult<String>;
    /// A nullable text column.
    fn optional_text(&self, table: &'static str, column: &str) -> StoreResult<Option<String>>;
}

impl<R> StoredRow for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn boolean(&self, table: &'static str, column: &str) -> StoreResult<bool> {
        get(self, table, column)
    }

    fn optional_boolean(&self, table: &'static str, column: &str) -> StoreResult<Option<bool>> {
        get(self, table, column)
    }

    fn real(&self, table: &'static str, column: &str) -> StoreResult<f64> {
        get(self, table, column)
    }

    fn optional_real(&self, table: &'static str, column: &str) -> StoreResult<Option<f64>> {
        get(self, table, column)
    }

    fn integer(&self, table: &'static str, column: &str) -> StoreResult<i64> {
        get(self, table, column)
    }

    fn optional_integer(&self, table: &'static str, column: &str) -> StoreResult<Option<i64>> {
        get(self, table, column)
    }

    fn text(&self, table: &'static str, column: &str) -> StoreResult<String> {
        get(self, table, column)
    }

    fn optional_text(&self, table: &'static str, column: &str) -> StoreResult<Option<String>> {
        get(self, table, column)
    }
}

/// One column of a row, a decode failure reported as corruption of `table`.
fn get<'r, R, T>(row: &'r R, table: &'static str, column: &str) -> StoreResult<T>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column)
        .map_err(|e| corrupt(table, format!("column {column}: {e}")))
}

/// The error for a stored value that cannot be decoded (or a value that cannot be encoded for storing).
pub(crate) fn corrupt(table: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: reason.into(),
    }
}

/// A time as stored: microseconds since the Unix epoch (sub-microsecond precision is dropped).
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A stored time column back as a UTC time.
pub(crate) fn time_column(
    row: &impl StoredRow,
    table: &'static str,
    column: &str,
) -> StoreResult<DateTime<Utc>> {
    let us = row.integer(table, column)?;
    from_micros(table, column, us)
}

/// A nullable stored time column back as a UTC time.
pub(crate) fn optional_time_column(
    row: &impl StoredRow,
    table: &'static str,
    column: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    let us = row.optional_integer(table, column)?;
    us.map(|us| from_micros(table, column, us)).transpose()
}

/// Stored microseconds back as a UTC time, or corruption of `table` when no time has that many.
fn from_micros(table: &'static str, column: &str, us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| {
        corrupt(
            table,
            format!("column {column}: {us} µs is outside the representable times"),
        )
    })
}

/// An RFC 3339 time (any offset) as microseconds since the Unix epoch.
pub(crate) fn rfc3339_micros(text: &str) -> Result<i64, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| micros(t.with_timezone(&Utc)))
}

/// A JSON array of strings from a TEXT column.
pub(crate) fn string_list(
    row: &impl StoredRow,
    table: &'static str,
    column: &str,
) -> StoreResult<Vec<String>> {
    let text = row.text(table, column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(table, format!("column {column}: {e}")))
}

/// A list of strings as the JSON array text stored for it.
pub(crate) fn string_list_json(list: &[String]) -> String {
    // Serialising strings into a JSON array cannot fail; the fallback keeps this total anyway.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

/// An advisory as the JSON text of the `record` column.
pub(crate) fn advisory_json(advisory: &Advisory) -> StoreResult<String> {
    serde_json::to_string(advisory).map_err(|e| {
        corrupt(
            "advisories",
            format!("advisory {:?} cannot be encoded: {e}", advisory.id),
        )
    })
}

/// An advisory from a row's `record` column.
pub(crate) fn advisory(row: &impl StoredRow) -> StoreResult<Advisory> {
    let record = row.text("advisories", "record")?;
    serde_json::from_str(&record).map_err(|e| corrupt("advisories", format!("column record: {e}")))
}

/// A device's fields as `upsert_device` stores them: `None` keeps the stored value.
#[derive(Debug)]
pub(crate) struct DeviceUpdate<'a> {
    /// The unique name.
    pub(crate) name: &'a str,
    /// The OS, unless empty or blank.
    pub(crate) os: Option<&'a str>,
    /// The group, unless empty or blank.
    pub(crate) group: Option<&'a str>,
    /// The tags as JSON text, unless there are none.
    pub(crate) tags: Option<String>,
}

impl<'a> DeviceUpdate<'a> {
    /// The column values of `info`.
    pub(crate) fn new(info: &'a DeviceInfo) -> DeviceUpdate<'a> {
        DeviceUpdate {
            name: &info.name,
            os: given(&info.os),
            group: given(&info.group),
            tags: (!info.tags.is_empty()).then(|| string_list_json(&info.tags)),
        }
    }
}

/// An optional text field as stored: empty or blank counts as not given.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// A device from the columns [`DEVICE_COLUMNS`].
pub(crate) fn device(row: &impl StoredRow) -> StoreResult<Device> {
    const T: &str = "devices";
    Ok(Device {
        id: DeviceId(row.integer(T, "id")?),
        name: row.text(T, "name")?,
        os: row.optional_text(T, "os")?,
        group: row.optional_text(T, "device_group")?,
        tags: string_list(row, T, "tags")?,
        value: device_value(&row.text(T, "value")?)
            .ok_or_else(|| corrupt(T, "column value: not Low, Normal or High"))?,
        first_seen: time_column(row, T, "first_seen")?,
        last_seen: time_column(row, T, "last_seen")?,
    })
}

/// The `ecosystem` and `release` column values of an [`EcosystemRelease`].
pub(crate) fn ecosystem_columns(ecosystem: &EcosystemRelease) -> (&'static str, Option<&str>) {
    (ecosystem.ecosystem.name(), ecosystem.release.as_deref())
}

/// The `ecosystem` and `release` columns back as an [`EcosystemRelease`].
fn ecosystem_release(row: &impl StoredRow, table: &'static str) -> StoreResult<EcosystemRelease> {
    let name = row.text(table, "ecosystem")?;
    let ecosystem = Ecosystem::from_name(&name).ok_or_else(|| {
        corrupt(
            table,
            format!("column ecosystem: unknown ecosystem {name:?}"),
        )
    })?;
    let release = row.optional_text(table, "release")?;
    Ok(EcosystemRelease { ecosystem, release })
}

/// A package from the columns [`PACKAGE_COLUMNS`].
pub(crate) fn package(row: &impl StoredRow, table: &'static str) -> StoreResult<InstalledPackage> {
    Ok(InstalledPackage {
        ecosystem: ecosystem_release(row, table)?,
        name: row.text(table, "name")?,
        version: row.text(table, "version")?,
        source_name: row.optional_text(table, "source_name")?,
        source_version: row.optional_text(table, "source_version")?,
        purl: row.optional_text(table, "purl")?,
        cpe: row.optional_text(table, "cpe")?,
    })
}

/// A software key from the columns `ecosystem, release, name, version`.
pub(crate) fn software_key(row: &impl StoredRow, table: &'static str) -> StoreResult<SoftwareKey> {
    Ok(SoftwareKey {
        ecosystem: ecosystem_release(row, table)?,
        name: row.text(table, "name")?,
        version: row.text(table, "version")?,
    })
}

/// A row of `device_software` with its id, from the columns `id` and [`PACKAGE_COLUMNS`].
pub(crate) fn stored_package(row: &impl StoredRow) -> StoreResult<(i64, InstalledPackage)> {
    const T: &str = "device_software";
    Ok((row.integer(T, "id")?, package(row, T)?))
}

/// A package of `device_software` from the columns [`PACKAGE_COLUMNS`].
pub(crate) fn software(row: &impl StoredRow) -> StoreResult<InstalledPackage> {
    package(row, "device_software")
}

/// A row of `device_software` with its device, from the columns `device_id` and [`PACKAGE_COLUMNS`].
pub(crate) fn device_package(row: &impl StoredRow) -> StoreResult<(DeviceId, InstalledPackage)> {
    const T: &str = "device_software";
    Ok((DeviceId(row.integer(T, "device_id")?), package(row, T)?))
}

/// An inventory change from the columns `at, change` and [`PACKAGE_COLUMNS`].
pub(crate) fn inventory_change(row: &impl StoredRow) -> StoreResult<InventoryChange> {
    const T: &str = "inventory_changes";
    let change = row.text(T, "change")?;
    if change != APPEARED && change != DISAPPEARED {
        return Err(corrupt(
            T,
            format!("column change: unknown change {change:?}"),
        ));
    }
    Ok(InventoryChange {
        at: time_column(row, T, "at")?,
        change,
        package: package(row, T)?,
    })
}

/// A weakness from the columns [`WEAKNESS_COLUMNS`].
pub(crate) fn weakness(row: &impl StoredRow) -> StoreResult<Weakness> {
    const T: &str = "weaknesses";
    Ok(Weakness {
        device_id: DeviceId(row.integer(T, "device_id")?),
        software: software_key(row, T)?,
        vulnerability_id: row.text(T, "vulnerability_id")?,
        advisory_ids: string_list(row, T, "advisory_ids")?,
        first_detected: time_column(row, T, "first_detected")?,
        resolved: optional_time_column(row, T, "resolved")?,
    })
}

/// An open weakness row as `replace_weaknesses` compares it with what is detected now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenWeakness {
    /// The row id.
    pub(crate) id: i64,
    /// The vulnerable software.
    pub(crate) software: SoftwareKey,
    /// The vulnerability.
    pub(crate) vulnerability_id: String,
    /// The advisories that reported it when it was last written.
    pub(crate) advisory_ids: Vec<String>,
}

/// An open weakness from the columns `id, ecosystem, release, name, version, vulnerability_id,
/// advisory_ids`.
pub(crate) fn open_weakness(row: &impl StoredRow) -> StoreResult<OpenWeakness> {
    const T: &str = "weaknesses";
    Ok(OpenWeakness {
        id: row.integer(T, "id")?,
        software: software_key(row, T)?,
        vulnerability_id: row.text(T, "vulnerability_id")?,
        advisory_ids: string_list(row, T, "advisory_ids")?,
    })
}

/// The order in which package lists are returned: by ecosystem, name, version, then the rest.
pub(crate) fn package_cmp(a: &InstalledPackage, b: &InstalledPackage) -> Ordering {
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

/// The order in which every device's software is returned: by device, then as [`package_cmp`].
pub(crate) fn device_package_cmp(
    a: &(DeviceId, InstalledPackage),
    b: &(DeviceId, InstalledPackage),
) -> Ordering {
    a.0.cmp(&b.0).then_with(|| package_cmp(&a.1, &b.1))
}

/// The stored `value` of a device value.
pub(crate) fn device_value_text(value: DeviceValue) -> &'static str {
    match value {
        DeviceValue::Low => "Low",
        DeviceValue::Normal => "Normal",
        DeviceValue::High => "High",
    }
}

/// A stored device value back.
fn device_value(text: &str) -> Option<DeviceValue> {
    match text {
        "Low" => Some(DeviceValue::Low),
        "Normal" => Some(DeviceValue::Normal),
        "High" => Some(DeviceValue::High),
        _ => None,
    }
}

/// Any serialisable value as the JSON text of a column of `table`.
pub(crate) fn json_text<T: serde::Serialize>(
    table: &'static str,
    value: &T,
) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| corrupt(table, format!("cannot be encoded: {e}")))
}

/// A JSON text column back as a value.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    row: &impl StoredRow,
    table: &'static str,
    column: &str,
) -> StoreResult<T> {
    let text = row.text(table, column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(table, format!("column {column}: {e}")))
}

/// A nullable JSON text column back as a value.
pub(crate) fn optional_json_column<T: serde::de::DeserializeOwned>(
    row: &impl StoredRow,
    table: &'static str,
    column: &str,
) -> StoreResult<Option<T>> {
    let Some(text) = row.optional_text(table, column)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| corrupt(table, format!("column {column}: {e}")))
}

/// An NVD record from its `record` column.
pub(crate) fn nvd_record(row: &impl StoredRow) -> StoreResult<NvdRecord> {
    json_column(row, "nvd_records", "record")
}

/// A KEV entry from its `entry` column.
pub(crate) fn kev_entry(row: &impl StoredRow) -> StoreResult<KevEntry> {
    json_column(row, "kev_entries", "entry")
}

/// Midnight UTC of a KEV date, as stored.
pub(crate) fn date_micros(date: chrono::NaiveDate) -> i64 {
    micros(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// An EPSS score from the columns `cve_id, epss, percentile`.
pub(crate) fn epss_score(row: &impl StoredRow) -> StoreResult<bulwark_core::threat::EpssScore> {
    const T: &str = "epss_scores";
    Ok(bulwark_core::threat::EpssScore {
        cve: row.text(T, "cve_id")?,
        epss: row.real(T, "epss")?,
        percentile: row.real(T, "percentile")?,
    })
}

/// An EPSS file's score date as stored microseconds (RFC 3339 or a plain date); `None` when absent
/// or unreadable (the score is then treated as undated).
pub(crate) fn epss_date_micros(score_date: Option<&str>) -> Option<i64> {
    let text = score_date?.trim();
    rfc3339_micros(text).ok().or_else(|| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(date_micros)
    })
}

/// A device group from the columns [`GROUP_COLUMNS`].
pub(crate) fn device_group(row: &impl StoredRow) -> StoreResult<DeviceGroup> {
    const T: &str = "device_groups";
    Ok(DeviceGroup {
        id: row.integer(T, "id")?,
        name: row.text(T, "name")?,
        description: row.text(T, "description")?,
        rank: row.integer(T, "rank")?,
        rules: json_column(row, T, "rules")?,
    })
}

/// A score snapshot from the columns [`SNAPSHOT_COLUMNS`].
pub(crate) fn score_snapshot(row: &impl StoredRow) -> StoreResult<ScoreSnapshot> {
    const T: &str = "score_snapshots";
    let scope = match row.text(T, "scope")?.as_str() {
        "organization" => ScoreScope::Organization,
        "group" => ScoreScope::Group,
        "device" => ScoreScope::Device,
        other => return Err(corrupt(T, format!("column scope: unknown scope {other:?}"))),
    };
    Ok(ScoreSnapshot {
        at: time_column(row, T, "at")?,
        scope,
        name: row.text(T, "scope_name")?,
        exposure: row.real(T, "exposure")?,
        configuration: row.optional_real(T, "configuration")?,
    })
}

// Configuration assessments: check results per device and source, and the catalog of checks that are
// not Bulwark's own.

use std::collections::BTreeMap;

use bulwark_core::config::{CheckResult, CheckSource, CheckStatus, ConfigCheck};

/// The columns [`config_result`] reads.
pub(crate) const CONFIG_RESULT_COLUMNS: &str = "device_id, result";

/// The stored `source` of a check result.
pub(crate) fn check_source_text(source: CheckSource) -> &'static str {
    match source {
        CheckSource::Bulwark => "bulwark",
        CheckSource::OpenScap => "openscap",
        CheckSource::Osquery => "osquery",
    }
}

/// The stored `status` of a check result (its serialized name).
fn check_status_text(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Fail => "fail",
        CheckStatus::NotApplicable => "notApplicable",
        CheckStatus::NotSelected => "notSelected",
        CheckStatus::Informational => "informational",
        CheckStatus::NotCollected => "notCollected",
        CheckStatus::Error => "error",
    }
}

/// One row of `config_results` as an assessment writes it (the device, source and time are the
/// assessment's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigResultRow {
    /// The check's id.
    pub(crate) check_id: String,
    /// The stored status.
    pub(crate) status: &'static str,
    /// The whole result as JSON.
    pub(crate) result: String,
}

/// The rows of one assessment from `source`, ordered by check id. Every result must come from `source`
/// (`Invalid` otherwise); a check given more than once keeps its last result, as a rerun of the check would.
pub(crate) fn config_result_rows(
    source: CheckSource,
    results: &[CheckResult],
) -> StoreResult<Vec<ConfigResultRow>> {
    let mut rows: BTreeMap<&str, ConfigResultRow> = BTreeMap::new();
    for result in results {
        if result.source != source {
            return Err(StoreError::Invalid {
                what: format!("result of check {:?}", result.check_id),
                reason: format!(
                    "its source is {} but the assessment's is {}",
                    check_source_text(result.source),
                    check_source_text(source)
                ),
            });
        }
        let row = ConfigResultRow {
            check_id: result.check_id.clone(),
            status: check_status_text(result.status),
            result: json_text("config_results", result)?,
        };
        rows.insert(&result.check_id, row);
    }
    Ok(rows.into_values().collect())
}

/// A device's check result from the columns [`CONFIG_RESULT_COLUMNS`].
pub(crate) fn config_result(row: &impl StoredRow) -> StoreResult<(DeviceId, CheckResult)> {
    const T: &str = "config_results";
    Ok((
        DeviceId(row.integer(T, "device_id")?),
        json_column(row, T, "result")?,
    ))
}

/// The `(check_id, definition)` rows of a catalog write, ordered by id; a check given more than once
/// keeps its last definition.
pub(crate) fn config_check_rows(checks: &[ConfigCheck]) -> StoreResult<Vec<(String, String)>> {
    let mut rows: BTreeMap<&str, String> = BTreeMap::new();
    for check in checks {
        rows.insert(&check.id, json_text("config_checks", check)?);
    }
    Ok(rows
        .into_iter()
        .map(|(id, definition)| (id.to_string(), definition))
        .collect())
}

/// A catalog check from its `definition` column.
pub(crate) fn config_check(row: &impl StoredRow) -> StoreResult<ConfigCheck> {
    json_column(row, "config_checks", "definition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_compare_as_instants() {
        let z = rfc3339_micros("2024-01-01T09:00:00Z").unwrap();
        // Later as text, earlier as a time.
        assert!(rfc3339_micros("2024-01-01T10:00:00+02:00").unwrap() < z);
        // Earlier as text ('.' sorts before 'Z'), later as a time.
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

    #[test]
    fn blank_device_fields_keep_the_stored_ones() {
        let info = DeviceInfo {
            name: "d".into(),
            os: Some("  ".into()),
            group: Some("lab".into()),
            ..DeviceInfo::default()
        };
        let update = DeviceUpdate::new(&info);
        assert_eq!(
            (update.name, update.os, update.group, update.tags),
            ("d", None, Some("lab"), None)
        );
        let info = DeviceInfo {
            tags: vec!["a".into(), "b".into()],
            ..info
        };
        assert_eq!(
            DeviceUpdate::new(&info).tags.as_deref(),
            Some(r#"["a","b"]"#)
        );
    }
}
