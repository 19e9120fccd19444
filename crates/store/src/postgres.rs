//! The PostgreSQL implementation of [`Store`]: a connection pool over one database, migrated on open.
//!
//! It returns exactly what the SQLite implementation returns for every call (the contract suite runs
//! unchanged on both): the same schema with the same names and units (times are BIGINT microseconds,
//! see `migrations/postgres/`), the same orders, the same diff semantics and the same error variants.
//! What makes that hold is shared, not copied: rows are decoded and values encoded by `codec`, and
//! what a write changes (the newest record per advisory id, the software and weakness diffs) is
//! decided by `batch`. This module holds only what is PostgreSQL's: the SQL, binding it (`bind`),
//! connections, transactions and locks.
//!
//! Migrations are embedded and applied by [`PostgresStore::open`]; sqlx takes a session advisory lock
//! around them, so several replicas starting at once migrate the database once.
//!
//! Bulk writes: every list of rows (an advisory batch, a software set, a device's weaknesses) is sent
//! in a fixed number of statements whatever the number of rows. A few rows go as one array per column,
//! expanded with `UNNEST` by the server (`WITH ORDINALITY … ORDER BY` keeps the order given); from
//! `COPY_MIN_ROWS` on, new rows go by `COPY … FROM STDIN` straight into their table (advisories, NVD
//! records, KEV entries, software, inventory history, weaknesses), in the encoding of `copy.rs`; and
//! an EPSS set of `STAGE_MIN_ROWS` or more is copied into a temporary table and upserted from it in
//! one statement. Either way rows get their ids in the order given, so that history and open-weakness
//! order follow it as in SQLite. Large reads are decoded row by row as they arrive.
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
//! * Writes that change what engines hold in memory (advisory, NVD, KEV and EPSS imports) bump their
//!   kind's row of `state_changes` as their last statement, so the row lock it takes is the last lock
//!   of the transaction and concurrent imports queue on it without deadlocking; a replica that reads
//!   the sequence and then the data sees data at least as new as the sequence.
//! * Every audited write appends its entry under a transaction-level advisory lock on the audit chain
//!   ([`AUDIT_CHAIN_LOCK`]), taken just before the chain's head is read and held to the commit, so
//!   entries from all replicas form one chain. It is the last lock such a transaction takes.
//! * Exception creations take a two-key advisory lock on their kind and target
//!   ([`EXCEPTION_TARGET_LOCK`]) before reading the stored exceptions they are checked against, so two
//!   creations on one target apply one after the other and the second sees the first. Changes of one
//!   exception, activity, token or webhook lock its row (`FOR UPDATE`) before checking it; settings
//!   updates take the chain's lock first, since a missing key has no row to lock.
//!
//! Orders this implementation guarantees beyond the trait are those of the SQLite backend: advisories
//! by id and devices by name (code point order, via the "C" collation); software by ecosystem, name and
//! version; inventory history newest first and, within one ingest, appeared (in the order given)
//! before disappeared; open weaknesses by device, then in the order they were opened; a device's
//! weaknesses by first detection.
//!
//! One difference is PostgreSQL's, not this code's: PostgreSQL text cannot hold the NUL character, so a
//! string containing one is refused with a database error where SQLite would store it.

