//! The SQLite implementation of [`Store`]: a file database in WAL mode, or an in-memory one, migrated on open.
//!
//! Connections: a file database gets one writer connection and a few reader connections. Every write
//! goes through the writer and runs in a `BEGIN IMMEDIATE` transaction, so writers in this process
//! queue on the pool (asynchronously) instead of racing for SQLite's lock, and a writer in another
//! process is waited for (busy timeout) instead of failing half-way with `SQLITE_BUSY`. Readers see
//! the last committed state (WAL) and never block the writer. An in-memory database lives only as long
//! as a connection to it, so it gets exactly one connection that never expires, shared by both roles.
//!
//! Times are stored as integer microseconds since the Unix epoch, UTC (see the migration's header).
//! Statements are fixed strings run with positional binds; sqlx keeps each connection's prepared
//! statements in a cache, so a batch inside one transaction prepares each statement once.
//!
//! Orders this implementation guarantees beyond the trait: advisories by id; devices by name (byte
//! order); software by ecosystem, name and version; inventory history newest first and, within one
//! ingest, appeared (in the order given) before disappeared; open weaknesses by device, then in the
//! order they were opened; a device's weaknesses by first detection.

mod codec;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use bulwark_core::{
    Advisory, Device, DeviceId, DeviceInfo, InstalledPackage, SoftwareKey, Weakness,
};

use crate::{
    AdvisoryUpsertStats, DetectedWeakness, InventoryChange, InventoryDiff, Store, StoreError,
    StoreResult, WeaknessDiff,
};
use codec::{
    bind_package, bind_software_key, corrupt, get, micros, package, package_cmp, software_key,
};

/// The schema migrations, embedded at compile time and applied by [`SqliteStore::open`].
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reader connections of a file database (the machines Bulwark runs on have few cores).
const READERS: u32 = 4;

/// A [`Store`] kept in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The single connection all writes go through.
    writer: SqlitePool,
    /// Connections for reads (the writer's pool itself for an in-memory database).
    reader: SqlitePool,
}

/// Where a `sqlite:` URL points.
#[derive(Debug, PartialEq, Eq)]
enum Location {
    /// `sqlite::memory:`, `sqlite://:memory:` or `?mode=memory`.
    Memory,
    /// A file path (created if missing).
    File,
}

/// Checks the parts of a `sqlite:` URL that sqlx leaves to the caller.
fn locate(url: &str) -> StoreResult<Location> {
    let invalid = |reason: &str| StoreError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let rest = url
        .strip_prefix("sqlite:")
        .ok_or_else(|| invalid("expected a sqlite: URL"))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory_mode = query.split('&').any(|pair| pair == "mode=memory");
    if path == ":memory:" || memory_mode {
        return Ok(Location::Memory);
    }
    if path.is_empty() {
        return Err(invalid(
            "no database file path; use sqlite://PATH or sqlite::memory:",
        ));
    }
    Ok(Location::File)
}

impl SqliteStore {
    /// Opens (creating when missing) the database `url` names and applies pending migrations.
    ///
    /// Accepted: `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, `sqlite::memory:`
    /// (a new, private in-memory database on every call), and sqlx's query parameters (`?mode=…`).
    pub async fn open(url: &str) -> StoreResult<SqliteStore> {
        let location = locate(url)?;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let store = match location {
            Location::Memory => {
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options.journal_mode(SqliteJournalMode::Memory))
                    .await?;
                SqliteStore {
                    writer: pool.clone(),
                    reader: pool,
                }
            }
            Location::File => {
                // NORMAL is durable across application crashes under WAL; only a power loss can
                // drop the last commits, and it never corrupts the database.
                let options = options
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options.clone())
                    .await?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(READERS)
                    .connect_lazy_with(options.pragma("query_only", "ON"));
                SqliteStore { writer, reader }
            }
        };
        MIGRATOR.run(&store.writer).await?;
        Ok(store)
    }

    /// Closes every connection, waiting for them to finish (a dropped store closes them in the background).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Starts a write transaction, taking SQLite's write lock up front.
    async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Fails with `NotFound` unless the device exists.
