//! The SQLite implementation of [`Store`]: a file database in WAL mode, or an in-memory one, migrated on open.
//!
//! Connections: a file database gets one writer connection and a few reader connections. Every
//! write goes through the writer and runs in a `BEGIN IMMEDIATE` transaction, so writers in this
//! process queue on the pool (asynchronously) instead of racing for SQLite's lock, and a writer in
//! another process is waited for (busy timeout) instead of failing half-way with `SQLITE_BUSY`.
//! Readers see the last committed state (WAL) and never block the writer. The audited writes rely
//! on that one writer: between reading the audit chain's head (or the exceptions a new one is
//! checked against) and the commit, no other write can run, so the chain never forks and of two
//! overlapping exceptions created at once the second sees the first. An in-memory database lives
//! only as long as a connection to it, so it gets exactly one connection that never expires, shared
//! by both roles.
//!
//! What is not SQLite's is shared with PostgreSQL: rows are decoded and values encoded by `codec`
//! (and `audited`, for the audited entities)
//! (times are integer microseconds since the Unix epoch, UTC; see the migration's header), and what a
//! write changes is decided by `batch`. This module holds the SQL, binds it (`bind`) and runs it:
//! statements are fixed strings run with positional binds, one execution per row, except a
//! one-device write's software, inventory-change and weakness rows, sent as multi-row statements of up
//! to `bind::ROWS_PER_STATEMENT` rows (every statement is a round trip to sqlx's SQLite worker
//! thread); sqlx keeps each connection's prepared statements in a cache, so a batch inside one
//! transaction prepares each statement once.
//!
//! Orders this implementation guarantees beyond the trait: advisories by id; devices by name (byte
//! order); software by ecosystem, name and version; inventory history newest first and, within one
//! ingest, appeared (in the order given) before disappeared; open weaknesses by device, then in the
//! order they were opened; a device's weaknesses by first detection.

mod bind;
pub(crate) mod copy;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use serde::Serialize;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use std::collections::HashSet;

use bulwark_core::audit::{AuditDraft, AuditEntry};
use bulwark_core::exception::{Exception, NewException};
use bulwark_core::group::DeviceGroup;
use bulwark_core::identity::{ApiToken, ConsoleSession, User};
use bulwark_core::remediation::{CompletionMethod, NewTask, RemediationTask};
use bulwark_core::threat::{EpssSet, KevCatalog, NvdRecord};
use bulwark_core::webhook::{Delivery, EventKind, Webhook};
use bulwark_core::{Advisory, Device, DeviceId, DeviceInfo, InstalledPackage, Weakness};