mod bind;
pub(crate) mod copy;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use serde::Serialize;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, Transaction};

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
use crate::batch::{self, AdvisoryWrite, Incoming, IncomingNvd};
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
use bind::{PackageColumns, Query, SoftwareKeyColumns, UNNEST_PACKAGE};
use copy::{CopyRows, copy_in};

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

    /// Runs a read on a pooled connection and decodes every row it returns, one by one as they arrive.
    async fn read_all<T>(
        &self,
        query: Query<'_>,
        decode: fn(&PgRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        // Decoded as they arrive, so the rows of a large table are never all held beside the result.
        let mut rows = query.fetch(&self.pool);
        let mut all = Vec::new();
        while let Some(row) = rows.try_next().await? {
            all.push(decode(&row)?);
        }
        Ok(all)
    }

    /// Runs a read on a pooled connection and decodes the row it returns, if any.
    async fn read_optional<T>(
        &self,
        query: Query<'_>,
        decode: fn(&PgRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(decode).transpose()
    }

    /// Closes every connection, waiting for them to finish (a dropped store closes them in the background).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Bumps the fleet's change counter and logs the change (`device`: the one it touched; `None` for
/// exceptions and device groups). The last statements of the write's transaction: the counter row's
/// lock, held to the commit, hands values out in commit order (see `changes`).
async fn bump_fleet(
    tx: &mut Transaction<'static, Postgres>,
    device: Option<DeviceId>,
) -> StoreResult<()> {
    let seq: i64 = sqlx::query_scalar(changes::BUMP_FLEET)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO fleet_changes (seq, device_id) VALUES ($1, $2)")
        .bind(seq)
        .bind(device.map(|d| d.0))
        .execute(&mut **tx)
        .await?;
    if let Some(below) = changes::fleet_prune_below(seq) {
        sqlx::query("DELETE FROM fleet_changes WHERE seq < $1")
            .bind(below)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
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

/// The fewest rows a bulk insert sends with `COPY` straight into its table rather than as arrays
/// for `UNNEST`: COPY costs one round trip more, which a few rows do not make up for. Measured on
/// PostgreSQL 16 (release build, local server): 100 packages of an ingest take 5 ms by COPY and
/// 15 ms by `UNNEST`, 1,000 advisories 10 ms and 22 ms; a single row takes about as long either way.
const COPY_MIN_ROWS: usize = 100;

/// The fewest rows an upsert or update sends through a staging table (COPY into a temporary table,
/// then one statement from it) rather than as arrays for `UNNEST`. Creating, filling and dropping
/// the table cost three round trips and catalog writes: 1,000 EPSS scores take 16 ms so and 14 ms by
/// `UNNEST`, while the 360,000 of a full EPSS file take 2.5 s against 2.8 s.
const STAGE_MIN_ROWS: usize = 10_000;

/// A temporary table that rows are copied into before one statement applies them to their table.
struct Staging {
    /// The table's name.
    name: &'static str,
    /// Its column definitions.
    columns: &'static str,
}

/// Copies `rows` into a new `staging` table, for one statement to apply them (not prepared: the
/// table is a new one every time) before [`unstage`] drops it.
async fn stage(
    tx: &mut Transaction<'static, Postgres>,
    staging: &Staging,
    rows: CopyRows,
) -> StoreResult<()> {
    let name = staging.name;
    let create = format!(
        "CREATE TEMP TABLE {name} ({}) ON COMMIT DROP",
        staging.columns
    );
    sqlx::query(&create)
        .persistent(false)
        .execute(&mut **tx)
        .await?;
    copy_in(tx, &format!("COPY {name} FROM STDIN"), rows).await?;
    Ok(())
}

/// Drops a table [`stage`] created, so that the same transaction can stage again (the commit would
/// drop it too).
async fn unstage(tx: &mut Transaction<'static, Postgres>, staging: &Staging) -> StoreResult<()> {
    let drop = format!("DROP TABLE {}", staging.name);
    sqlx::query(&drop)
        .persistent(false)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Which of the two writes of an id-keyed batch a list of rows is for.
#[derive(Debug, Clone, Copy)]
enum Write {
    /// New ids.
    Insert,
    /// Stored ids whose record is replaced.
    Update,
}

/// Advisory rows as one array per column, for `UNNEST($1, $2, $3, $4)`.
#[derive(Default)]
struct AdvisoryColumns<'a> {
    /// `id`.
    id: Vec<&'a str>,
    /// `modified`, in stored microseconds.
    modified: Vec<i64>,
    /// `withdrawn`, in stored microseconds.
    withdrawn: Vec<Option<i64>>,
    /// `record`, the advisory as JSON text.
    record: Vec<String>,
}

impl<'a> AdvisoryColumns<'a> {
    /// Adds one record, failing only when it cannot be encoded.
    fn push(&mut self, incoming: &Incoming<'a>) -> StoreResult<()> {
        let advisory = incoming.advisory;
        let record = codec::advisory_json(advisory)?;
        self.id.push(&advisory.id);
        self.modified.push(incoming.modified);
        self.withdrawn.push(incoming.withdrawn);
        self.record.push(record);
        Ok(())
    }

    /// The number of rows held.
    fn len(&self) -> usize {
        self.id.len()
    }

    /// Writes the rows held and clears them.
    async fn flush(
        &mut self,
        tx: &mut Transaction<'static, Postgres>,
        write: Write,
    ) -> StoreResult<()> {
        if self.len() == 0 {
            return Ok(());
        }
        let columns = std::mem::take(self);
        // Updates stay on `UNNEST`: a chunk is too small for a staging table to pay (`STAGE_MIN_ROWS`).
        if matches!(write, Write::Update) || columns.len() < COPY_MIN_ROWS {
            let sql = match write {
                Write::Insert => INSERT_ADVISORIES,
                Write::Update => UPDATE_ADVISORIES,
            };
            sqlx::query(sql)
                .bind(columns.id)
                .bind(columns.modified)
                .bind(columns.withdrawn)
                .bind(columns.record)
                .execute(&mut **tx)
                .await?;
            return Ok(());
        }
        let mut rows = CopyRows::default();
        for (i, id) in columns.id.iter().enumerate() {
            rows.text(id)
                .integer(columns.modified[i])
                .integer_or_null(columns.withdrawn[i])
                .text(&columns.record[i])
                .end_row();
        }
        copy_in(tx, COPY_ADVISORIES, rows).await?;
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

const COPY_ADVISORIES: &str = "COPY advisories (id, modified, withdrawn, record) FROM STDIN";

/// The key of the advisory lock that serialises NVD batches across replicas ("bulwnvd1").
pub const NVD_IMPORT_LOCK: i64 = 0x6275_6c77_6e76_6431;

/// The key of the advisory lock that serialises EPSS imports across replicas ("bulwepss").
pub const EPSS_IMPORT_LOCK: i64 = 0x6275_6c77_6570_7373;

/// The start of the EPSS upsert, before its `FROM` (the staged or unnested rows, as `t`).
const INSERT_EPSS: &str = "INSERT INTO epss_scores AS s (cve_id, epss, percentile, score_date) \
     SELECT t.cve_id, t.epss, t.percentile, $1::int8";

/// The end of the EPSS upsert: a stored score is replaced only by one of a date not older (an
/// undated score on either side always replaces).
const UPSERT_EPSS: &str = "ON CONFLICT (cve_id) DO UPDATE SET epss = EXCLUDED.epss, \
     percentile = EXCLUDED.percentile, score_date = EXCLUDED.score_date \
     WHERE s.score_date IS NULL OR EXCLUDED.score_date IS NULL \
       OR EXCLUDED.score_date >= s.score_date";

const STAGED_EPSS: Staging = Staging {
    name: "staged_epss",
    columns: "cve_id text, epss float8, percentile float8",
};

/// NVD rows as one array per column, for `UNNEST($1, $2, $3)`.
#[derive(Default)]
struct NvdColumns<'a> {
    id: Vec<&'a str>,
    last_modified: Vec<i64>,
    record: Vec<&'a str>,
}

impl<'a> NvdColumns<'a> {
    fn push(&mut self, incoming: &'a IncomingNvd<'a>) {
        self.id.push(&incoming.record.id);
        self.last_modified.push(incoming.last_modified);
        self.record.push(&incoming.json);
    }

    /// Writes the rows held and clears them.
    async fn flush(
        &mut self,
        tx: &mut Transaction<'static, Postgres>,
        write: Write,
    ) -> StoreResult<()> {
        if self.id.is_empty() {
            return Ok(());
        }
        let columns = std::mem::take(self);
        // Updates stay on `UNNEST`: a chunk is too small for a staging table to pay (`STAGE_MIN_ROWS`).
        if matches!(write, Write::Update) || columns.id.len() < COPY_MIN_ROWS {
            let sql = match write {
                Write::Insert => INSERT_NVD,
                Write::Update => UPDATE_NVD,
            };
            sqlx::query(sql)
                .bind(columns.id)
                .bind(columns.last_modified)
                .bind(columns.record)
                .execute(&mut **tx)
                .await?;
            return Ok(());
        }
        let mut rows = CopyRows::default();
        for (i, id) in columns.id.iter().enumerate() {
            rows.text(id)
                .integer(columns.last_modified[i])
                .text(columns.record[i])
                .end_row();
        }
        copy_in(tx, COPY_NVD, rows).await?;
        Ok(())
    }
}

const INSERT_NVD: &str = "INSERT INTO nvd_records (cve_id, last_modified, record) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[])";

const UPDATE_NVD: &str = "UPDATE nvd_records AS r SET last_modified = t.last_modified, record = t.record \
     FROM UNNEST($1::text[], $2::int8[], $3::text[]) AS t(cve_id, last_modified, record) \
     WHERE r.cve_id = t.cve_id";

const COPY_NVD: &str = "COPY nvd_records (cve_id, last_modified, record) FROM STDIN";

/// The key of the transaction-level advisory lock that serialises appends to the audit trail across
/// replicas ("bulwaud1").
pub const AUDIT_CHAIN_LOCK: i64 = 0x6275_6c77_6175_6431;

/// The first key of the two-key advisory locks that serialise exception creations per target ("bwex");
/// the second is `hashtext` of the kind and target. Two-key locks never collide with one-key locks.
pub const EXCEPTION_TARGET_LOCK: i32 = 0x6277_6578;

/// Takes the audit chain's lock for the rest of the transaction.
async fn lock_audit_chain(tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_CHAIN_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Appends an entry to the audit trail inside the transaction. The chain's advisory lock, taken first
/// and held to the commit, queues every other appending transaction of any replica; each statement at
/// READ COMMITTED reads what was committed before it, so the head read after the lock is the real head
/// and the chain never forks. It is the last lock any audited write takes, so it cannot deadlock.
async fn append(
    tx: &mut Transaction<'static, Postgres>,
    draft: AuditDraft,
    before: Option<String>,
    after: Option<String>,
    at: DateTime<Utc>,
) -> StoreResult<AuditEntry> {
    lock_audit_chain(tx).await?;
    let head = sqlx::query(AUDIT_HEAD).fetch_optional(&mut **tx).await?;
    let head = head.as_ref().map(audited::audit_head).transpose()?;
    let entry = audited::next_entry(head.as_ref(), draft, before, after, at);
    sqlx::query(&format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
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
    tx: &mut Transaction<'static, Postgres>,
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
    tx: &mut Transaction<'static, Postgres>,
    sql: &str,
    id: i64,
    decode: fn(&PgRow) -> StoreResult<T>,
    missing: fn(i64) -> StoreError,
) -> StoreResult<T> {
    let row = sqlx::query(sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref()
        .map(decode)
        .transpose()?
        .ok_or_else(|| missing(id))
}

/// One exception with its groups, read and its row locked inside the transaction (so that changes of
/// one exception apply one after the other); `NotFound` when it does not exist.
async fn load_exception(
    tx: &mut Transaction<'static, Postgres>,
    id: i64,
) -> StoreResult<Exception> {
    let sql = format!("{EXCEPTION_SELECT} WHERE e.id = $1 {EXCEPTION_ORDER} FOR UPDATE OF e");
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut **tx).await?;
    audited::exceptions(&rows)?
        .pop()
        .ok_or_else(|| audited::exception_not_found(id))
}

#[async_trait]
impl Store for PostgresStore {
    async fn upsert_advisories(&self, advisories: &[Advisory]) -> StoreResult<AdvisoryUpsertStats> {
        let batch = batch::newest_per_id(advisories)?;
        let mut stats = batch::batch_stats(advisories.len(), batch.len());
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
            let stored_modified = stored.get(incoming.advisory.id.as_str()).copied();
            match batch::decide(&mut stats, incoming, stored_modified) {
                Some(AdvisoryWrite::Insert) => inserts.push(incoming)?,
                Some(AdvisoryWrite::Update) => updates.push(incoming)?,
                None => continue,
            }
            if inserts.len() >= ADVISORY_CHUNK {
                inserts.flush(&mut tx, Write::Insert).await?;
            }
            if updates.len() >= ADVISORY_CHUNK {
                updates.flush(&mut tx, Write::Update).await?;
            }
        }
        inserts.flush(&mut tx, Write::Insert).await?;
        updates.flush(&mut tx, Write::Update).await?;
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
        let query = sqlx::query("SELECT record FROM advisories WHERE id = $1").bind(id);
        self.read_optional(query, codec::advisory).await
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
        let update = DeviceUpdate::new(info);
        let mut tx = self.pool.begin().await?;
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
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1");
        self.read_optional(sqlx::query(&sql).bind(id.0), codec::device)
            .await
    }

    async fn device_by_name(&self, name: &str) -> StoreResult<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE name = $1");
        self.read_optional(sqlx::query(&sql).bind(name), codec::device)
            .await
    }

    async fn replace_inventory(
        &self,
        device: DeviceId,
        packages: &[InstalledPackage],
        at: DateTime<Utc>,
    ) -> StoreResult<InventoryDiff> {
        let mut tx = self.pool.begin().await?;
        lock_device(&mut tx, device).await?;
        let rows = sqlx::query(&format!(
            "SELECT id, {PACKAGE_COLUMNS} FROM device_software WHERE device_id = $1"
        ))
        .bind(device.0)
        .fetch_all(&mut *tx)
        .await?;
        let stored = rows
            .iter()
            .map(codec::stored_package)
            .collect::<StoreResult<Vec<_>>>()?;
        let plan = batch::plan_inventory(stored, packages);
        if !plan.delete.is_empty() {
            sqlx::query("DELETE FROM device_software WHERE id = ANY($1::int8[])")
                .bind(&plan.delete)
                .execute(&mut *tx)
                .await?;
        }
        if plan.diff.appeared.len() >= COPY_MIN_ROWS {
            let mut rows = CopyRows::default();
            for package in &plan.diff.appeared {
                rows.integer(device.0);
                bind::copy_package(&mut rows, package);
                rows.end_row();
            }
            let copy = format!("COPY device_software (device_id, {PACKAGE_COLUMNS}) FROM STDIN");
            copy_in(&mut tx, &copy, rows).await?;
        } else if !plan.diff.appeared.is_empty() {
            let insert_software = format!(
                "INSERT INTO device_software (device_id, {PACKAGE_COLUMNS}) \
                 SELECT $1, {PACKAGE_COLUMNS} \
                 FROM UNNEST({UNNEST_PACKAGE}) WITH ORDINALITY AS t({PACKAGE_COLUMNS}, n) ORDER BY n"
            );
            let query = sqlx::query(&insert_software).bind(device.0);
            PackageColumns::new(&plan.diff.appeared)
                .bind(query)
                .execute(&mut *tx)
                .await?;
        }
        let (changes, changed): (Vec<&str>, Vec<&InstalledPackage>) = plan.changes().unzip();
        if changes.len() >= COPY_MIN_ROWS {
            let mut rows = CopyRows::default();
            for (change, package) in changes.iter().zip(&changed) {
                rows.integer(device.0).integer(micros(at)).text(change);
                bind::copy_package(&mut rows, package);
                rows.end_row();
            }
            let copy = format!(
                "COPY inventory_changes (device_id, at, change, {PACKAGE_COLUMNS}) FROM STDIN"
            );
            copy_in(&mut tx, &copy, rows).await?;
        } else if !changes.is_empty() {
            let insert_change = format!(
                "INSERT INTO inventory_changes (device_id, at, change, {PACKAGE_COLUMNS}) \
                 SELECT $1, $10, change, {PACKAGE_COLUMNS} \
                 FROM UNNEST({UNNEST_PACKAGE}, $11::text[]) WITH ORDINALITY \
                   AS t({PACKAGE_COLUMNS}, change, n) ORDER BY n"
            );
            let query = sqlx::query(&insert_change).bind(device.0);
            PackageColumns::new(changed)
                .bind(query)
                .bind(micros(at))
                .bind(changes)
                .execute(&mut *tx)
                .await?;
        }
        if plan.changes_rows() {
            bump_fleet(&mut tx, Some(device)).await?;
        }
        tx.commit().await?;
        Ok(plan.diff)
    }

    async fn device_software(&self, device: DeviceId) -> StoreResult<Vec<InstalledPackage>> {
        let sql = format!("SELECT {PACKAGE_COLUMNS} FROM device_software WHERE device_id = $1");
        let query = sqlx::query(&sql).bind(device.0);
        let mut packages = self.read_all(query, codec::software).await?;
        packages.sort_by(codec::package_cmp);
        Ok(packages)
    }

    async fn inventory_history(&self, device: DeviceId) -> StoreResult<Vec<InventoryChange>> {
        let sql = format!(
            "SELECT at, change, {PACKAGE_COLUMNS} FROM inventory_changes \
             WHERE device_id = $1 ORDER BY at DESC, id ASC"
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
        let mut tx = self.pool.begin().await?;
        lock_device(&mut tx, device).await?;
        let rows = sqlx::query(
            "SELECT id, ecosystem, release, name, version, vulnerability_id, advisory_ids FROM weaknesses \
             WHERE device_id = $1 AND resolved IS NULL ORDER BY id",
        )
        .bind(device.0)
        .fetch_all(&mut *tx)
        .await?;
        let open = rows
            .iter()
            .map(codec::open_weakness)
            .collect::<StoreResult<Vec<_>>>()?;
        let plan = batch::plan_weaknesses(&open, detected);
        if !plan.relist.is_empty() {
            let (ids, lists): (Vec<i64>, Vec<&str>) = plan
                .relist
                .iter()
                .map(|(id, list)| (*id, list.as_str()))
                .unzip();
            sqlx::query(
                "UPDATE weaknesses AS w SET advisory_ids = t.advisory_ids \
                 FROM UNNEST($1::int8[], $2::text[]) AS t(id, advisory_ids) WHERE w.id = t.id",
            )
            .bind(ids)
            .bind(lists)
            .execute(&mut *tx)
            .await?;
        }
        if !plan.resolve.is_empty() {
            sqlx::query("UPDATE weaknesses SET resolved = $2 WHERE id = ANY($1::int8[])")
                .bind(&plan.resolve)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        if plan.open.len() >= COPY_MIN_ROWS {
            let mut rows = CopyRows::default();
            for new in &plan.open {
                rows.integer(device.0);
                bind::copy_key(&mut rows, new.software);
                rows.text(new.vulnerability_id)
                    .text(&new.advisory_ids)
                    .integer(at)
                    .end_row();
            }
            let copy = "COPY weaknesses (device_id, ecosystem, release, name, version, \
                        vulnerability_id, advisory_ids, first_detected) FROM STDIN";
            copy_in(&mut tx, copy, rows).await?;
        } else if !plan.open.is_empty() {
            let mut keys = SoftwareKeyColumns::default();
            let mut vulnerability_ids: Vec<&str> = Vec::with_capacity(plan.open.len());
            let mut advisory_ids: Vec<&str> = Vec::with_capacity(plan.open.len());
            for new in &plan.open {
                keys.push(new.software);
                vulnerability_ids.push(new.vulnerability_id);
                advisory_ids.push(&new.advisory_ids);
            }
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
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE device_id = $1 AND resolved IS NULL ORDER BY id"
        );
        self.read_all(sqlx::query(&sql).bind(device.0), codec::weakness)
            .await
    }

    async fn device_weaknesses(&self, device: DeviceId) -> StoreResult<Vec<Weakness>> {
        let sql = format!(
            "SELECT {WEAKNESS_COLUMNS} FROM weaknesses WHERE device_id = $1 ORDER BY first_detected, id"
        );
        let query = sqlx::query(&sql).bind(device.0);
        self.read_all(query, codec::weakness).await
    }

    async fn upsert_nvd(&self, records: &[NvdRecord]) -> StoreResult<AdvisoryUpsertStats> {
        let batch = batch::newest_nvd(records)?;
        let mut stats = batch::batch_stats(records.len(), batch.len());
        if batch.is_empty() {
            return Ok(stats);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(NVD_IMPORT_LOCK)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<&str> = batch.iter().map(|i| i.record.id.as_str()).collect();
        let stored: HashMap<String, i64> = sqlx::query_as(
            "SELECT cve_id, last_modified FROM nvd_records WHERE cve_id = ANY($1::text[])",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let (mut inserts, mut updates) = (NvdColumns::default(), NvdColumns::default());
        for incoming in &batch {
            let id = incoming.record.id.as_str();
            let stored_modified = stored.get(id).copied();
            match batch::decide_record(&mut stats, id, incoming.last_modified, stored_modified) {
                Some(AdvisoryWrite::Insert) => inserts.push(incoming),
                Some(AdvisoryWrite::Update) => updates.push(incoming),
                None => continue,
            }
            if inserts.id.len() >= ADVISORY_CHUNK {
                inserts.flush(&mut tx, Write::Insert).await?;
            }
            if updates.id.len() >= ADVISORY_CHUNK {
                updates.flush(&mut tx, Write::Update).await?;
            }
        }
        inserts.flush(&mut tx, Write::Insert).await?;
        updates.flush(&mut tx, Write::Update).await?;
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
        let mut tx = self.pool.begin().await?;
        // Serialises concurrent replacements from several replicas.
        sqlx::query("LOCK TABLE kev_entries IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let stored: HashSet<String> = sqlx::query_scalar("SELECT cve_id FROM kev_entries")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let diff = batch::kev_diff(&stored, catalog);
        sqlx::query("DELETE FROM kev_entries")
            .execute(&mut *tx)
            .await?;
        if rows.len() >= COPY_MIN_ROWS {
            let mut copy = CopyRows::default();
            for (cve, date, entry) in &rows {
                copy.text(cve).integer(*date).text(entry).end_row();
            }
            let statement = "COPY kev_entries (cve_id, date_added, entry) FROM STDIN";
            copy_in(&mut tx, statement, copy).await?;
        } else {
            let (mut ids, mut dates, mut entries) = (Vec::new(), Vec::new(), Vec::new());
            for (cve, date, entry) in rows {
                ids.push(cve);
                dates.push(date);
                entries.push(entry);
            }
            sqlx::query(
                "INSERT INTO kev_entries (cve_id, date_added, entry) \
                 SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[])",
            )
            .bind(ids)
            .bind(dates)
            .bind(entries)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO feed_state (feed, version, released, imported_at) VALUES ('kev', $1, $2, $3) \
             ON CONFLICT (feed) DO UPDATE SET version = $1, released = $2, imported_at = $3",
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
                .fetch_optional(&self.pool)
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
        // One score per CVE (the last given), as the row-by-row SQLite upsert ends with.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(set.scores.len());
        for (i, score) in set.scores.iter().enumerate() {
            last.insert(score.cve.as_str(), i);
        }
        let mut order: Vec<usize> = last.into_values().collect();
        order.sort_unstable();
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EPSS_IMPORT_LOCK)
            .execute(&mut *tx)
            .await?;
        let mut stats = EpssStats {
            written: 0,
            // Repeats of a CVE within the set are counted as written, as in SQLite.
            older: 0,
        };
        stats.written += (set.scores.len() - order.len()) as u64;
        if order.len() >= STAGE_MIN_ROWS {
            let mut rows = CopyRows::default();
            for &i in &order {
                let score = &set.scores[i];
                rows.text(&score.cve)
                    .real(score.epss)
                    .real(score.percentile)
                    .end_row();
            }
            let upsert = format!("{INSERT_EPSS} FROM staged_epss AS t {UPSERT_EPSS}");
            stage(&mut tx, &STAGED_EPSS, rows).await?;
            let written = sqlx::query(&upsert)
                .bind(date)
                .persistent(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            unstage(&mut tx, &STAGED_EPSS).await?;
            stats.written += written;
            stats.older += order.len() as u64 - written;
        } else if !order.is_empty() {
            let ids: Vec<&str> = order.iter().map(|&i| set.scores[i].cve.as_str()).collect();
            let epss: Vec<f64> = order.iter().map(|&i| set.scores[i].epss).collect();
            let percentile: Vec<f64> = order.iter().map(|&i| set.scores[i].percentile).collect();
            let upsert = format!(
                "{INSERT_EPSS} FROM UNNEST($2::text[], $3::float8[], $4::float8[]) \
                 AS t(cve_id, epss, percentile) {UPSERT_EPSS}"
            );
            let written = sqlx::query(&upsert)
                .bind(date)
                .bind(&ids)
                .bind(epss)
                .bind(percentile)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            stats.written += written;
            stats.older += ids.len() as u64 - written;
        }
        sqlx::query(
            "INSERT INTO feed_state (feed, version, released, imported_at) VALUES ('epss', $1, $2, $3) \
             ON CONFLICT (feed) DO UPDATE SET version = $1, released = $2, imported_at = $3",
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
                .fetch_optional(&self.pool)
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
            "UPDATE devices SET value = COALESCE($2, value), tags = COALESCE($3, tags), \
             device_group = CASE WHEN $4 THEN $5 ELSE device_group END \
             WHERE id = $1 RETURNING {DEVICE_COLUMNS}"
        );
        let mut tx = self.pool.begin().await?;
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
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING {GROUP_COLUMNS}"
        );
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT name FROM device_groups WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Err(StoreError::NotFound(format!("device group {id}")));
        };
        if let Some(name) = patch.name.as_deref().filter(|n| *n != old) {
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM device_groups WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a device group named {name:?} exists"
                )));
            }
            sqlx::query("UPDATE devices SET device_group = $2 WHERE device_group = $1")
                .bind(&old)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "UPDATE device_groups SET name = COALESCE($2, name), description = COALESCE($3, description), \
             rank = COALESCE($4, rank), rules = COALESCE($5, rules) WHERE id = $1 RETURNING {GROUP_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(patch.name.as_deref())
            .bind(patch.description.as_deref())
            .bind(patch.rank)
            .bind(rules)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    StoreError::Conflict(format!("a device group named {:?} exists", patch.name))
                }
                _ => StoreError::Database(e),
            })?;
        let group = codec::device_group(&row)?;
        bump_fleet(&mut tx, None).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn delete_device_group(&self, id: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let name: Option<String> =
            sqlx::query_scalar("DELETE FROM device_groups WHERE id = $1 RETURNING name")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(name) = name else {
            return Err(StoreError::NotFound(format!("device group {id}")));
        };
        sqlx::query("UPDATE devices SET device_group = NULL WHERE device_group = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        bump_fleet(&mut tx, None).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_scores(&self, snapshots: &[ScoreSnapshot]) -> StoreResult<()> {
        if snapshots.is_empty() {
            return Ok(());
        }
        let at: Vec<i64> = snapshots.iter().map(|s| micros(s.at)).collect();
        let scope: Vec<&str> = snapshots.iter().map(|s| s.scope.as_str()).collect();
        let name: Vec<&str> = snapshots.iter().map(|s| s.name.as_str()).collect();
        let exposure: Vec<f64> = snapshots.iter().map(|s| s.exposure).collect();
        let configuration: Vec<Option<f64>> = snapshots.iter().map(|s| s.configuration).collect();
        sqlx::query(
            "INSERT INTO score_snapshots (at, scope, scope_name, exposure, configuration) \
             SELECT at, scope, scope_name, exposure, configuration \
             FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::float8[], $5::float8[]) \
             WITH ORDINALITY AS t(at, scope, scope_name, exposure, configuration, n) ORDER BY n",
        )
        .bind(at)
        .bind(scope)
        .bind(name)
        .bind(exposure)
        .bind(configuration)
        .execute(&self.pool)
        .await?;
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
             WHERE scope = $1 AND scope_name = $2 AND at >= $3 AND at <= $4 ORDER BY at, id"
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
                .fetch_one(&self.pool)
                .await?;
        Ok(at.and_then(DateTime::from_timestamp_micros))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn change_sequence(&self) -> StoreResult<ChangeSequence> {
        let rows: Vec<(String, i64)> = sqlx::query_as(changes::SELECT)
            .fetch_all(&self.pool)
            .await?;
        Ok(changes::sequence(&rows))
    }

    async fn fleet_changes(&self, after: i64, upto: i64) -> StoreResult<FleetChanges> {
        if !changes::fleet_log_covers(after, upto) {
            return Ok(changes::fleet_changes(after, upto, &[]));
        }
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT seq, device_id FROM fleet_changes WHERE seq > $1 AND seq <= $2 ORDER BY seq",
        )
        .bind(after)
        .bind(upto)
        .fetch_all(&self.pool)
        .await?;
        Ok(changes::fleet_changes(after, upto, &rows))
    }

    fn pool_status(&self) -> Vec<PoolStatus> {
        // The two counters are read one after the other while connections come and go: an idle
        // count is never reported above the size it belongs to.
        let size = self.pool.size();
        vec![PoolStatus {
            pool: "main",
            size,
            idle: u32::try_from(self.pool.num_idle())
                .unwrap_or(u32::MAX)
                .min(size),
            max: self.pool.options().get_max_connections(),
        }]
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
        let mut tx = self.pool.begin().await?;
        lock_device(&mut tx, device).await?;
        sqlx::query("DELETE FROM config_results WHERE device_id = $1 AND source = $2")
            .bind(device.0)
            .bind(source)
            .execute(&mut *tx)
            .await?;
        if !rows.is_empty() {
            let ids: Vec<&str> = rows.iter().map(|r| r.check_id.as_str()).collect();
            let statuses: Vec<&str> = rows.iter().map(|r| r.status).collect();
            let results: Vec<&str> = rows.iter().map(|r| r.result.as_str()).collect();
            sqlx::query(
                "INSERT INTO config_results (device_id, source, check_id, status, result, assessed_at) \
                 SELECT $1, $2, check_id, status, result, $3 \
                 FROM UNNEST($4::text[], $5::text[], $6::text[]) WITH ORDINALITY \
                   AS t(check_id, status, result, n) ORDER BY n",
            )
            .bind(device.0)
            .bind(source)
            .bind(micros(at))
            .bind(ids)
            .bind(statuses)
            .bind(results)
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
            "SELECT {} FROM config_results WHERE device_id = $1 ORDER BY source, check_id",
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
        if rows.is_empty() {
            return Ok(());
        }
        let (ids, definitions): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
        sqlx::query(
            "INSERT INTO config_checks (check_id, definition) \
             SELECT * FROM UNNEST($1::text[], $2::text[]) \
             ON CONFLICT (check_id) DO UPDATE SET definition = EXCLUDED.definition",
        )
        .bind(ids)
        .bind(definitions)
        .execute(&self.pool)
        .await?;
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
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO users (email, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}"
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
        let mut tx = self.pool.begin().await?;
        let sql =
            format!("UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING {USER_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(password_hash)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| audited::user_not_found(user_id))?;
        let user = audited::user(&row)?;
        sqlx::query(
            "UPDATE console_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL",
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
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        self.read_optional(sqlx::query(&sql).bind(email), audited::user_with_hash)
            .await
    }

    async fn create_token(
        &self,
        token: &NewToken,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<ApiToken> {
        let mut tx = self.pool.begin().await?;
        let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(token.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Err(audited::user_not_found(token.user_id));
        }
        let sql = format!(
            "INSERT INTO api_tokens (user_id, prefix, digest, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
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
        let sql = format!("{TOKEN_USER_SELECT} WHERE t.digest = $1");
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
            "INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, $4) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= $3",
        )
        .bind(job)
        .bind(holder)
        .bind(micros(at))
        .bind(micros(until))
        .execute(&self.pool)
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
             SELECT $1, $2, $3, $4, $3 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) \
             RETURNING {SESSION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(digest)
            .bind(micros(at))
            .bind(micros(expires_at))
            .fetch_optional(&self.pool)
            .await
            .map_err(audited::digest_taken)?
            .ok_or_else(|| audited::user_not_found(user_id))?;
        audited::session(&row)
    }

    async fn session_by_digest(&self, digest: &str) -> StoreResult<Option<(ConsoleSession, User)>> {
        let sql = format!("{SESSION_USER_SELECT} WHERE s.digest = $1");
        self.read_optional(sqlx::query(&sql).bind(digest), audited::session_and_user)
            .await
    }

    async fn touch_session(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let touched = sqlx::query("UPDATE console_sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(id)
            .bind(micros(at))
            .execute(&self.pool)
            .await?
            .rows_affected();
        match touched {
            0 => Err(audited::session_not_found(id)),
            _ => Ok(()),
        }
    }

    async fn end_session(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let ended = sqlx::query(
            "UPDATE console_sessions SET ended_at = COALESCE(ended_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(micros(at))
        .execute(&self.pool)
        .await?
        .rows_affected();
        match ended {
            0 => Err(audited::session_not_found(id)),
            _ => Ok(()),
        }
    }

    async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let touched = sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(micros(at))
            .execute(&self.pool)
            .await?
            .rows_affected();
        match touched {
            0 => Err(audited::token_not_found(id)),
            _ => Ok(()),
        }
    }

    async fn tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id");
        self.read_all(sqlx::query(&sql).bind(user_id), audited::token)
            .await
    }

    async fn revoke_token(&self, id: i64, actor: &str, at: DateTime<Utc>) -> StoreResult<ApiToken> {
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 FOR UPDATE");
        let before = load(&mut tx, &sql, id, audited::token, audited::token_not_found).await?;
        audited::check_revocable(&before)?;
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 RETURNING {TOKEN_COLUMNS}"
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
        // The target's lock, held to the commit, queues every other creation on this target (from any
        // replica) until this one is committed, so the check below sees it.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(EXCEPTION_TARGET_LOCK)
            .bind(format!("{}:{}", exception.kind.as_str(), exception.target))
            .execute(&mut *tx)
            .await?;
        let sql =
            format!("{EXCEPTION_SELECT} WHERE e.kind = $1 AND e.target = $2 {EXCEPTION_ORDER}");
        let rows = sqlx::query(&sql)
            .bind(exception.kind.as_str())
            .bind(&exception.target)
            .fetch_all(&mut *tx)
            .await?;
        audited::check_no_conflict(&audited::exceptions(&rows)?, exception)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO exceptions (kind, target, justification, context, global, created_by, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
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
            sqlx::query("INSERT INTO exception_groups (exception_id, group_name) VALUES ($1, $2)")
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
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        audited::exceptions(&rows)
    }

    async fn exception(&self, id: i64) -> StoreResult<Option<Exception>> {
        let sql = format!("{EXCEPTION_SELECT} WHERE e.id = $1 {EXCEPTION_ORDER}");
        let rows = sqlx::query(&sql).bind(id).fetch_all(&self.pool).await?;
        Ok(audited::exceptions(&rows)?.pop())
    }

    async fn cancel_exception(
        &self,
        id: i64,
        groups: Option<&[String]>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Exception> {
        let mut tx = self.pool.begin().await?;
        let before = load_exception(&mut tx, id).await?;
        match audited::plan_cancel(&before, groups, at)? {
            Cancel::Whole => {
                sqlx::query(
                    "UPDATE exceptions SET canceled_by = $2, canceled_at = $3 WHERE id = $1",
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
                        "UPDATE exception_groups SET canceled_by = $3, canceled_at = $4 \
                         WHERE exception_id = $1 AND group_name = $2",
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
        let mut tx = self.pool.begin().await?;
        let before = load_exception(&mut tx, id).await?;
        let columns = TrackingColumns::new(&audited::track(&before, tracking))?;
        sqlx::query(
            "UPDATE exceptions SET review = $2, baseline = $3, last_covered_at = $4, \
             expiry_recorded_at = $5, canceled_by = $6, canceled_at = $7 WHERE id = $1",
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
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO remediation_tasks (recommendation_id, fields, status, status_last_modified_on) \
             VALUES ($1, $2, 'Active', $3) RETURNING {TASK_COLUMNS}"
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
        let sql = format!("SELECT {TASK_COLUMNS} FROM remediation_tasks WHERE id = $1");
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
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {TASK_COLUMNS} FROM remediation_tasks WHERE id = $1 FOR UPDATE");
        let before = load(&mut tx, &sql, id, audited::task, audited::task_not_found).await?;
        audited::check_completable(&before)?;
        let sql = format!(
            "UPDATE remediation_tasks SET status = 'Completed', status_last_modified_on = $2, \
             completion_method = $3, completer_email = $4 WHERE id = $1 RETURNING {TASK_COLUMNS}"
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
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM remediation_tasks \
             WHERE status = 'Completed' AND status_last_modified_on < $1 ORDER BY id FOR UPDATE"
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
            sqlx::query("DELETE FROM remediation_tasks WHERE id = $1")
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
        let mut tx = self.pool.begin().await?;
        let (before, after) = (before.map(str::to_string), after.map(str::to_string));
        let entry = append(&mut tx, draft.clone(), before, after, at).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let limit = audited::audit_limit(filter)?;
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE ($1::text IS NULL OR entity = $1) \
             AND ($2::text IS NULL OR entity_id = $2) AND ($3::text IS NULL OR actor = $3) \
             AND seq > COALESCE($4::int8, 0) ORDER BY seq LIMIT $5::int8"
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
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO webhooks (url, secret, events, created_at) VALUES ($1, $2, $3, $4) \
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
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 FOR UPDATE");
        let (before, _secret) = load(
            &mut tx,
            &sql,
            id,
            audited::webhook,
            audited::webhook_not_found,
        )
        .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhooks WHERE id = $1")
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
        let mut tx = self.pool.begin().await?;
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
                 next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5) \
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
             AND d.next_attempt_at <= $1 ORDER BY d.id LIMIT $2"
        );
        let query = sqlx::query(&sql).bind(micros(now)).bind(limit);
        self.read_all(query, audited::due_delivery).await
    }

    async fn deliveries(&self, webhook_id: i64) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id"
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
        let mut tx = self.pool.begin().await?;
        let query = match outcome {
            DeliveryOutcome::Delivered => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = $2, \
                 next_attempt_at = NULL WHERE id = $1 AND delivered_at IS NULL",
            )
            .bind(id)
            .bind(micros(at)),
            DeliveryOutcome::Failed { error, retry_at } => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2, \
                 next_attempt_at = $3 WHERE id = $1 AND delivered_at IS NULL",
            )
            .bind(id)
            .bind(error.as_str())
            .bind(retry_at.map(micros)),
        };
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            let delivered: Option<bool> = sqlx::query_scalar(
                "SELECT delivered_at IS NOT NULL FROM webhook_deliveries WHERE id = $1",
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
        let query = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key);
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
        let mut tx = self.pool.begin().await?;
        // A missing key has no row to lock: the chain's lock (taken again by `append`, which is
        // harmless within one transaction) serialises the updates, so `before` is the value replaced.
        lock_audit_chain(&mut tx).await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
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
    use crate::testing::{self, Backend, FreshDatabase};
    use bulwark_core::threat::EpssScore;
    use bulwark_core::{Ecosystem, EcosystemRelease, SoftwareKey};

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

    /// Batches large enough for COPY (straight into the table, or through a staging table) keep the
    /// rules of the small ones: EPSS scores are replaced only by scores not older, and counted so;
    /// advisories, NVD records and KEV entries read back as written.
    #[tokio::test]
    async fn batches_sent_by_copy_keep_the_write_rules() {
        let Some((store, _database)) = fresh().await else {
            return;
        };
        let n = STAGE_MIN_ROWS + 10;
        let scores = |range: std::ops::Range<usize>, epss: f64| -> Vec<EpssScore> {
            range
                .map(|i| EpssScore {
                    cve: format!("CVE-2024-{i:06}"),
                    epss,
                    percentile: 0.5,
                })
                .collect()
        };
        let set = |date: &str, scores: Vec<EpssScore>| EpssSet {
            model_version: Some("v2025.03.14".into()),
            score_date: Some(date.into()),
            scores,
        };
        let before = store.change_sequence().await.unwrap();
        let stats = store
            .upsert_epss(&set("2025-03-15T00:00:00Z", scores(0..n, 0.5)), at(1))
            .await
            .unwrap();
        assert_eq!((stats.written, stats.older), (n as u64, 0));
        // Half of it older than stored, half new; a text that COPY must escape round-trips.
        let mut older = scores(n / 2..n + n / 2, 0.25);
        older[0].cve = "CVE-\\t\tx".into();
        let stats = store
            .upsert_epss(&set("2025-03-01T00:00:00Z", older), at(2))
            .await
            .unwrap();
        assert_eq!(
            (stats.written, stats.older),
            (n as u64 / 2 + 1, n as u64 / 2 - 1)
        );
        let stored = store.epss().await.unwrap();
        assert_eq!(stored.scores.len(), n + n / 2 + 1);
        let epss: HashMap<&str, f64> = stored
            .scores
            .iter()
            .map(|s| (s.cve.as_str(), s.epss))
            .collect();
        assert_eq!(epss["CVE-2024-000000"], 0.5);
        assert_eq!(epss[format!("CVE-2024-{:06}", n - 1).as_str()], 0.5);
        assert_eq!(epss[format!("CVE-2024-{:06}", n).as_str()], 0.25);
        assert_eq!(epss["CVE-\\t\tx"], 0.25);
        assert_eq!(
            store.change_sequence().await.unwrap().threat,
            before.threat + 2
        );

        let advisories: Vec<Advisory> = (0..COPY_MIN_ROWS + 1)
            .map(|i| advisory(&format!("A-{i:04}"), "2024-01-01T00:00:00Z"))
            .collect();
        let stats = store.upsert_advisories(&advisories).await.unwrap();
        assert_eq!(stats.inserted, advisories.len() as u64);
        assert_eq!(store.advisories().await.unwrap(), advisories);
        assert_eq!(
            store.change_sequence().await.unwrap().advisories,
            before.advisories + 1
        );

        let records: Vec<NvdRecord> = (0..COPY_MIN_ROWS + 1)
            .map(|i| NvdRecord {
                id: format!("CVE-2024-{i:04}"),
                source_identifier: None,
                published: "2024-01-01T00:00:00Z".into(),
                last_modified: "2024-02-01T00:00:00Z".into(),
                vuln_status: Some("Analyzed".into()),
                descriptions: vec![],
                cvss: vec![],
                cwes: vec![],
                references: vec![],
                exploit_references: vec![],
                configurations: vec![],
                kev: None,
            })
            .collect();
        let stats = store.upsert_nvd(&records).await.unwrap();
        assert_eq!(stats.inserted, records.len() as u64);
        assert_eq!(store.nvd_records().await.unwrap(), records);

        let date = chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let catalog = KevCatalog {
            catalog_version: Some("2024.05.01".into()),
            date_released: Some("2024-05-01T00:00:00Z".into()),
            entries: (0..COPY_MIN_ROWS + 1)
                .map(|i| bulwark_core::threat::KevEntry {
                    cve_id: format!("CVE-2024-{i:04}"),
                    vendor_project: "Vendor".into(),
                    product: "Product\twith a tab".into(),
                    vulnerability_name: "name".into(),
                    date_added: date,
                    short_description: "line one\nline two".into(),
                    required_action: "Apply updates.".into(),
                    due_date: date,
                    known_ransomware_campaign_use: false,
                    notes: String::new(),
                    cwes: vec![],
                })
                .collect(),
        };
        let diff = store.replace_kev(&catalog, at(3)).await.unwrap();
        assert_eq!(diff.added.len(), catalog.entries.len());
        assert_eq!(store.kev().await.unwrap(), catalog);
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