async fn ensure_device(tx: &mut Transaction<'static, Sqlite>, device: DeviceId) -> StoreResult<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM devices WHERE id = ?1")
        .bind(device.0)
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("device {}", device.0))),
    }
}

/// One advisory of a batch, with its times parsed.
struct Incoming<'a> {
    advisory: &'a Advisory,
    modified: i64,
    withdrawn: Option<i64>,
}

/// The error for an advisory whose time field is not RFC 3339; the whole batch is refused.
fn bad_time(id: &str, field: &str, value: &str, e: chrono::ParseError) -> StoreError {
    StoreError::Invalid {
        what: format!("advisory {id:?}"),
        reason: format!("{field} {value:?} is not an RFC 3339 time ({e})"),
    }
}

/// Parses the batch's times and keeps, per id, the record with the latest `modified` (the first one
/// given on a tie), in the order ids first appear. Refuses the batch if any time does not parse.
fn newest_per_id(advisories: &[Advisory]) -> StoreResult<Vec<Incoming<'_>>> {
    let mut out: Vec<Incoming<'_>> = Vec::with_capacity(advisories.len());
    let mut slot: HashMap<&str, usize> = HashMap::with_capacity(advisories.len());
    for advisory in advisories {
        let modified = codec::rfc3339_micros(&advisory.modified)
            .map_err(|e| bad_time(&advisory.id, "modified", &advisory.modified, e))?;
        let withdrawn = match &advisory.withdrawn {
            Some(w) => Some(
                codec::rfc3339_micros(w).map_err(|e| bad_time(&advisory.id, "withdrawn", w, e))?,
            ),
            None => None,
        };
        let incoming = Incoming {
            advisory,
            modified,
            withdrawn,
        };
        match slot.get(advisory.id.as_str()) {
            Some(&i) if out[i].modified < modified => out[i] = incoming,
            Some(_) => {}
            None => {
                slot.insert(&advisory.id, out.len());
                out.push(incoming);
            }
        }
    }
    Ok(out)
}

fn advisory_from_row(row: &SqliteRow) -> StoreResult<Advisory> {
    let record: String = get(row, "advisories", "record")?;
    serde_json::from_str(&record).map_err(|e| corrupt("advisories", format!("column record: {e}")))
}

const DEVICE_COLUMNS: &str = "id, name, os, device_group, tags, first_seen, last_seen";

fn device_from_row(row: &SqliteRow) -> StoreResult<Device> {
    const T: &str = "devices";
    Ok(Device {
        id: DeviceId(get(row, T, "id")?),
        name: get(row, T, "name")?,
        os: get(row, T, "os")?,
        group: get(row, T, "device_group")?,
        tags: codec::string_list(row, T, "tags")?,
        first_seen: codec::time_column(row, T, "first_seen")?,
        last_seen: codec::time_column(row, T, "last_seen")?,
    })
}

const PACKAGE_COLUMNS: &str =
    "ecosystem, release, name, version, source_name, source_version, purl, cpe";

const WEAKNESS_COLUMNS: &str = "device_id, ecosystem, release, name, version, vulnerability_id, advisory_ids, first_detected, resolved";

fn weakness_from_row(row: &SqliteRow) -> StoreResult<Weakness> {
    const T: &str = "weaknesses";
    Ok(Weakness {
        device_id: DeviceId(get(row, T, "device_id")?),
        software: software_key(row, T)?,
        vulnerability_id: get(row, T, "vulnerability_id")?,
        advisory_ids: codec::string_list(row, T, "advisory_ids")?,
        first_detected: codec::time_column(row, T, "first_detected")?,
        resolved: codec::optional_time_column(row, T, "resolved")?,
    })
}

