//! The PostgreSQL implementation of [`Store`]: a connection pool over one database, migrated on open.
//!
//! It returns exactly what the SQLite implementation returns for every call (the contract suite runs
//! unchanged on both): the same schema with the same names and units (times are BIGINT microseconds,
//! see `migrations/postgres/`), the same orders, the same diff semantics and the same error variants.
//!
//! Migrations are embedded and applied by [`PostgresStore::open`]; sqlx takes a session advisory lock
//! around them, so several replicas starting at once migrate the database once.
//!
//! Bulk writes: every list of rows (an advisory batch, a software set, a device's weaknesses) is sent
//! as one array per column and expanded with `UNNEST` by the server, so a write costs a fixed number
//! of statements whatever the number of rows. `WITH ORDINALITY … ORDER BY` keeps the order given, so
//! that ids (and with them history and open-weakness order) follow it as in SQLite.
//!
//! Concurrency, at PostgreSQL's default READ COMMITTED isolation, across tasks and replicas:
//! * A device's inventory and weaknesses are replaced under a `FOR NO KEY UPDATE` lock on the device's
//!   row, taken first in the transaction. Two writes of the same device queue on that lock and the
//!   second reads what the first committed (each statement takes a new snapshot); writes of different
//!   devices lock different rows and run in parallel. No transaction waits for a second lock while
//!   holding one, so these cannot deadlock.
//! * `upsert_device` is one `INSERT … ON CONFLICT (name) DO UPDATE`: two ingests creating the same
//!   device at once yield one row, and both get it back.
//! * Advisory batches take a transaction-level advisory lock ([`ADVISORY_IMPORT_LOCK`]), so batches
//!   from any number of replicas apply one after the other, as SQLite's single writer does; each one
//!   then counts inserted, updated and unchanged records exactly, and two batches that both carry a
//!   new id cannot collide on the primary key.
//!
//! Orders this implementation guarantees beyond the trait are those of the SQLite backend: advisories
//! by id and devices by name (code point order, via the "C" collation); software by ecosystem, name and
//! version; inventory history newest first and, within one ingest, appeared (in the order given)
//! before disappeared; open weaknesses by device, then in the order they were opened; a device's
//! weaknesses by first detection.
//!
//! One difference is PostgreSQL's, not this code's: PostgreSQL text cannot hold the NUL character, so a
//! string containing one is refused with a database error where SQLite would store it.

mod codec;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, Transaction};

use bulwark_core::{
    Advisory, Device, DeviceId, DeviceInfo, InstalledPackage, SoftwareKey, Weakness,
};

use crate::{
    AdvisoryUpsertStats, DetectedWeakness, InventoryChange, InventoryDiff, Store, StoreError,
    StoreResult, WeaknessDiff,
};
use codec::{
    PackageColumns, SoftwareKeyColumns, UNNEST_PACKAGE, corrupt, get, micros, package, package_cmp,
    software_key,
};

/// The schema migrations, embedded at compile time and applied by [`PostgresStore::open`].
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per store: enough for the server's concurrent requests on the small machines Bulwark
/// runs on, few enough that several replicas stay well under PostgreSQL's default of 100.
const MAX_CONNECTIONS: u32 = 8;

/// How long a call waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The key of the transaction-level advisory lock that serialises advisory batches (the bytes of
/// "bulwadv1"; any constant works as long as every replica uses the same one).
pub const ADVISORY_IMPORT_LOCK: i64 = 0x6275_6c77_6164_7631;

/// Advisory rows per `INSERT`/`UPDATE` statement: bounds the size of one message when records are large.
const ADVISORY_CHUNK: usize = 2_000;

/// A [`Store`] kept in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user@host:port/database?…`, or
    /// `postgresql://…`; libpq's parameters as sqlx accepts them) and applies pending migrations.
    /// The database must exist; the schema is created in it on first open.
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        let invalid = |reason: String| StoreError::InvalidUrl {
            url: url.to_string(),
            reason,
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "expected postgres://USER@HOST:PORT/DATABASE".into(),
            ));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| invalid(e.to_string()))?
            .application_name("bulwark");
        // Migrate on one connection of its own first: a wrong address or refused login then fails at
        // once, where the pool would keep retrying until its acquire timeout.
        let mut first = PgConnection::connect_with(&options).await?;
        MIGRATOR.run(&mut first).await?;
        first.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(PostgresStore { pool })
    }

    /// Closes every connection, waiting for them to finish (a dropped store closes them in the background).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Locks the device's row for the rest of the transaction, failing with `NotFound` unless it exists.