use crate::audited::{
    self, AUDIT_COLUMNS, AUDIT_HEAD, Cancel, DELIVERY_COLUMNS, DELIVERY_SELECT, EXCEPTION_ORDER,
    EXCEPTION_SELECT, SESSION_COLUMNS, SESSION_USER_SELECT, TASK_COLUMNS, TOKEN_COLUMNS,
    TOKEN_USER_SELECT, TrackingColumns, USER_COLUMNS, WEBHOOK_COLUMNS, action, entity,
};
use crate::batch::{self, AdvisoryWrite};
use crate::changes;
use crate::codec::{
    self, DEVICE_COLUMNS, DeviceUpdate, GROUP_COLUMNS, PACKAGE_COLUMNS, SNAPSHOT_COLUMNS,
    WEAKNESS_COLUMNS, micros,
};
use crate::{
    AdvisoryUpsertStats, AuditFilter, DeliveryOutcome, DetectedWeakness, DeviceGroupPatch,
    DevicePatch, EpssStats, ExceptionTracking, InventoryChange, InventoryDiff, KevDiff,
    NewDeviceGroup, NewToken, NewUser, NewWebhook, ScoreScope, ScoreSnapshot, Store, StoreError,
    StoreResult, StoredEpss, WeaknessDiff,
};
use crate::{ChangeSequence, FleetChanges, PoolStatus};
use bind::{
    Query, ROWS_PER_STATEMENT, bind_package, bind_software_key, list_sql, persistent, values_sql,
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

    /// Runs a read on a reader connection and decodes every row it returns, one by one as they arrive.
    async fn read_all<T>(
        &self,
        query: Query<'_>,
        decode: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        // Decoded as they arrive, so the rows of a large table are never all held beside the result.
        let mut rows = query.fetch(&self.reader);
        let mut all = Vec::new();
        while let Some(row) = rows.try_next().await? {
            all.push(decode(&row)?);
        }
        Ok(all)
    }

    /// Runs a read on a reader connection and decodes the row it returns, if any.
    async fn read_optional<T>(
        &self,
        query: Query<'_>,
        decode: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let row = query.fetch_optional(&self.reader).await?;
        row.as_ref().map(decode).transpose()
    }

    /// Starts a write transaction, taking SQLite's write lock up front.
    async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Bumps the fleet's change counter and logs the change (`device`: the one it touched; `None` for
/// exceptions and device groups). The last statements of the write's transaction (see `changes`).
async fn bump_fleet(
    tx: &mut Transaction<'static, Sqlite>,
    device: Option<DeviceId>,
) -> StoreResult<()> {
    let seq: i64 = sqlx::query_scalar(changes::BUMP_FLEET)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO fleet_changes (seq, device_id) VALUES (?1, ?2)")
        .bind(seq)
        .bind(device.map(|d| d.0))
        .execute(&mut **tx)
        .await?;
    if let Some(below) = changes::fleet_prune_below(seq) {
        sqlx::query("DELETE FROM fleet_changes WHERE seq < ?1")
            .bind(below)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
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

/// Appends an entry to the audit trail inside the transaction. The write lock `BEGIN IMMEDIATE` took
/// keeps every other writer, in this process or another, out until the commit, so the head read here
/// is still the head when the entry is inserted: the chain never forks.
async fn append(
    tx: &mut Transaction<'static, Sqlite>,
    draft: AuditDraft,
    before: Option<String>,
    after: Option<String>,
    at: DateTime<Utc>,
) -> StoreResult<AuditEntry> {
    let head = sqlx::query(AUDIT_HEAD).fetch_optional(&mut **tx).await?;
    let head = head.as_ref().map(audited::audit_head).transpose()?;
    let entry = audited::next_entry(head.as_ref(), draft, before, after, at);
    sqlx::query(&format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .bind(entry.seq)
    .bind(micros(entry.at))
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.entity)
    .bind(&entry.entity_id)
    .bind(entry.before.as_deref())
    .bind(entry.after.as_deref())
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut **tx)
    .await?;
    Ok(entry)
}

/// Appends the entry of a change of an entity, holding its serde form before and after.
async fn record<T: Serialize + Sync>(
    tx: &mut Transaction<'static, Sqlite>,
    draft: AuditDraft,
    before: Option<&T>,
    after: Option<&T>,
    at: DateTime<Utc>,
) -> StoreResult<AuditEntry> {
    let (before, after) = audited::snapshots(before, after)?;
    append(tx, draft, before, after, at).await
}

/// The row `sql` selects by `id` (its first parameter) inside the transaction, decoded; the error
/// `missing` makes of the id when there is none.
async fn load<T>(
    tx: &mut Transaction<'static, Sqlite>,
    sql: &str,
    id: i64,
    decode: fn(&SqliteRow) -> StoreResult<T>,
    missing: fn(i64) -> StoreError,
) -> StoreResult<T> {
    let row = sqlx::query(sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref()
        .map(decode)
        .transpose()?
        .ok_or_else(|| missing(id))
}

/// One exception with its groups, read inside the transaction; `NotFound` when it does not exist.
async fn load_exception(tx: &mut Transaction<'static, Sqlite>, id: i64) -> StoreResult<Exception> {
    let sql = format!("{EXCEPTION_SELECT} WHERE e.id = ?1 {EXCEPTION_ORDER}");
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut **tx).await?;
    audited::exceptions(&rows)?
        .pop()
        .ok_or_else(|| audited::exception_not_found(id))
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_advisories(&self, advisories: &[Advisory]) -> StoreResult<AdvisoryUpsertStats> {
        let batch = batch::newest_per_id(advisories)?;
        let mut stats = batch::batch_stats(advisories.len(), batch.len());
        let mut tx = self.write().await?;
        for incoming in &batch {
            let advisory = incoming.advisory;
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT modified FROM advisories WHERE id = ?1")
                    .bind(&advisory.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let sql = match batch::decide(&mut stats, incoming, stored) {
                Some(AdvisoryWrite::Insert) => {
                    "INSERT INTO advisories (id, modified, withdrawn, record) VALUES (?1, ?2, ?3, ?4)"
                }
                Some(AdvisoryWrite::Update) => {
                    "UPDATE advisories SET modified = ?2, withdrawn = ?3, record = ?4 WHERE id = ?1"
                }
                None => continue,
            };
            sqlx::query(sql)
                .bind(&advisory.id)
                .bind(incoming.modified)
                .bind(incoming.withdrawn)
                .bind(codec::advisory_json(advisory)?)
                .execute(&mut *tx)
                .await?;
        }
        if stats.inserted + stats.updated > 0 {
            sqlx::query(changes::BUMP_ADVISORIES)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(stats)
    }

    async fn advisories(&self) -> StoreResult<Vec<Advisory>> {
        let query = sqlx::query("SELECT record FROM advisories ORDER BY id");
        self.read_all(query, codec::advisory).await
    }

    async fn advisory(&self, id: &str) -> StoreResult<Option<Advisory>> {
        let query = sqlx::query("SELECT record FROM advisories WHERE id = ?1").bind(id);
        self.read_optional(query, codec::advisory).await
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
        let update = DeviceUpdate::new(info);
        let mut tx = self.write().await?;
        let row = sqlx::query(&sql)
            .bind(update.name)
            .bind(update.os)
            .bind(update.group)
            .bind(update.tags)
            .bind(micros(at))
            .fetch_one(&mut *tx)
            .await?;
        let device = codec::device(&row)?;
        bump_fleet(&mut tx, Some(device.id)).await?;
        tx.commit().await?;
        Ok(device)
    }

    async fn devices(&self) -> StoreResult<Vec<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY name");
        self.read_all(sqlx::query(&sql), codec::device).await
    }

    async fn device(&self, id: DeviceId) -> StoreResult<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1");
        self.read_optional(sqlx::query(&sql).bind(id.0), codec::device)
            .await
    }

    async fn device_by_name(&self, name: &str) -> StoreResult<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE name = ?1");
        self.read_optional(sqlx::query(&sql).bind(name), codec::device)
            .await
    }

    async fn replace_inventory(
        &self,
        device: DeviceId,
        packages: &[InstalledPackage],
        at: DateTime<Utc>,
    ) -> StoreResult<InventoryDiff> {
        let mut tx = self.write().await?;
        ensure_device(&mut tx, device).await?;
        let rows = sqlx::query(&format!(
            "SELECT id, {PACKAGE_COLUMNS} FROM device_software WHERE device_id = ?1"
        ))
        .bind(device.0)
        .fetch_all(&mut *tx)
        .await?;
        let stored = rows
            .iter()
            .map(codec::stored_package)
            .collect::<StoreResult<Vec<_>>>()?;
        let plan = batch::plan_inventory(stored, packages);
        for ids in plan.delete.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM device_software WHERE id IN {}",
                list_sql(ids.len())
            );
            let mut query = sqlx::query(&sql).persistent(persistent(ids.len()));
            for id in ids {
                query = query.bind(id);
            }
            query.execute(&mut *tx).await?;
        }
        let insert_software = format!("INSERT INTO device_software (device_id, {PACKAGE_COLUMNS})");
        for rows in plan.diff.appeared.chunks(ROWS_PER_STATEMENT) {
            let sql = values_sql(&insert_software, 9, rows.len());
            let mut query = sqlx::query(&sql).persistent(persistent(rows.len()));
            for p in rows {
                query = bind_package(query.bind(device.0), p);
            }
            query.execute(&mut *tx).await?;
        }
        let insert_change =
            format!("INSERT INTO inventory_changes (device_id, at, change, {PACKAGE_COLUMNS})");
        let at = micros(at);
        let changes: Vec<_> = plan.changes().collect();
        for rows in changes.chunks(ROWS_PER_STATEMENT) {
            let sql = values_sql(&insert_change, 11, rows.len());
            let mut query = sqlx::query(&sql).persistent(persistent(rows.len()));
            for (change, p) in rows {
                query = bind_package(query.bind(device.0).bind(at).bind(*change), p);
            }
            query.execute(&mut *tx).await?;
        }
        if plan.changes_rows() {
            bump_fleet(&mut tx, Some(device)).await?;
        }
        tx.commit().await?;
        Ok(plan.diff)
    }

    async fn device_software(&self, device: DeviceId) -> StoreResult<Vec<InstalledPackage>> {
        let sql = format!("SELECT {PACKAGE_COLUMNS} FROM device_software WHERE device_id = ?1");
        let query = sqlx::query(&sql).bind(device.0);
        let mut packages = self.read_all(query, codec::software).await?;
        packages.sort_by(codec::package_cmp);
        Ok(packages)
    }

    async fn inventory_history(&self, device: DeviceId) -> StoreResult<Vec<InventoryChange>> {
        let sql = format!(
            "SELECT at, change, {PACKAGE_COLUMNS} FROM inventory_changes \
             WHERE device_id = ?1 ORDER BY at DESC, id ASC"
        );
        let query = sqlx::query(&sql).bind(device.0);
        self.read_all(query, codec::inventory_change).await
    }

    async fn all_software(&self) -> StoreResult<Vec<(DeviceId, InstalledPackage)>> {
        let sql = format!("SELECT device_id, {PACKAGE_COLUMNS} FROM device_software");
        let mut all = self
            .read_all(sqlx::query(&sql), codec::device_package)
            .await?;
        all.sort_by(codec::device_package_cmp);
        Ok(all)
    }

    async fn replace_weaknesses(
        &self,
        device: DeviceId,
        detected: &[DetectedWeakness],
        at: DateTime<Utc>,
    ) -> StoreResult<WeaknessDiff> {
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
        let open = rows
            .iter()
            .map(codec::open_weakness)
            .collect::<StoreResult<Vec<_>>>()?;
        let plan = batch::plan_weaknesses(&open, detected);
        for (id, advisory_ids) in &plan.relist {
            sqlx::query("UPDATE weaknesses SET advisory_ids = ?2 WHERE id = ?1")
                .bind(id)
                .bind(advisory_ids)
                .execute(&mut *tx)
                .await?;
        }
        for ids in plan.resolve.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE weaknesses SET resolved = ? WHERE id IN {}",
                list_sql(ids.len())
            );
            let mut query = sqlx::query(&sql).persistent(persistent(ids.len())).bind(at);
            for id in ids {
                query = query.bind(id);
            }
            query.execute(&mut *tx).await?;
        }
        let insert = "INSERT INTO weaknesses (device_id, ecosystem, release, name, version, vulnerability_id, \
                      advisory_ids, first_detected)";
        for rows in plan.open.chunks(ROWS_PER_STATEMENT) {
            let sql = values_sql(insert, 8, rows.len());
            let mut query = sqlx::query(&sql).persistent(persistent(rows.len()));
            for new in rows {
                query = bind_software_key(query.bind(device.0), new.software)
                    .bind(new.vulnerability_id)
                    .bind(new.advisory_ids.as_str())
                    .bind(at);
            }
            query.execute(&mut *tx).await?;
        }
        if plan.changes_rows() {
            bump_fleet(&mut tx, Some(device)).await?;
        }
        tx.commit().await?;
        Ok(plan.diff)
    }

    async fn open_weaknesses(&self) -> StoreResult<Vec<Weakness>> {
        let sql = format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE resolved IS NULL ORDER BY device_id, id"
        );
        self.read_all(sqlx::query(&sql), codec::weakness).await
    }

    async fn open_weaknesses_of(&self, device: DeviceId) -> StoreResult<Vec<Weakness>> {
        let sql = format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE device_id = ?1 AND resolved IS NULL ORDER BY id"
        );
        self.read_all(sqlx::query(&sql).bind(device.0), codec::weakness)
            .await
    }

    async fn device_weaknesses(&self, device: DeviceId) -> StoreResult<Vec<Weakness>> {
        let sql = format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE device_id = ?1 ORDER BY first_detected, id"
        );
        let query = sqlx::query(&sql).bind(device.0);
        self.read_all(query, codec::weakness).await
    }

    async fn upsert_nvd(&self, records: &[NvdRecord]) -> StoreResult<AdvisoryUpsertStats> {
        let batch = batch::newest_nvd(records)?;
        let mut stats = batch::batch_stats(records.len(), batch.len());
        let mut tx = self.write().await?;
        for incoming in &batch {
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT last_modified FROM nvd_records WHERE cve_id = ?1")
                    .bind(&incoming.record.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let decision = batch::decide_record(
                &mut stats,
                &incoming.record.id,
                incoming.last_modified,
                stored,
            );
            let sql = match decision {
                Some(AdvisoryWrite::Insert) => {
                    "INSERT INTO nvd_records (cve_id, last_modified, record) VALUES (?1, ?2, ?3)"
                }
                Some(AdvisoryWrite::Update) => {
                    "UPDATE nvd_records SET last_modified = ?2, record = ?3 WHERE cve_id = ?1"
                }
                None => continue,
            };
            sqlx::query(sql)
                .bind(&incoming.record.id)
                .bind(incoming.last_modified)
                .bind(incoming.json.as_str())
                .execute(&mut *tx)
                .await?;
        }
        if stats.inserted + stats.updated > 0 {
            sqlx::query(changes::BUMP_THREAT).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(stats)
    }

    async fn nvd_records(&self) -> StoreResult<Vec<NvdRecord>> {
        let query = sqlx::query("SELECT record FROM nvd_records ORDER BY cve_id");
        self.read_all(query, codec::nvd_record).await
    }

    async fn replace_kev(&self, catalog: &KevCatalog, at: DateTime<Utc>) -> StoreResult<KevDiff> {
        let rows = batch::kev_rows(catalog)?;
        let mut tx = self.write().await?;
        let stored: HashSet<String> = sqlx::query_scalar("SELECT cve_id FROM kev_entries")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let diff = batch::kev_diff(&stored, catalog);
        sqlx::query("DELETE FROM kev_entries")
            .execute(&mut *tx)
            .await?;
        for (cve, date_added, entry) in &rows {
            sqlx::query("INSERT INTO kev_entries (cve_id, date_added, entry) VALUES (?1, ?2, ?3)")
                .bind(cve)
                .bind(date_added)
                .bind(entry)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO feed_state (feed, version, released, imported_at) VALUES ('kev', ?1, ?2, ?3) \
             ON CONFLICT (feed) DO UPDATE SET version = ?1, released = ?2, imported_at = ?3",
        )
        .bind(catalog.catalog_version.as_deref())
        .bind(catalog.date_released.as_deref())
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
        // A catalog always counts as a change: entries kept may carry new dates.
        sqlx::query(changes::BUMP_THREAT).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(diff)
    }

    async fn kev(&self) -> StoreResult<KevCatalog> {
        let entries = self
            .read_all(
                sqlx::query("SELECT entry FROM kev_entries ORDER BY cve_id"),
                codec::kev_entry,
            )
            .await?;
        let state: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT version, released FROM feed_state WHERE feed = 'kev'")
                .fetch_optional(&self.reader)
                .await?;
        let (catalog_version, date_released) = state.unwrap_or_default();
        Ok(KevCatalog {
            catalog_version,
            date_released,
            entries,
        })
    }

    async fn upsert_epss(&self, set: &EpssSet, at: DateTime<Utc>) -> StoreResult<EpssStats> {
        let date = codec::epss_date_micros(set.score_date.as_deref());
        let mut stats = EpssStats::default();
        let mut tx = self.write().await?;
        for score in &set.scores {
            let written = sqlx::query(
                "INSERT INTO epss_scores (cve_id, epss, percentile, score_date) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (cve_id) DO UPDATE SET epss = ?2, percentile = ?3, score_date = ?4 \
                 WHERE epss_scores.score_date IS NULL OR ?4 IS NULL OR ?4 >= epss_scores.score_date",
            )
            .bind(&score.cve)
            .bind(score.epss)
            .bind(score.percentile)
            .bind(date)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if written > 0 {
                stats.written += 1;
            } else {
                stats.older += 1;
            }
        }
        sqlx::query(
            "INSERT INTO feed_state (feed, version, released, imported_at) VALUES ('epss', ?1, ?2, ?3) \
             ON CONFLICT (feed) DO UPDATE SET version = ?1, released = ?2, imported_at = ?3",
        )
        .bind(set.model_version.as_deref())
        .bind(set.score_date.as_deref())
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
        if stats.written > 0 {
            sqlx::query(changes::BUMP_THREAT).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(stats)
    }

    async fn epss(&self) -> StoreResult<StoredEpss> {
        let scores = self
            .read_all(
                sqlx::query("SELECT cve_id, epss, percentile FROM epss_scores ORDER BY cve_id"),
                codec::epss_score,
            )
            .await?;
        let state: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT version, released FROM feed_state WHERE feed = 'epss'")
                .fetch_optional(&self.reader)
                .await?;
        let (model_version, score_date) = state.unwrap_or_default();
        Ok(StoredEpss {
            model_version,
            score_date,
            scores,
        })
    }

    async fn update_device(&self, id: DeviceId, patch: &DevicePatch) -> StoreResult<Device> {
        let tags = patch.tags.as_deref().map(codec::string_list_json);
        let (set_group, group) = match &patch.group {
            Some(group) => (true, group.as_deref()),
            None => (false, None),
        };
        let sql = format!(
            "UPDATE devices SET value = COALESCE(?2, value), tags = COALESCE(?3, tags), \
             device_group = CASE WHEN ?4 THEN ?5 ELSE device_group END \
             WHERE id = ?1 RETURNING {DEVICE_COLUMNS}"
        );
        let mut tx = self.write().await?;
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(patch.value.map(codec::device_value_text))
            .bind(tags)
            .bind(set_group)
            .bind(group)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("device {}", id.0)));
        };
        let device = codec::device(&row)?;
        bump_fleet(&mut tx, Some(id)).await?;
        tx.commit().await?;
        Ok(device)
    }

    async fn device_groups(&self) -> StoreResult<Vec<DeviceGroup>> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM device_groups ORDER BY rank, id");
        self.read_all(sqlx::query(&sql), codec::device_group).await
    }

    async fn create_device_group(
        &self,
        group: &NewDeviceGroup,
        at: DateTime<Utc>,
    ) -> StoreResult<DeviceGroup> {
        let rules = codec::json_text("device_groups", &group.rules)?;
        let sql = format!(
            "INSERT INTO device_groups (name, description, rank, rules, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING RETURNING {GROUP_COLUMNS}"
        );
        let mut tx = self.write().await?;
        let row = sqlx::query(&sql)
            .bind(&group.name)
            .bind(&group.description)
            .bind(group.rank)
            .bind(rules)
            .bind(micros(at))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::Conflict(format!(
                "a device group named {:?} exists",
                group.name
            )));
        };
        let created = codec::device_group(&row)?;
        bump_fleet(&mut tx, None).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn update_device_group(
        &self,
        id: i64,
        patch: &DeviceGroupPatch,
    ) -> StoreResult<DeviceGroup> {
        let rules = patch
            .rules
            .as_ref()
            .map(|r| codec::json_text("device_groups", r))
            .transpose()?;
        let mut tx = self.write().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT name FROM device_groups WHERE id = ?1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Err(StoreError::NotFound(format!("device group {id}")));
        };
        if let Some(name) = patch.name.as_deref().filter(|n| *n != old) {
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM device_groups WHERE name = ?1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a device group named {name:?} exists"
                )));
            }
            sqlx::query("UPDATE devices SET device_group = ?2 WHERE device_group = ?1")
                .bind(&old)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "UPDATE device_groups SET name = COALESCE(?2, name), description = COALESCE(?3, description), \
             rank = COALESCE(?4, rank), rules = COALESCE(?5, rules) WHERE id = ?1 RETURNING {GROUP_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(patch.name.as_deref())
            .bind(patch.description.as_deref())
            .bind(patch.rank)
            .bind(rules)
            .fetch_one(&mut *tx)
            .await?;
        let group = codec::device_group(&row)?;
        bump_fleet(&mut tx, None).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn delete_device_group(&self, id: i64) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let name: Option<String> =
            sqlx::query_scalar("DELETE FROM device_groups WHERE id = ?1 RETURNING name")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(name) = name else {
            return Err(StoreError::NotFound(format!("device group {id}")));
        };
        sqlx::query("UPDATE devices SET device_group = NULL WHERE device_group = ?1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        bump_fleet(&mut tx, None).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_scores(&self, snapshots: &[ScoreSnapshot]) -> StoreResult<()> {
        let mut tx = self.write().await?;
        for s in snapshots {
            sqlx::query(
                "INSERT INTO score_snapshots (at, scope, scope_name, exposure, configuration) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(micros(s.at))
            .bind(s.scope.as_str())
            .bind(&s.name)
            .bind(s.exposure)
            .bind(s.configuration)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn score_history(
        &self,
        scope: ScoreScope,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ScoreSnapshot>> {
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM score_snapshots \
             WHERE scope = ?1 AND scope_name = ?2 AND at >= ?3 AND at <= ?4 ORDER BY at, id"
        );
        let query = sqlx::query(&sql)
            .bind(scope.as_str())
            .bind(name)
            .bind(micros(from))
            .bind(micros(to));
        self.read_all(query, codec::score_snapshot).await
    }

    async fn latest_score_time(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT MAX(at) FROM score_snapshots WHERE scope = 'organization'")
                .fetch_one(&self.reader)
                .await?;
        Ok(at.and_then(DateTime::from_timestamp_micros))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn change_sequence(&self) -> StoreResult<ChangeSequence> {
        let rows: Vec<(String, i64)> = sqlx::query_as(changes::SELECT)
            .fetch_all(&self.reader)
            .await?;
        Ok(changes::sequence(&rows))
    }

    async fn fleet_changes(&self, after: i64, upto: i64) -> StoreResult<FleetChanges> {
        if !changes::fleet_log_covers(after, upto) {
            return Ok(changes::fleet_changes(after, upto, &[]));
        }
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT seq, device_id FROM fleet_changes WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
        )
        .bind(after)
        .bind(upto)
        .fetch_all(&self.reader)
        .await?;
        Ok(changes::fleet_changes(after, upto, &rows))
    }

    fn pool_status(&self) -> Vec<PoolStatus> {
        [("writer", &self.writer), ("reader", &self.reader)]
            .into_iter()
            .map(|(name, pool)| {
                // The two counters are read one after the other while connections come and go: an
                // idle count is never reported above the size it belongs to.
                let size = pool.size();
                PoolStatus {
                    pool: name,
                    size,
                    idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size),
                    max: pool.options().get_max_connections(),
                }
            })
            .collect()
    }

    async fn replace_config_results(
        &self,
        device: DeviceId,
        source: bulwark_core::config::CheckSource,
        results: &[bulwark_core::config::CheckResult],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let rows = codec::config_result_rows(source, results)?;
        let source = codec::check_source_text(source);
        let mut tx = self.write().await?;
        ensure_device(&mut tx, device).await?;
        sqlx::query("DELETE FROM config_results WHERE device_id = ?1 AND source = ?2")
            .bind(device.0)
            .bind(source)
            .execute(&mut *tx)
            .await?;
        let at = micros(at);
        for row in &rows {
            sqlx::query(
                "INSERT INTO config_results (device_id, source, check_id, status, result, assessed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(device.0)
            .bind(source)
            .bind(&row.check_id)
            .bind(row.status)
            .bind(&row.result)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn config_results(
        &self,
    ) -> StoreResult<Vec<(DeviceId, bulwark_core::config::CheckResult)>> {
        let sql = format!(
            "SELECT {} FROM config_results ORDER BY device_id, source, check_id",
            codec::CONFIG_RESULT_COLUMNS
        );
        self.read_all(sqlx::query(&sql), codec::config_result).await
    }

    async fn device_config_results(
        &self,
        device: DeviceId,
    ) -> StoreResult<Vec<bulwark_core::config::CheckResult>> {
        let sql = format!(
            "SELECT {} FROM config_results WHERE device_id = ?1 ORDER BY source, check_id",
            codec::CONFIG_RESULT_COLUMNS
        );
        let rows = self
            .read_all(sqlx::query(&sql).bind(device.0), codec::config_result)
            .await?;
        Ok(rows.into_iter().map(|(_, result)| result).collect())
    }

    async fn upsert_config_checks(
        &self,
        checks: &[bulwark_core::config::ConfigCheck],
    ) -> StoreResult<()> {
        let rows = codec::config_check_rows(checks)?;
        let mut tx = self.write().await?;
        for (id, definition) in &rows {
            sqlx::query(
                "INSERT INTO config_checks (check_id, definition) VALUES (?1, ?2) \
                 ON CONFLICT (check_id) DO UPDATE SET definition = excluded.definition",
            )
            .bind(id)
            .bind(definition)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn config_checks(&self) -> StoreResult<Vec<bulwark_core::config::ConfigCheck>> {
        let query = sqlx::query("SELECT definition FROM config_checks ORDER BY check_id");
        self.read_all(query, codec::config_check).await
    }

    async fn create_user(
        &self,
        user: &NewUser,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let sql = format!(
            "INSERT INTO users (email, display_name, role, password_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&user.email)
            .bind(&user.display_name)
            .bind(user.role.as_str())
            .bind(user.password_hash.as_deref())
            .bind(micros(at))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(audited::email_taken(&user.email));
        };
        let created = audited::user(&row)?;
        let draft = audited::draft(actor, action::USER_CREATE, entity::USER, created.id);
        record(&mut tx, draft, None, Some(&created), at).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let sql =
            format!("UPDATE users SET password_hash = ?2 WHERE id = ?1 RETURNING {USER_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(password_hash)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| audited::user_not_found(user_id))?;
        let user = audited::user(&row)?;
        sqlx::query(
            "UPDATE console_sessions SET ended_at = ?2 WHERE user_id = ?1 AND ended_at IS NULL",
        )
        .bind(user_id)
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
        let draft = audited::draft(actor, action::USER_PASSWORD, entity::USER, user.id);
        record(&mut tx, draft, Some(&user), Some(&user), at).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        self.read_all(sqlx::query(&sql), audited::user).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = ?1");
        self.read_optional(sqlx::query(&sql).bind(email), audited::user_with_hash)
            .await
    }

    async fn create_token(
        &self,
        token: &NewToken,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<ApiToken> {
        let mut tx = self.write().await?;
        let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?1")
            .bind(token.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Err(audited::user_not_found(token.user_id));
        }
        let sql = format!(
            "INSERT INTO api_tokens (user_id, prefix, digest, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(token.user_id)
            .bind(&token.prefix)
            .bind(&token.digest)
            .bind(micros(at))
            .bind(token.expires_at.map(micros))
            .fetch_one(&mut *tx)
            .await
            .map_err(audited::digest_taken)?;
        let created = audited::token(&row)?;
        let draft = audited::draft(actor, action::TOKEN_CREATE, entity::TOKEN, created.id);
        record(&mut tx, draft, None, Some(&created), at).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn token_by_digest(&self, digest: &str) -> StoreResult<Option<(ApiToken, User)>> {
        let sql = format!("{TOKEN_USER_SELECT} WHERE t.digest = ?1");
        self.read_optional(sqlx::query(&sql).bind(digest), audited::token_and_user)
            .await
    }

    async fn try_lease(
        &self,
        job: &str,
        holder: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let granted = sqlx::query(
            "INSERT INTO job_leases (job, holder, expires_at) VALUES (?1, ?2, ?4) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= ?3",
        )
        .bind(job)
        .bind(holder)
        .bind(micros(at))
        .bind(micros(until))
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(granted > 0)
    }

    async fn create_session(
        &self,
        user_id: i64,
        digest: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<ConsoleSession> {
        let sql = format!(
            "INSERT INTO console_sessions (user_id, digest, created_at, expires_at, last_seen_at) \
             SELECT ?1, ?2, ?3, ?4, ?3 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) \
             RETURNING {SESSION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(digest)
            .bind(micros(at))
            .bind(micros(expires_at))
            .fetch_optional(&self.writer)
            .await
            .map_err(audited::digest_taken)?
            .ok_or_else(|| audited::user_not_found(user_id))?;
        audited::session(&row)
    }

    async fn session_by_digest(&self, digest: &str) -> StoreResult<Option<(ConsoleSession, User)>> {
        let sql = format!("{SESSION_USER_SELECT} WHERE s.digest = ?1");
        self.read_optional(sqlx::query(&sql).bind(digest), audited::session_and_user)
            .await
    }

    async fn touch_session(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let touched = sqlx::query("UPDATE console_sessions SET last_seen_at = ?2 WHERE id = ?1")
            .bind(id)
            .bind(micros(at))
            .execute(&self.writer)
            .await?
            .rows_affected();
        match touched {
            0 => Err(audited::session_not_found(id)),
            _ => Ok(()),
        }
    }

    async fn end_session(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let ended = sqlx::query(
            "UPDATE console_sessions SET ended_at = COALESCE(ended_at, ?2) WHERE id = ?1",
        )
        .bind(id)
        .bind(micros(at))
        .execute(&self.writer)
        .await?
        .rows_affected();
        match ended {
            0 => Err(audited::session_not_found(id)),
            _ => Ok(()),
        }
    }

    async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let touched = sqlx::query("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")
            .bind(id)
            .bind(micros(at))
            .execute(&self.writer)
            .await?
            .rows_affected();
        match touched {
            0 => Err(audited::token_not_found(id)),
            _ => Ok(()),
        }
    }

    async fn tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ?1 ORDER BY id");
        self.read_all(sqlx::query(&sql).bind(user_id), audited::token)
            .await
    }

    async fn revoke_token(&self, id: i64, actor: &str, at: DateTime<Utc>) -> StoreResult<ApiToken> {
        let mut tx = self.write().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1");
        let before = load(&mut tx, &sql, id, audited::token, audited::token_not_found).await?;
        audited::check_revocable(&before)?;
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(micros(at))
            .fetch_one(&mut *tx)
            .await?;
        let after = audited::token(&row)?;
        let draft = audited::draft(actor, action::TOKEN_REVOKE, entity::TOKEN, id);
        record(&mut tx, draft, Some(&before), Some(&after), at).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn create_exception(
        &self,
        exception: &NewException,
        actor: &str,
    ) -> StoreResult<Exception> {
        let groups = audited::new_exception_groups(exception)?;
        // BEGIN IMMEDIATE holds the database's write lock from here to the commit: no other creation,
        // on this target or any other, runs between the check and the insert.
        let mut tx = self.write().await?;
        let sql =
            format!("{EXCEPTION_SELECT} WHERE e.kind = ?1 AND e.target = ?2 {EXCEPTION_ORDER}");
        let rows = sqlx::query(&sql)
            .bind(exception.kind.as_str())
            .bind(&exception.target)
            .fetch_all(&mut *tx)
            .await?;
        audited::check_no_conflict(&audited::exceptions(&rows)?, exception)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO exceptions (kind, target, justification, context, global, created_by, \
             created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )
        .bind(exception.kind.as_str())
        .bind(&exception.target)
        .bind(exception.justification.as_str())
        .bind(&exception.context)
        .bind(exception.global)
        .bind(&exception.created_by)
        .bind(micros(exception.created_at))
        .bind(micros(exception.expires_at))
        .fetch_one(&mut *tx)
        .await?;
        for group in &groups {
            sqlx::query("INSERT INTO exception_groups (exception_id, group_name) VALUES (?1, ?2)")
                .bind(id)
                .bind(group)
                .execute(&mut *tx)
                .await?;
        }
        let created = load_exception(&mut tx, id).await?;
        let draft = audited::draft(actor, action::EXCEPTION_CREATE, entity::EXCEPTION, id);
        record(&mut tx, draft, None, Some(&created), exception.created_at).await?;
        bump_fleet(&mut tx, None).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn exceptions(&self) -> StoreResult<Vec<Exception>> {
        let sql = format!("{EXCEPTION_SELECT} {EXCEPTION_ORDER}");
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        audited::exceptions(&rows)
    }

    async fn exception(&self, id: i64) -> StoreResult<Option<Exception>> {
        let sql = format!("{EXCEPTION_SELECT} WHERE e.id = ?1 {EXCEPTION_ORDER}");
        let rows = sqlx::query(&sql).bind(id).fetch_all(&self.reader).await?;
        Ok(audited::exceptions(&rows)?.pop())
    }

    async fn cancel_exception(
        &self,
        id: i64,
        groups: Option<&[String]>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Exception> {
        let mut tx = self.write().await?;
        let before = load_exception(&mut tx, id).await?;
        match audited::plan_cancel(&before, groups, at)? {
            Cancel::Whole => {
                sqlx::query(
                    "UPDATE exceptions SET canceled_by = ?2, canceled_at = ?3 WHERE id = ?1",
                )
                .bind(id)
                .bind(actor)
                .bind(micros(at))
                .execute(&mut *tx)
                .await?;
            }
            Cancel::Groups(names) => {
                for name in &names {
                    sqlx::query(
                        "UPDATE exception_groups SET canceled_by = ?3, canceled_at = ?4 \
                         WHERE exception_id = ?1 AND group_name = ?2",
                    )
                    .bind(id)
                    .bind(name)
                    .bind(actor)
                    .bind(micros(at))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        let after = load_exception(&mut tx, id).await?;
        let draft = audited::draft(actor, action::EXCEPTION_CANCEL, entity::EXCEPTION, id);
        record(&mut tx, draft, Some(&before), Some(&after), at).await?;
        bump_fleet(&mut tx, None).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn track_exception(
        &self,
        id: i64,
        tracking: &ExceptionTracking,
        action: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Exception> {
        let mut tx = self.write().await?;
        let before = load_exception(&mut tx, id).await?;
        let columns = TrackingColumns::new(&audited::track(&before, tracking))?;
        sqlx::query(
            "UPDATE exceptions SET review = ?2, baseline = ?3, last_covered_at = ?4, \
             expiry_recorded_at = ?5, canceled_by = ?6, canceled_at = ?7 WHERE id = ?1",
        )
        .bind(id)
        .bind(columns.review)
        .bind(columns.baseline)
        .bind(columns.last_covered_at)
        .bind(columns.expiry_recorded_at)
        .bind(columns.canceled_by)
        .bind(columns.canceled_at)
        .execute(&mut *tx)
        .await?;
        let after = load_exception(&mut tx, id).await?;
        if let Some(action) = action {
            let draft = audited::draft(actor, action, entity::EXCEPTION, id);
            record(&mut tx, draft, Some(&before), Some(&after), at).await?;
        }
        if after != before {
            bump_fleet(&mut tx, None).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    async fn create_task(&self, task: &NewTask, actor: &str) -> StoreResult<RemediationTask> {
        let fields = audited::task_fields_json(task)?;
        let mut tx = self.write().await?;
        let sql = format!(
            "INSERT INTO remediation_tasks (recommendation_id, fields, status, status_last_modified_on) \
             VALUES (?1, ?2, 'Active', ?3) RETURNING {TASK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&task.recommendation_id)
            .bind(fields)
            .bind(micros(task.created_at))
            .fetch_one(&mut *tx)
            .await?;
        let created = audited::task(&row)?;
        let draft = audited::draft(actor, action::TASK_CREATE, entity::TASK, created.id);
        record(&mut tx, draft, None, Some(&created), task.created_at).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn tasks(&self) -> StoreResult<Vec<RemediationTask>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM remediation_tasks ORDER BY id");
        self.read_all(sqlx::query(&sql), audited::task).await
    }

    async fn task(&self, id: i64) -> StoreResult<Option<RemediationTask>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM remediation_tasks WHERE id = ?1");
        self.read_optional(sqlx::query(&sql).bind(id), audited::task)
            .await
    }

    async fn complete_task(
        &self,
        id: i64,
        method: CompletionMethod,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<RemediationTask> {
        let mut tx = self.write().await?;
        let sql = format!("SELECT {TASK_COLUMNS} FROM remediation_tasks WHERE id = ?1");
        let before = load(&mut tx, &sql, id, audited::task, audited::task_not_found).await?;
        audited::check_completable(&before)?;
        let sql = format!(
            "UPDATE remediation_tasks SET status = 'Completed', status_last_modified_on = ?2, \
             completion_method = ?3, completer_email = ?4 WHERE id = ?1 RETURNING {TASK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(micros(at))
            .bind(method.as_str())
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
        let after = audited::task(&row)?;
        let draft = audited::draft(actor, action::TASK_COMPLETE, entity::TASK, id);
        record(&mut tx, draft, Some(&before), Some(&after), at).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn purge_tasks(
        &self,
        before: DateTime<Utc>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM remediation_tasks \
             WHERE status = 'Completed' AND status_last_modified_on < ?1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(before))
            .fetch_all(&mut *tx)
            .await?;
        let purged = rows
            .iter()
            .map(audited::task)
            .collect::<StoreResult<Vec<_>>>()?;
        for task in &purged {
            sqlx::query("DELETE FROM remediation_tasks WHERE id = ?1")
                .bind(task.id)
                .execute(&mut *tx)
                .await?;
            let draft = audited::draft(actor, action::TASK_PURGE, entity::TASK, task.id);
            record(&mut tx, draft, Some(task), None, at).await?;
        }
        tx.commit().await?;
        Ok(purged.len() as u64)
    }

    async fn append_audit(
        &self,
        draft: &AuditDraft,
        before: Option<&str>,
        after: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<AuditEntry> {
        let mut tx = self.write().await?;
        let (before, after) = (before.map(str::to_string), after.map(str::to_string));
        let entry = append(&mut tx, draft.clone(), before, after, at).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let limit = audited::audit_limit(filter)?;
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE (?1 IS NULL OR entity = ?1) \
             AND (?2 IS NULL OR entity_id = ?2) AND (?3 IS NULL OR actor = ?3) \
             AND seq > COALESCE(?4, 0) ORDER BY seq LIMIT COALESCE(?5, -1)"
        );
        let query = sqlx::query(&sql)
            .bind(filter.entity.as_deref())
            .bind(filter.entity_id.as_deref())
            .bind(filter.actor.as_deref())
            .bind(filter.after_seq)
            .bind(limit);
        self.read_all(query, audited::audit_entry).await
    }

    async fn create_webhook(
        &self,
        webhook: &NewWebhook,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let events = audited::events_json(&webhook.events)?;
        let mut tx = self.write().await?;
        let sql = format!(
            "INSERT INTO webhooks (url, secret, events, created_at) VALUES (?1, ?2, ?3, ?4) \
             RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&webhook.url)
            .bind(&webhook.secret)
            .bind(events)
            .bind(micros(at))
            .fetch_one(&mut *tx)
            .await?;
        let (created, _secret) = audited::webhook(&row)?;
        let draft = audited::draft(actor, action::WEBHOOK_CREATE, entity::WEBHOOK, created.id);
        record(&mut tx, draft, None, Some(&created), at).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn webhooks(&self) -> StoreResult<Vec<(Webhook, String)>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        self.read_all(sqlx::query(&sql), audited::webhook).await
    }

    async fn delete_webhook(&self, id: i64, actor: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1");
        let (before, _secret) = load(
            &mut tx,
            &sql,
            id,
            audited::webhook,
            audited::webhook_not_found,
        )
        .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhooks WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let draft = audited::draft(actor, action::WEBHOOK_DELETE, entity::WEBHOOK, id);
        record(&mut tx, draft, Some(&before), None, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enqueue_event(
        &self,
        event: EventKind,
        payload: &str,
        dedup_key: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&mut *tx).await?;
        let mut queued = 0;
        for row in &rows {
            let (webhook, _secret) = audited::webhook(row)?;
            if !audited::subscribed(&webhook.events, event) {
                continue;
            }
            queued += sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event, payload, dedup_key, attempts, \
                 next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5) \
                 ON CONFLICT (webhook_id, dedup_key) DO NOTHING",
            )
            .bind(webhook.id)
            .bind(event.as_str())
            .bind(payload)
            .bind(dedup_key)
            .bind(micros(at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(queued)
    }

    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<(Delivery, String, String)>> {
        let limit = audited::limit("delivery limit", Some(limit))?;
        let sql = format!(
            "{DELIVERY_SELECT} WHERE d.delivered_at IS NULL AND d.next_attempt_at IS NOT NULL \
             AND d.next_attempt_at <= ?1 ORDER BY d.id LIMIT ?2"
        );
        let query = sqlx::query(&sql).bind(micros(now)).bind(limit);
        self.read_all(query, audited::due_delivery).await
    }

    async fn deliveries(&self, webhook_id: i64) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?1 ORDER BY id"
        );
        self.read_all(sqlx::query(&sql).bind(webhook_id), audited::delivery)
            .await
    }

    async fn record_delivery(
        &self,
        id: i64,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let query = match outcome {
            DeliveryOutcome::Delivered => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = ?2, \
                 next_attempt_at = NULL WHERE id = ?1 AND delivered_at IS NULL",
            )
            .bind(id)
            .bind(micros(at)),
            DeliveryOutcome::Failed { error, retry_at } => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?2, \
                 next_attempt_at = ?3 WHERE id = ?1 AND delivered_at IS NULL",
            )
            .bind(id)
            .bind(error.as_str())
            .bind(retry_at.map(micros)),
        };
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            let delivered: Option<bool> = sqlx::query_scalar(
                "SELECT delivered_at IS NOT NULL FROM webhook_deliveries WHERE id = ?1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(audited::delivery_not_recordable(id, delivered));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>> {
        let query = sqlx::query("SELECT value FROM settings WHERE key = ?1").bind(key);
        self.read_optional(query, audited::setting).await
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let after = codec::json_text("settings", value)?;
        let mut tx = self.write().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(&after)
        .execute(&mut *tx)
        .await?;
        let draft = audited::draft(actor, action::SETTINGS_UPDATE, entity::SETTINGS, key);
        append(&mut tx, draft, before, Some(after), at).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{advisory, at, expect_corrupt};
    use bulwark_core::{Ecosystem, EcosystemRelease, SoftwareKey};

    async fn memory() -> SqliteStore {
        SqliteStore::open("sqlite::memory:").await.unwrap()
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

    /// Rows of the audited tables that cannot be decoded are reported as corruption of their table.
    #[tokio::test]
    async fn undecodable_audited_rows_are_corrupt() {
        use bulwark_core::exception::{Justification, TargetKind};
        use bulwark_core::identity::Role;
        use bulwark_core::remediation::Priority;
        let store = memory().await;
        let user = NewUser {
            email: "ana@example.org".into(),
            display_name: "Ana".into(),
            role: Role::Admin,
            password_hash: None,
        };
        store.create_user(&user, "system", at(0)).await.unwrap();
        let exception = NewException {
            kind: TargetKind::Cve,
            target: "CVE-2024-1".into(),
            justification: Justification::CveNoPatch,
            context: "no fix yet".into(),
            global: true,
            groups: vec![],
            created_by: "ana@example.org".into(),
            created_at: at(0),
            expires_at: at(100),
        };
        let e = store.create_exception(&exception, "ana").await.unwrap();
        let task = NewTask {
            recommendation_id: "rec".into(),
            title: "t".into(),
            description: "d".into(),
            related_component: "c".into(),
            recommended_version: None,
            priority: Priority::Low,
            due_on: None,
            notes: String::new(),
            groups: vec![],
            target_devices: vec![],
            created_by: "ana".into(),
            created_at: at(0),
        };
        store.create_task(&task, "ana").await.unwrap();
        let webhook = NewWebhook {
            url: "https://example.org/hook".into(),
            secret: "s".into(),
            events: vec![],
        };
        let hook = store.create_webhook(&webhook, "ana", at(0)).await.unwrap();
        store
            .enqueue_event(EventKind::ExceptionCreated, "{}", None, at(0))
            .await
            .unwrap();
        let value = serde_json::json!(1);
        store.set_setting("k", &value, "ana", at(0)).await.unwrap();

        let spoil = |sql: &'static str| {
            let pool = store.writer.clone();
            async move { sqlx::query(sql).execute(&pool).await.unwrap() }
        };
        // The schema's CHECKs would refuse most of these values; a corrupted file has them anyway.
        spoil("PRAGMA ignore_check_constraints = ON").await;
        spoil("UPDATE users SET role = 'root'").await;
        expect_corrupt(store.users().await, "users");
        spoil("UPDATE exceptions SET kind = 'device'").await;
        expect_corrupt(store.exceptions().await, "exceptions");
        spoil("UPDATE exceptions SET kind = 'cve', review = '{'").await;
        expect_corrupt(store.exception(e.id).await, "exceptions");
        expect_corrupt(
            store.cancel_exception(e.id, None, "ana", at(1)).await,
            "exceptions",
        );
        spoil("UPDATE remediation_tasks SET fields = '[]'").await;
        expect_corrupt(store.tasks().await, "remediation_tasks");
        spoil("UPDATE webhooks SET events = '[\"exception.deleted\"]'").await;
        expect_corrupt(store.webhooks().await, "webhooks");
        spoil("UPDATE webhook_deliveries SET attempts = -1").await;
        expect_corrupt(store.deliveries(hook.id).await, "webhook_deliveries");
        spoil("UPDATE settings SET value = 'not json'").await;
        expect_corrupt(store.setting("k").await, "settings");
        spoil("UPDATE audit_log SET at = 'noon'").await;
        expect_corrupt(store.audit(&AuditFilter::default()).await, "audit_log");
        spoil("UPDATE audit_log SET at = 0").await;
        spoil("UPDATE audit_log SET seq = 'last' WHERE seq = (SELECT MAX(seq) FROM audit_log)")
            .await;
        expect_corrupt(
            store.set_setting("k", &value, "ana", at(1)).await,
            "audit_log",
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