/// An optional text field as stored: empty or blank counts as not given.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// The detected weaknesses keyed as open rows are, duplicates merged (their advisory ids united).
fn detected_by_key(detected: &[DetectedWeakness]) -> Vec<((&SoftwareKey, &str), Vec<String>)> {
    let mut out: Vec<((&SoftwareKey, &str), Vec<String>)> = Vec::with_capacity(detected.len());
    let mut slot: HashMap<(&SoftwareKey, &str), usize> = HashMap::with_capacity(detected.len());
    for d in detected {
        let key = (&d.software, d.vulnerability_id.as_str());
        match slot.get(&key) {
            Some(&i) => out[i].1.extend(d.advisory_ids.iter().cloned()),
            None => {
                slot.insert(key, out.len());
                out.push((key, d.advisory_ids.clone()));
            }
        }
    }
    for (_, ids) in &mut out {
        ids.sort();
        ids.dedup();
    }
    out
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_advisories(&self, advisories: &[Advisory]) -> StoreResult<AdvisoryUpsertStats> {
        let batch = newest_per_id(advisories)?;
        // Records that lost to a newer duplicate in the same batch changed nothing.
        let mut stats = AdvisoryUpsertStats {
            unchanged: (advisories.len() - batch.len()) as u64,
            ..AdvisoryUpsertStats::default()
        };
        let mut tx = self.write().await?;
        for incoming in &batch {
            let advisory = incoming.advisory;
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT modified FROM advisories WHERE id = ?1")
                    .bind(&advisory.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let sql = match stored {
                None => {
                    "INSERT INTO advisories (id, modified, withdrawn, record) VALUES (?1, ?2, ?3, ?4)"
                }
                Some(old) if incoming.modified > old => {
                    "UPDATE advisories SET modified = ?2, withdrawn = ?3, record = ?4 WHERE id = ?1"
                }
                Some(_) => {
                    stats.unchanged += 1;
                    continue;
                }
            };
            let record = serde_json::to_string(advisory).map_err(|e| {
                corrupt(
                    "advisories",
                    format!("advisory {:?} cannot be encoded: {e}", advisory.id),
                )
            })?;
            sqlx::query(sql)
                .bind(&advisory.id)
                .bind(incoming.modified)
                .bind(incoming.withdrawn)
                .bind(record)
                .execute(&mut *tx)
                .await?;
            if stored.is_none() {
                stats.inserted += 1;
            } else {
                stats.updated += 1;
            }
            stats.changed_ids.push(advisory.id.clone());
        }
        tx.commit().await?;
        Ok(stats)
    }

    async fn advisories(&self) -> StoreResult<Vec<Advisory>> {
        let rows = sqlx::query("SELECT record FROM advisories ORDER BY id")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(advisory_from_row).collect()
    }

    async fn advisory(&self, id: &str) -> StoreResult<Option<Advisory>> {
        let row = sqlx::query("SELECT record FROM advisories WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(advisory_from_row).transpose()
    }

    async fn upsert_device(&self, info: &DeviceInfo, at: DateTime<Utc>) -> StoreResult<Device> {
        // One statement, so that two ingests creating the same device at once cannot both insert.
        let sql = format!(
            "INSERT INTO devices (name, os, device_group, tags, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, COALESCE(?4, '[]'), ?5, ?5) \
             ON CONFLICT (name) DO UPDATE SET \
               os = COALESCE(?2, devices.os), \
               device_group = COALESCE(?3, devices.device_group), \
               tags = COALESCE(?4, devices.tags), \
               last_seen = ?5 \
             RETURNING {DEVICE_COLUMNS}"
        );
        let tags = (!info.tags.is_empty()).then(|| codec::string_list_json(&info.tags));
        let row = sqlx::query(&sql)
            .bind(&info.name)
            .bind(given(&info.os))
            .bind(given(&info.group))
            .bind(tags)
            .bind(micros(at))
            .fetch_one(&self.writer)
            .await?;
        device_from_row(&row)
    }

    async fn devices(&self) -> StoreResult<Vec<Device>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY name"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(device_from_row).collect()
    }

    async fn device(&self, id: DeviceId) -> StoreResult<Option<Device>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn device_by_name(&self, name: &str) -> StoreResult<Option<Device>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE name = ?1"
        ))
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn replace_inventory(
        &self,
        device: DeviceId,
        packages: &[InstalledPackage],
        at: DateTime<Utc>,
    ) -> StoreResult<InventoryDiff> {
        const T: &str = "device_software";
        let mut tx = self.write().await?;
        ensure_device(&mut tx, device).await?;
        let rows = sqlx::query(&format!(
            "SELECT id, {PACKAGE_COLUMNS} FROM device_software WHERE device_id = ?1"
        ))
        .bind(device.0)
        .fetch_all(&mut *tx)
        .await?;
        // Stored package → its row id; rows repeating a package (never written by this code) are dropped.
        let mut stored: HashMap<InstalledPackage, i64> = HashMap::with_capacity(rows.len());
        let mut delete: Vec<i64> = Vec::new();
        for row in &rows {
            let id: i64 = get(row, T, "id")?;
            if let Some(previous) = stored.insert(package(row, T)?, id) {
                delete.push(previous);
            }
        }
        let mut seen: HashSet<&InstalledPackage> = HashSet::with_capacity(packages.len());
        let mut appeared: Vec<InstalledPackage> = Vec::new();
        for p in packages {
            if seen.insert(p) && stored.remove(p).is_none() {
                appeared.push(p.clone());
            }
        }
        let mut gone: Vec<(InstalledPackage, i64)> = stored.into_iter().collect();
        gone.sort_by(|a, b| package_cmp(&a.0, &b.0));
        delete.extend(gone.iter().map(|(_, id)| *id));
        let disappeared: Vec<InstalledPackage> = gone.into_iter().map(|(p, _)| p).collect();

        for id in delete {
            sqlx::query("DELETE FROM device_software WHERE id = ?1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let insert_software = format!(
            "INSERT INTO device_software (device_id, {PACKAGE_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        );
        for p in &appeared {
            bind_package(sqlx::query(&insert_software).bind(device.0), p)
                .execute(&mut *tx)
                .await?;
        }
        let insert_change = format!(
            "INSERT INTO inventory_changes (device_id, at, change, {PACKAGE_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        );
        let at = micros(at);
        let changes = appeared
            .iter()
            .map(|p| ("appeared", p))
            .chain(disappeared.iter().map(|p| ("disappeared", p)));
        for (change, p) in changes {
            bind_package(
                sqlx::query(&insert_change)
                    .bind(device.0)
                    .bind(at)
                    .bind(change),
                p,
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(InventoryDiff {
            appeared,
            disappeared,
        })
    }

    async fn device_software(&self, device: DeviceId) -> StoreResult<Vec<InstalledPackage>> {
        let rows = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM device_software WHERE device_id = ?1"
        ))
        .bind(device.0)
        .fetch_all(&self.reader)
        .await?;
        let mut packages = rows
            .iter()
            .map(|row| package(row, "device_software"))
            .collect::<StoreResult<Vec<_>>>()?;
        packages.sort_by(package_cmp);
        Ok(packages)
    }

    async fn inventory_history(&self, device: DeviceId) -> StoreResult<Vec<InventoryChange>> {
        const T: &str = "inventory_changes";
        let rows = sqlx::query(&format!(
            "SELECT at, change, {PACKAGE_COLUMNS} FROM inventory_changes \
             WHERE device_id = ?1 ORDER BY at DESC, id ASC"
        ))
        .bind(device.0)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let change: String = get(row, T, "change")?;
                if change != "appeared" && change != "disappeared" {
                    return Err(corrupt(
                        T,
                        format!("column change: unknown change {change:?}"),
                    ));
                }
                Ok(InventoryChange {
                    at: codec::time_column(row, T, "at")?,
                    change,
                    package: package(row, T)?,
                })
            })
            .collect()
    }

    async fn all_software(&self) -> StoreResult<Vec<(DeviceId, InstalledPackage)>> {
        const T: &str = "device_software";
        let rows = sqlx::query(&format!(
            "SELECT device_id, {PACKAGE_COLUMNS} FROM device_software"
        ))
        .fetch_all(&self.reader)
        .await?;
        let mut all = rows
            .iter()
            .map(|row| Ok((DeviceId(get(row, T, "device_id")?), package(row, T)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| package_cmp(&a.1, &b.1)));
        Ok(all)
    }

    async fn replace_weaknesses(
        &self,
        device: DeviceId,
        detected: &[DetectedWeakness],
        at: DateTime<Utc>,
    ) -> StoreResult<WeaknessDiff> {
        const T: &str = "weaknesses";
        let detected = detected_by_key(detected);
        let at = micros(at);
        let mut tx = self.write().await?;
        ensure_device(&mut tx, device).await?;
        let rows = sqlx::query(
            "SELECT id, ecosystem, release, name, version, vulnerability_id, advisory_ids FROM weaknesses \
             WHERE device_id = ?1 AND resolved IS NULL ORDER BY id",
        )
        .bind(device.0)
        .fetch_all(&mut *tx)
        .await?;
        let wanted: HashMap<(&SoftwareKey, &str), usize> = detected
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (*key, i))
            .collect();
        // Detected keys that already have an open row (borrowed from `detected`).
        let mut still_open: HashSet<(&SoftwareKey, &str)> = HashSet::with_capacity(rows.len());
        let mut diff = WeaknessDiff::default();
        for row in &rows {
            let id: i64 = get(row, T, "id")?;
            let software = software_key(row, T)?;
            let vulnerability_id: String = get(row, T, "vulnerability_id")?;
            let advisory_ids = codec::string_list(row, T, "advisory_ids")?;
            let found = wanted
                .get(&(&software, vulnerability_id.as_str()))
                .map(|&i| &detected[i]);
            match found {
                // Still detected and not a second open row for the same key: keep it open, with its
                // first detection; only the list of advisories reporting it follows the new data.
                Some((key, ids)) if !still_open.contains(key) => {
                    if advisory_ids != *ids {
                        sqlx::query("UPDATE weaknesses SET advisory_ids = ?2 WHERE id = ?1")
                            .bind(id)
                            .bind(codec::string_list_json(ids))
                            .execute(&mut *tx)
                            .await?;
                    }
                    still_open.insert(*key);
                    diff.kept += 1;
                }
                _ => {
                    sqlx::query("UPDATE weaknesses SET resolved = ?2 WHERE id = ?1")
                        .bind(id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    diff.resolved += 1;
                }
            }
        }
        let insert = "INSERT INTO weaknesses (device_id, ecosystem, release, name, version, vulnerability_id, \
                      advisory_ids, first_detected, resolved) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)";
        for ((software, vulnerability_id), ids) in &detected {
            if still_open.contains(&(*software, *vulnerability_id)) {
                continue;
            }
            bind_software_key(sqlx::query(insert).bind(device.0), software)
                .bind(*vulnerability_id)
                .bind(codec::string_list_json(ids))
                .bind(at)
                .execute(&mut *tx)
                .await?;
            diff.opened += 1;
        }
        tx.commit().await?;
        Ok(diff)
    }

    async fn open_weaknesses(&self) -> StoreResult<Vec<Weakness>> {
        let rows = sqlx::query(&format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE resolved IS NULL ORDER BY device_id, id"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(weakness_from_row).collect()
    }

    async fn device_weaknesses(&self, device: DeviceId) -> StoreResult<Vec<Weakness>> {
        let rows = sqlx::query(&format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE device_id = ?1 ORDER BY first_detected, id"
        ))
        .bind(device.0)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(weakness_from_row).collect()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::{Ecosystem, EcosystemRelease};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
    }

    fn advisory(id: &str, modified: &str) -> Advisory {
        Advisory {
            id: id.to_string(),
            aliases: vec![],
            related: vec![],
            modified: modified.to_string(),
            published: None,
            withdrawn: None,
            summary: Some(modified.to_string()),
            details: None,
            severity: None,
            affected: vec![],
            informational: None,
            references: vec![],
        }
    }

    async fn memory() -> SqliteStore {
        SqliteStore::open("sqlite::memory:").await.unwrap()
    }

    fn expect_corrupt<T: std::fmt::Debug>(result: StoreResult<T>, table: &str) {
        match result {
            Err(StoreError::Corrupt { table: t, .. }) => assert_eq!(t, table),
            other => panic!("expected corrupt data in {table}, got {other:?}"),
        }
    }

    #[test]
    fn urls_are_located() {
        let check = |url: &str, expected: Option<Location>| {
            assert_eq!(locate(url).ok(), expected, "{url}");
        };
        check("sqlite::memory:", Some(Location::Memory));
        check("sqlite://:memory:", Some(Location::Memory));
        check("sqlite://?mode=memory", Some(Location::Memory));
        check("sqlite://data/bulwark.db", Some(Location::File));
        check("sqlite:///var/lib/bulwark/bulwark.db", Some(Location::File));
        check("sqlite:bulwark.db?mode=rwc", Some(Location::File));
        check("sqlite://", None);
        check("sqlite:", None);
        check("sqlite://?cache=shared", None);
        check("postgres://localhost/bulwark", None);
    }

    /// A failure in the middle of a batch, after earlier records were written, rolls all of them back.
    #[tokio::test]
    async fn a_batch_failing_half_way_is_rolled_back() {
        let store = memory().await;
        store
            .upsert_advisories(&[advisory("A", "2024-01-01T00:00:00Z")])
            .await
            .unwrap();
        sqlx::query(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON advisories WHEN NEW.id = 'BOOM' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&store.writer)
        .await
        .unwrap();
        let batch = [
            advisory("A", "2024-02-01T00:00:00Z"),
            advisory("B", "2024-02-01T00:00:00Z"),
            advisory("BOOM", "2024-02-01T00:00:00Z"),
            advisory("C", "2024-02-01T00:00:00Z"),
        ];
        let result = store.upsert_advisories(&batch).await;
        assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
        assert_eq!(
            store.advisories().await.unwrap(),
            vec![advisory("A", "2024-01-01T00:00:00Z")]
        );
        // The connection is usable again after the rollback.
        let stats = store.upsert_advisories(&batch[..2]).await.unwrap();
        assert_eq!((stats.inserted, stats.updated), (1, 1));
    }

    /// A failure while replacing an inventory leaves the old set and history in place.
    #[tokio::test]
    async fn an_inventory_failing_half_way_is_rolled_back() {
        let store = memory().await;
        let device = store
            .upsert_device(
                &DeviceInfo {
                    name: "d".into(),
                    ..DeviceInfo::default()
                },
                at(0),
            )
            .await
            .unwrap();
        let npm = EcosystemRelease::new(Ecosystem::Npm, None);
        let old = [InstalledPackage::new(npm.clone(), "a", "1")];
        store
            .replace_inventory(device.id, &old, at(1))
            .await
            .unwrap();
        sqlx::query(
            "CREATE TRIGGER refuse_change BEFORE INSERT ON inventory_changes WHEN NEW.name = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&store.writer)
        .await
        .unwrap();
        let new = [
            InstalledPackage::new(npm.clone(), "b", "1"),
            InstalledPackage::new(npm, "boom", "1"),
        ];
        assert!(
            store
                .replace_inventory(device.id, &new, at(2))
                .await
                .is_err()
        );
        assert_eq!(store.device_software(device.id).await.unwrap(), old);
        assert_eq!(store.inventory_history(device.id).await.unwrap().len(), 1);
    }

    /// Rows that cannot be decoded are reported as corruption of the table they are in.
    #[tokio::test]
    async fn undecodable_rows_are_corrupt() {
        let store = memory().await;
        let device = store
            .upsert_device(
                &DeviceInfo {
                    name: "d".into(),
                    ..DeviceInfo::default()
                },
                at(0),
            )
            .await
            .unwrap();
        let package = InstalledPackage::new(
            EcosystemRelease::new(Ecosystem::Debian, Some("12")),
            "p",
            "1",
        );
        store
            .replace_inventory(device.id, std::slice::from_ref(&package), at(1))
            .await
            .unwrap();
        let software = SoftwareKey {
            ecosystem: package.ecosystem.clone(),
            name: "p".into(),
            version: "1".into(),
        };
        let detected = DetectedWeakness {
            software,
            vulnerability_id: "CVE-1".into(),
            advisory_ids: vec!["DSA-1".into()],
        };
        store
            .replace_weaknesses(device.id, &[detected], at(1))
            .await
            .unwrap();
        store
            .upsert_advisories(&[advisory("A", "2024-01-01T00:00:00Z")])
            .await
            .unwrap();

        let spoil = |sql: &'static str| {
            let pool = store.writer.clone();
            async move { sqlx::query(sql).execute(&pool).await.unwrap() }
        };
        spoil("UPDATE advisories SET record = '{\"id\": 1}'").await;
        expect_corrupt(store.advisories().await, "advisories");
        expect_corrupt(store.advisory("A").await, "advisories");
        spoil("UPDATE devices SET tags = 'not json'").await;
        expect_corrupt(store.devices().await, "devices");
        spoil("UPDATE devices SET tags = '[]', first_seen = 'yesterday'").await;
        expect_corrupt(store.device(device.id).await, "devices");
        spoil("UPDATE device_software SET ecosystem = 'Plan 9'").await;
        expect_corrupt(store.device_software(device.id).await, "device_software");
        expect_corrupt(store.all_software().await, "device_software");
        let result = store.replace_inventory(device.id, &[], at(2)).await;
        expect_corrupt(result, "device_software");
        spoil("UPDATE inventory_changes SET at = 'last week'").await;
        expect_corrupt(
            store.inventory_history(device.id).await,
            "inventory_changes",
        );
        spoil("UPDATE weaknesses SET first_detected = 9223372036854775807").await;
        expect_corrupt(store.open_weaknesses().await, "weaknesses");
        spoil("UPDATE weaknesses SET first_detected = 0, advisory_ids = '{'").await;
        expect_corrupt(store.device_weaknesses(device.id).await, "weaknesses");
        expect_corrupt(
            store.replace_weaknesses(device.id, &[], at(2)).await,
            "weaknesses",
        );
    }

    /// The pragmas the design relies on are in force on file databases, on both kinds of connection.
    #[tokio::test]
    async fn file_connections_use_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pragmas.db");
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        for pool in [&store.writer, &store.reader] {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            let keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap();
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!((mode.as_str(), keys, sync, busy), ("wal", 1, 1, 10_000));
        }
        // Readers cannot write, even by mistake.
        assert!(
            sqlx::query("DELETE FROM devices")
                .execute(&store.reader)
                .await
                .is_err()
        );
        // Software of a device that does not exist is refused by the schema itself.
        let orphan = sqlx::query(
            "INSERT INTO device_software (device_id, ecosystem, name, version) VALUES (999, 'npm', 'a', '1')",
        )
        .execute(&store.writer)
        .await;
        assert!(orphan.is_err());
        store.close().await;
    }
}