async fn lock_device(tx: &mut Transaction<'static, Postgres>, device: DeviceId) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM devices WHERE id = $1 FOR NO KEY UPDATE")
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

/// Advisory rows as one array per column, for `UNNEST($1, $2, $3, $4)`.
#[derive(Default)]
struct AdvisoryColumns<'a> {
    id: Vec<&'a str>,
    modified: Vec<i64>,
    withdrawn: Vec<Option<i64>>,
    record: Vec<String>,
}

impl<'a> AdvisoryColumns<'a> {
    fn push(&mut self, incoming: &Incoming<'a>) -> StoreResult<()> {
        let advisory = incoming.advisory;
        let record = serde_json::to_string(advisory).map_err(|e| {
            corrupt(
                "advisories",
                format!("advisory {:?} cannot be encoded: {e}", advisory.id),
            )
        })?;
        self.id.push(&advisory.id);
        self.modified.push(incoming.modified);
        self.withdrawn.push(incoming.withdrawn);
        self.record.push(record);
        Ok(())
    }

    fn len(&self) -> usize {
        self.id.len()
    }

    /// Runs `sql` (which reads `UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[])`) and clears the rows.
    async fn flush(
        &mut self,
        tx: &mut Transaction<'static, Postgres>,
        sql: &'static str,
    ) -> StoreResult<()> {
        if self.len() == 0 {
            return Ok(());
        }
        let columns = std::mem::take(self);
        sqlx::query(sql)
            .bind(columns.id)
            .bind(columns.modified)
            .bind(columns.withdrawn)
            .bind(columns.record)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

const INSERT_ADVISORIES: &str = "INSERT INTO advisories (id, modified, withdrawn, record) \
     SELECT id, modified, withdrawn, record \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[]) AS t(id, modified, withdrawn, record)";

const UPDATE_ADVISORIES: &str = "UPDATE advisories AS a \
     SET modified = t.modified, withdrawn = t.withdrawn, record = t.record \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[]) AS t(id, modified, withdrawn, record) \
     WHERE a.id = t.id";

fn advisory_from_row(row: &PgRow) -> StoreResult<Advisory> {
    let record: String = get(row, "advisories", "record")?;
    serde_json::from_str(&record).map_err(|e| corrupt("advisories", format!("column record: {e}")))
}

const DEVICE_COLUMNS: &str = "id, name, os, device_group, tags, first_seen, last_seen";

fn device_from_row(row: &PgRow) -> StoreResult<Device> {
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

fn weakness_from_row(row: &PgRow) -> StoreResult<Weakness> {
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
impl Store for PostgresStore {
    async fn upsert_advisories(&self, advisories: &[Advisory]) -> StoreResult<AdvisoryUpsertStats> {
        let batch = newest_per_id(advisories)?;
        // Records that lost to a newer duplicate in the same batch changed nothing.
        let mut stats = AdvisoryUpsertStats {
            unchanged: (advisories.len() - batch.len()) as u64,
            ..AdvisoryUpsertStats::default()
        };
        if batch.is_empty() {
            return Ok(stats);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ADVISORY_IMPORT_LOCK)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<&str> = batch.iter().map(|i| i.advisory.id.as_str()).collect();
        let stored: HashMap<String, i64> =
            sqlx::query_as("SELECT id, modified FROM advisories WHERE id = ANY($1::text[])")
                .bind(ids)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let mut inserts = AdvisoryColumns::default();
        let mut updates = AdvisoryColumns::default();
        for incoming in &batch {
            match stored.get(incoming.advisory.id.as_str()) {
                None => {
                    inserts.push(incoming)?;
                    stats.inserted += 1;
                }
                Some(&old) if incoming.modified > old => {
                    updates.push(incoming)?;
                    stats.updated += 1;
                }
                Some(_) => {
                    stats.unchanged += 1;
                    continue;
                }
            }
            stats.changed_ids.push(incoming.advisory.id.clone());
            if inserts.len() >= ADVISORY_CHUNK {
                inserts.flush(&mut tx, INSERT_ADVISORIES).await?;
            }
            if updates.len() >= ADVISORY_CHUNK {
                updates.flush(&mut tx, UPDATE_ADVISORIES).await?;
            }
        }
        inserts.flush(&mut tx, INSERT_ADVISORIES).await?;
        updates.flush(&mut tx, UPDATE_ADVISORIES).await?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn advisories(&self) -> StoreResult<Vec<Advisory>> {
        let rows = sqlx::query("SELECT record FROM advisories ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(advisory_from_row).collect()
    }

    async fn advisory(&self, id: &str) -> StoreResult<Option<Advisory>> {
        let row = sqlx::query("SELECT record FROM advisories WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(advisory_from_row).transpose()
    }

    async fn upsert_device(&self, info: &DeviceInfo, at: DateTime<Utc>) -> StoreResult<Device> {
        // One statement, so that two ingests creating the same device at once cannot both insert.
        let sql = format!(
            "INSERT INTO devices (name, os, device_group, tags, first_seen, last_seen) \
             VALUES ($1, $2, $3, COALESCE($4, '[]'), $5, $5) \
             ON CONFLICT (name) DO UPDATE SET \
               os = COALESCE($2, devices.os), \
               device_group = COALESCE($3, devices.device_group), \
               tags = COALESCE($4, devices.tags), \
               last_seen = $5 \
             RETURNING {DEVICE_COLUMNS}"
        );
        let tags = (!info.tags.is_empty()).then(|| codec::string_list_json(&info.tags));
        let row = sqlx::query(&sql)
            .bind(&info.name)
            .bind(given(&info.os))
            .bind(given(&info.group))
            .bind(tags)
            .bind(micros(at))
            .fetch_one(&self.pool)
            .await?;
        device_from_row(&row)
    }

    async fn devices(&self) -> StoreResult<Vec<Device>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(device_from_row).collect()
    }

    async fn device(&self, id: DeviceId) -> StoreResult<Option<Device>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn device_by_name(&self, name: &str) -> StoreResult<Option<Device>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        lock_device(&mut tx, device).await?;
        let rows = sqlx::query(&format!(
            "SELECT id, {PACKAGE_COLUMNS} FROM device_software WHERE device_id = $1"
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

        if !delete.is_empty() {
            sqlx::query("DELETE FROM device_software WHERE id = ANY($1::int8[])")
                .bind(delete)
                .execute(&mut *tx)
                .await?;
        }
        if !appeared.is_empty() {
            let insert_software = format!(
                "INSERT INTO device_software (device_id, {PACKAGE_COLUMNS}) \
                 SELECT $1, {PACKAGE_COLUMNS} \
                 FROM UNNEST({UNNEST_PACKAGE}) WITH ORDINALITY AS t({PACKAGE_COLUMNS}, n) ORDER BY n"
            );
            let query = sqlx::query(&insert_software).bind(device.0);
            PackageColumns::new(&appeared)
                .bind(query)
                .execute(&mut *tx)
                .await?;
        }
        if !(appeared.is_empty() && disappeared.is_empty()) {
            let insert_change = format!(
                "INSERT INTO inventory_changes (device_id, at, change, {PACKAGE_COLUMNS}) \
                 SELECT $1, $10, change, {PACKAGE_COLUMNS} \
                 FROM UNNEST({UNNEST_PACKAGE}, $11::text[]) WITH ORDINALITY \
                   AS t({PACKAGE_COLUMNS}, change, n) ORDER BY n"
            );
            let changes: Vec<&str> = appeared
                .iter()
                .map(|_| "appeared")
                .chain(disappeared.iter().map(|_| "disappeared"))
                .collect();
            let query = sqlx::query(&insert_change).bind(device.0);
            PackageColumns::new(appeared.iter().chain(&disappeared))
                .bind(query)
                .bind(micros(at))
                .bind(changes)
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
            "SELECT {PACKAGE_COLUMNS} FROM device_software WHERE device_id = $1"
        ))
        .bind(device.0)
        .fetch_all(&self.pool)
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
             WHERE device_id = $1 ORDER BY at DESC, id ASC"
        ))
        .bind(device.0)
        .fetch_all(&self.pool)
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
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        lock_device(&mut tx, device).await?;
        let rows = sqlx::query(
            "SELECT id, ecosystem, release, name, version, vulnerability_id, advisory_ids FROM weaknesses \
             WHERE device_id = $1 AND resolved IS NULL ORDER BY id",
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
        let mut relist_ids: Vec<i64> = Vec::new();
        let mut relist_json: Vec<String> = Vec::new();
        let mut resolve: Vec<i64> = Vec::new();
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
                        relist_ids.push(id);
                        relist_json.push(codec::string_list_json(ids));
                    }
                    still_open.insert(*key);
                    diff.kept += 1;
                }
                _ => {
                    resolve.push(id);
                    diff.resolved += 1;
                }
            }
        }
        if !relist_ids.is_empty() {
            sqlx::query(
                "UPDATE weaknesses AS w SET advisory_ids = t.advisory_ids \
                 FROM UNNEST($1::int8[], $2::text[]) AS t(id, advisory_ids) WHERE w.id = t.id",
            )
            .bind(relist_ids)
            .bind(relist_json)
            .execute(&mut *tx)
            .await?;
        }
        if !resolve.is_empty() {
            sqlx::query("UPDATE weaknesses SET resolved = $2 WHERE id = ANY($1::int8[])")
                .bind(resolve)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        let mut keys = SoftwareKeyColumns::default();
        let mut vulnerability_ids: Vec<&str> = Vec::new();
        let mut advisory_ids: Vec<String> = Vec::new();
        for ((software, vulnerability_id), ids) in &detected {
            if still_open.contains(&(*software, *vulnerability_id)) {
                continue;
            }
            keys.push(software);
            vulnerability_ids.push(vulnerability_id);
            advisory_ids.push(codec::string_list_json(ids));
        }
        if !vulnerability_ids.is_empty() {
            diff.opened = vulnerability_ids.len() as u64;
            let insert = "INSERT INTO weaknesses (device_id, ecosystem, release, name, version, \
                          vulnerability_id, advisory_ids, first_detected, resolved) \
                          SELECT $1, ecosystem, release, name, version, vulnerability_id, advisory_ids, $8, NULL \
                          FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) \
                          WITH ORDINALITY AS t(ecosystem, release, name, version, vulnerability_id, advisory_ids, n) \
                          ORDER BY n";
            keys.bind(sqlx::query(insert).bind(device.0))
                .bind(vulnerability_ids)
                .bind(advisory_ids)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(diff)
    }

    async fn open_weaknesses(&self) -> StoreResult<Vec<Weakness>> {
        let rows = sqlx::query(&format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE resolved IS NULL ORDER BY device_id, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(weakness_from_row).collect()
    }

    async fn device_weaknesses(&self, device: DeviceId) -> StoreResult<Vec<Weakness>> {
        let rows = sqlx::query(&format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE device_id = $1 ORDER BY first_detected, id"
        ))
        .bind(device.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(weakness_from_row).collect()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Backend, FreshDatabase};
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

    /// A store on a new database of the PostgreSQL server the environment names, or `None` (the test
    /// skips, saying why) when it names none and does not require one.
    async fn fresh() -> Option<(PostgresStore, FreshDatabase)> {
        let server = match testing::postgres_server() {
            Ok(Some(server)) => server,
            Ok(None) => {
                eprintln!(
                    "skipped: no PostgreSQL server named ({})",
                    testing::POSTGRES_VAR
                );
                return None;
            }
            Err(e) => panic!("{e}"),
        };
        let database = Backend::Postgres { server }.fresh().await.unwrap();
        let store = PostgresStore::open(database.url()).await.unwrap();
        Some((store, database))
    }

    async fn run(store: &PostgresStore, sql: &str) {
        sqlx::raw_sql(sql).execute(&store.pool).await.unwrap();
    }

    fn expect_corrupt<T: std::fmt::Debug>(result: StoreResult<T>, table: &str) {
        match result {
            Err(StoreError::Corrupt { table: t, .. }) => assert_eq!(t, table),
            other => panic!("expected corrupt data in {table}, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn only_postgres_urls_are_accepted() {
        for url in ["sqlite://x.db", "postgres//host/db", "pg://host/db"] {
            match PostgresStore::open(url).await {
                Err(StoreError::InvalidUrl { url: given, .. }) => assert_eq!(given, url),
                other => panic!("{url}: expected InvalidUrl, got {other:?}"),
            }
        }
    }

    /// A failure in the middle of a batch, after earlier records were written, rolls all of them back.
    #[tokio::test]
    async fn a_batch_failing_half_way_is_rolled_back() {
        let Some((store, _database)) = fresh().await else {
            return;
        };
        store
            .upsert_advisories(&[advisory("A", "2024-01-01T00:00:00Z")])
            .await
            .unwrap();
        run(
            &store,
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.id = 'BOOM' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_boom BEFORE INSERT ON advisories \
             FOR EACH ROW EXECUTE FUNCTION refuse_boom();",
        )
        .await;
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
        // The connection went back to the pool usable after the rollback.
        let stats = store.upsert_advisories(&batch[..2]).await.unwrap();
        assert_eq!((stats.inserted, stats.updated), (1, 1));
    }

    /// A failure while replacing an inventory leaves the old set and history in place.
    #[tokio::test]
    async fn an_inventory_failing_half_way_is_rolled_back() {
        let Some((store, _database)) = fresh().await else {
            return;
        };
        let info = DeviceInfo {
            name: "d".into(),
            ..DeviceInfo::default()
        };
        let device = store.upsert_device(&info, at(0)).await.unwrap();
        let npm = EcosystemRelease::new(Ecosystem::Npm, None);
        let old = [InstalledPackage::new(npm.clone(), "a", "1")];
        store
            .replace_inventory(device.id, &old, at(1))
            .await
            .unwrap();
        run(
            &store,
            "CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.name = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_change BEFORE INSERT ON inventory_changes \
             FOR EACH ROW EXECUTE FUNCTION refuse_change();",
        )
        .await;
        let new = [
            InstalledPackage::new(npm.clone(), "b", "1"),
            InstalledPackage::new(npm, "boom", "1"),
        ];
        let result = store.replace_inventory(device.id, &new, at(2)).await;
        assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
        assert_eq!(store.device_software(device.id).await.unwrap(), old);
        assert_eq!(store.inventory_history(device.id).await.unwrap().len(), 1);
    }

    /// Rows written in bulk get ids in the order given, which the listing orders rely on.
    #[tokio::test]
    async fn bulk_rows_keep_the_order_given() {
        let Some((store, _database)) = fresh().await else {
            return;
        };
        let info = DeviceInfo {
            name: "d".into(),
            ..DeviceInfo::default()
        };
        let device = store.upsert_device(&info, at(0)).await.unwrap();
        let npm = EcosystemRelease::new(Ecosystem::Npm, None);
        let names: Vec<String> = (0..500).map(|i| format!("p{}", (i * 7919) % 500)).collect();
        let packages: Vec<InstalledPackage> = names
            .iter()
            .map(|n| InstalledPackage::new(npm.clone(), n, "1"))
            .collect();
        store
            .replace_inventory(device.id, &packages, at(1))
            .await
            .unwrap();
        let history: Vec<String> = store
            .inventory_history(device.id)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.package.name)
            .collect();
        assert_eq!(history, names);
        let detected: Vec<DetectedWeakness> = names
            .iter()
            .map(|n| DetectedWeakness {
                software: SoftwareKey {
                    ecosystem: npm.clone(),
                    name: n.clone(),
                    version: "1".into(),
                },
                vulnerability_id: "CVE-1".into(),
                advisory_ids: vec!["GHSA-1".into()],
            })
            .collect();
        store
            .replace_weaknesses(device.id, &detected, at(1))
            .await
            .unwrap();
        let open: Vec<String> = store
            .open_weaknesses()
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.software.name)
            .collect();
        assert_eq!(open, names);
    }

    /// Rows that cannot be decoded are reported as corruption of the table they are in.
    #[tokio::test]
    async fn undecodable_rows_are_corrupt() {
        let Some((store, _database)) = fresh().await else {
            return;
        };
        let info = DeviceInfo {
            name: "d".into(),
            ..DeviceInfo::default()
        };
        let device = store.upsert_device(&info, at(0)).await.unwrap();
        let package = InstalledPackage::new(
            EcosystemRelease::new(Ecosystem::Debian, Some("12")),
            "p",
            "1",
        );
        store
            .replace_inventory(device.id, std::slice::from_ref(&package), at(1))
            .await
            .unwrap();
        let detected = DetectedWeakness {
            software: SoftwareKey {
                ecosystem: package.ecosystem.clone(),
                name: "p".into(),
                version: "1".into(),
            },
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

        run(&store, "UPDATE advisories SET record = '{\"id\": 1}'").await;
        expect_corrupt(store.advisories().await, "advisories");
        expect_corrupt(store.advisory("A").await, "advisories");
        run(&store, "UPDATE devices SET tags = 'not json'").await;
        expect_corrupt(store.devices().await, "devices");
        // A column of the wrong type (the schema changed under the application) fails to decode.
        run(
            &store,
            "UPDATE devices SET tags = '[]'; \
             ALTER TABLE devices ALTER COLUMN first_seen TYPE TEXT USING 'yesterday'",
        )
        .await;
        expect_corrupt(store.device(device.id).await, "devices");
        run(&store, "UPDATE device_software SET ecosystem = 'Plan 9'").await;
        expect_corrupt(store.device_software(device.id).await, "device_software");
        expect_corrupt(store.all_software().await, "device_software");
        let result = store.replace_inventory(device.id, &[], at(2)).await;
        expect_corrupt(result, "device_software");
        run(
            &store,
            "ALTER TABLE inventory_changes ALTER COLUMN at TYPE TEXT USING 'last week'",
        )
        .await;
        expect_corrupt(
            store.inventory_history(device.id).await,
            "inventory_changes",
        );
        run(
            &store,
            "UPDATE weaknesses SET first_detected = 9223372036854775807",
        )
        .await;
        expect_corrupt(store.open_weaknesses().await, "weaknesses");
        run(
            &store,
            "UPDATE weaknesses SET first_detected = 0, advisory_ids = '{'",
        )
        .await;
        expect_corrupt(store.device_weaknesses(device.id).await, "weaknesses");
        expect_corrupt(
            store.replace_weaknesses(device.id, &[], at(2)).await,
            "weaknesses",
        );
    }

    /// Devices and advisories are listed in code point order, as SQLite lists them, even in a database
    /// whose default collation orders text for humans (ICU `en-US`: `a` < `B` < `b` < `é` < `Z`).
    #[tokio::test]
    async fn text_is_ordered_by_code_point() {
        let Some(server) = testing::postgres_server().unwrap_or_else(|e| panic!("{e}")) else {
            eprintln!(
                "skipped: no PostgreSQL server named ({})",
                testing::POSTGRES_VAR
            );
            return;
        };
        let database = testing::fresh_postgres(
            &server,
            "TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' \
             LOCALE_PROVIDER icu ICU_LOCALE 'en-US'",
        )
        .await
        .unwrap();
        let store = PostgresStore::open(database.url()).await.unwrap();
        let names = ["b", "B", "a", "É", "e", "_x", "Z", "é", "10", "9"];
        for name in names {
            let info = DeviceInfo {
                name: name.into(),
                ..DeviceInfo::default()
            };
            store.upsert_device(&info, at(0)).await.unwrap();
        }
        let advisories: Vec<Advisory> = names
            .iter()
            .map(|n| advisory(n, "2024-01-01T00:00:00Z"))
            .collect();
        store.upsert_advisories(&advisories).await.unwrap();
        let mut expected: Vec<&str> = names.to_vec();
        expected.sort();
        let devices: Vec<String> = store
            .devices()
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(devices, expected);
        let ids: Vec<String> = store
            .advisories()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, expected);
    }
}
