//! Whole databases moved between backends (`bulwark db copy`) and verified by per-table checksums
//! (`bulwark db checksums`): every table of the schema, rows and ids as stored, from a database of
//! either backend into an empty one of either backend.
//!
//! What makes a copy complete and exact:
//! * The tables are [`TABLES`], checked against the live schema of both databases before anything is
//!   written: a table of the schema that the list does not name (a new migration's) is an error, never
//!   silently left behind, and so is a PostgreSQL sequence that belongs to no column. The columns are
//!   read from the live schema, so a column a migration adds is copied without a change here; both
//!   databases must have the same columns of the same kinds.
//! * Rows keep their ids (the audit trail's hash chain names entities by id), and the id generators
//!   continue after the highest id either database ever handed out: a PostgreSQL identity restarts
//!   after it, a SQLite `AUTOINCREMENT` table's `sqlite_sequence` entry is raised to it, so an id of a
//!   deleted row (a purged activity, a removed webhook) is not handed out again after the move.
//! * The source is read in one snapshot (a read transaction; `REPEATABLE READ` on PostgreSQL), so a copy
//!   of a database in use is consistent across tables. The target is written in one transaction that
//!   first checks every table is empty (after locking them against other writers); nothing is committed
//!   unless every table's checksum read back from the target equals the source's, so a failed or
//!   differing copy leaves the target as empty as it was.
//! * Rows stream: the source is read with one streamed `SELECT` per table and written in batches
//!   bounded in rows and bytes (multi-row `INSERT`s on SQLite, `COPY … FROM STDIN` on PostgreSQL), so
//!   memory does not grow with the size of a table.
//!
//! The checksum of a table is SHA-256 over its column names and kinds followed by a canonical encoding
//! of every row in primary-key order (text keys in code point order on both backends). The encoding
//! is by the column's kind, not its backend's storage: a SQLite `BOOLEAN` stored as 0 or 1 and a
//! PostgreSQL `boolean` hash alike, integers as 8 bytes, floating-point numbers by their exact bits,
//! text by its length and UTF-8 bytes, NULL as its own tag. Equal checksums therefore mean equal
//! values in every column of every row, whatever the backends.

use std::collections::BTreeMap;

use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::codec::StoredRow;
use crate::{Opened, StoreError, StoreResult, open_backend, postgres, sqlite};

/// Every table of the schema, parents before the tables whose foreign keys name them, which is the
/// order rows are written in. A migration that adds a table adds it here (the copy refuses to run
/// on a schema with a table this list does not name).
pub const TABLES: &[&str] = &[
    // 0001
    "advisories",
    "devices",
    "device_software",
    "inventory_changes",
    "weaknesses",
    // 0002
    "nvd_records",
    "kev_entries",
    "epss_scores",
    "feed_state",
    "device_groups",
    "score_snapshots",
    // 0003
    "config_results",
    "config_checks",
    // 0004
    "users",
    "api_tokens",
    "exceptions",
    "exception_groups",
    "remediation_tasks",
    "audit_log",
    "webhooks",
    "webhook_deliveries",
    "settings",
    // 0005
    "job_leases",
    // 0006
    "state_changes",
    // 0007
    "console_sessions",
    // 0008
    "fleet_changes",
];

/// Rows read before a batch is written.
const BATCH_ROWS: usize = 2_000;

/// Bytes of text a batch holds at most before it is written (advisory and NVD records are large).
const BATCH_BYTES: usize = 8 << 20;

/// How a column's values are compared, hashed and written: the kinds the schema uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `INTEGER`, `BIGINT`.
    Integer,
    /// `DOUBLE PRECISION`.
    Real,
    /// `TEXT` (JSON included).
    Text,
    /// `BOOLEAN` (0 or 1 in SQLite).
    Boolean,
}

impl Kind {
    /// The kind of a column whose backend declares type `declared`, by the backend's `names` for the
    /// kinds; `Invalid` for a type the copy does not know (a migration used a new one).
    pub(crate) fn of(
        table: &str,
        column: &str,
        declared: &str,
        names: &[(&str, Kind)],
    ) -> StoreResult<Kind> {
        names
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(declared))
            .map(|(_, kind)| *kind)
            .ok_or_else(|| StoreError::Invalid {
                what: format!("column {table}.{column}"),
                reason: format!("its type {declared} is not one the copy knows"),
            })
    }

    /// The name the checksum's header and error messages use.
    fn name(self) -> &'static str {
        match self {
            Kind::Integer => "integer",
            Kind::Real => "real",
            Kind::Text => "text",
            Kind::Boolean => "boolean",
        }
    }
}

/// One column of a live table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// Its name.
    pub(crate) name: String,
    /// Its kind.
    pub(crate) kind: Kind,
}

/// A table as the live schema declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The columns, in declaration order.
    pub(crate) columns: Vec<Column>,
    /// The primary key's columns, in key order.
    pub(crate) key: Vec<String>,
    /// The column whose values the database generates (a PostgreSQL identity, SQLite's integer
    /// primary key), if any.
    pub(crate) generated: Option<String>,
}

/// What a backend's schema holds.
#[derive(Debug, Default)]
pub(crate) struct Schema {
    /// The tables by name (sqlx's migration table left out: each database keeps its own).
    pub(crate) tables: BTreeMap<String, Shape>,
    /// Objects holding data that are not part of any table (free-standing sequences), which the
    /// copy does not know how to move.
    pub(crate) other: Vec<String>,
}

/// A table of [`TABLES`] with its live shape.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Its name.
    pub(crate) name: &'static str,
    /// Its columns and key.
    pub(crate) shape: Shape,
}

impl Table {
    /// `SELECT` of every column in primary-key order; `text_order` follows each text key column (a
    /// collation that orders by code point, or nothing where that is the default).
    fn select(&self, text_order: &str) -> String {
        let order: Vec<String> = self
            .shape
            .key
            .iter()
            .map(|k| {
                let text = self
                    .shape
                    .columns
                    .iter()
                    .any(|c| &c.name == k && c.kind == Kind::Text);
                format!("{}{}", quoted(k), if text { text_order } else { "" })
            })
            .collect();
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            self.column_list(),
            quoted(self.name),
            order.join(", ")
        )
    }

    /// The quoted column names, comma-separated, in the table's column order.
    pub(crate) fn column_list(&self) -> String {
        let names: Vec<String> = self.shape.columns.iter().map(|c| quoted(&c.name)).collect();
        names.join(", ")
    }
}

/// An identifier quoted for SQL (both backends quote with double quotes).
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One column value, as the copy reads and writes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Boolean(bool),
}

/// One row, in its table's column order.
pub(crate) type Row = Vec<Value>;

/// A row of `table` read from either backend.
fn decode(row: &impl StoredRow, table: &Table) -> StoreResult<Row> {
    let name = table.name;
    table
        .shape
        .columns
        .iter()
        .map(|c| {
            let column = c.name.as_str();
            Ok(match c.kind {
                Kind::Integer => row
                    .optional_integer(name, column)?
                    .map_or(Value::Null, Value::Integer),
                Kind::Real => row
                    .optional_real(name, column)?
                    .map_or(Value::Null, Value::Real),
                Kind::Text => row
                    .optional_text(name, column)?
                    .map_or(Value::Null, Value::Text),
                Kind::Boolean => row
                    .optional_boolean(name, column)?
                    .map_or(Value::Null, Value::Boolean),
            })
        })
        .collect()
}

/// The rows and checksum of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    /// How many rows it holds.
    pub rows: u64,
    /// SHA-256 of its columns and rows (see the module documentation), lower-case hex.
    pub checksum: String,
}

/// Hashes a table's rows into its [`Digest`], in the order given.
struct Hasher {
    sha: Sha256,
    rows: u64,
}

impl Hasher {
    /// A hasher over `table`'s rows; the column names and kinds come first, so that two tables with
    /// the same values under different columns differ.
    fn new(table: &Table) -> Hasher {
        let mut sha = Sha256::new();
        for c in &table.shape.columns {
            text(&mut sha, &c.name);
            sha.update(c.kind.name().as_bytes());
        }
        Hasher { sha, rows: 0 }
    }

    /// Adds one row: a tag byte per value, then its canonical bytes.
    fn add(&mut self, row: &Row) {
        self.rows += 1;
        self.sha.update(b"R");
        for value in row {
            match value {
                Value::Null => self.sha.update([0]),
                Value::Integer(i) => {
                    self.sha.update([1]);
                    self.sha.update(i.to_be_bytes());
                }
                Value::Real(f) => {
                    self.sha.update([2]);
                    self.sha.update(f.to_bits().to_be_bytes());
                }
                Value::Text(s) => {
                    self.sha.update([3]);
                    text(&mut self.sha, s);
                }
                Value::Boolean(b) => self.sha.update([4, u8::from(*b)]),
            }
        }
    }

    /// The digest of the rows added.
    fn finish(self) -> Digest {
        let checksum = self
            .sha
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Digest {
            rows: self.rows,
            checksum,
        }
    }
}

/// Text as its length (8 bytes) and its UTF-8 bytes, so that no two sequences of values collide.
fn text(sha: &mut Sha256, s: &str) {
    sha.update((s.len() as u64).to_be_bytes());
    sha.update(s.as_bytes());
}

/// The bytes a row holds beyond its fixed-size values, for bounding a batch.
fn text_bytes(row: &Row) -> usize {
    row.iter()
        .map(|v| match v {
            Value::Text(s) => s.len(),
            _ => 0,
        })
        .sum()
}

/// One table of a copy: what was read from the source and what the target holds afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// The source's rows and checksum (in the snapshot the copy read).
    pub source: Digest,
    /// The target's, read back after the rows were written.
    pub target: Digest,
}

impl TableReport {
    /// Whether the target holds exactly what the source does.
    pub fn matches(&self) -> bool {
        self.source == self.target
    }
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// Every table, in [`TABLES`] order.
    pub tables: Vec<TableReport>,
    /// Whether the target's transaction was committed: only when every table matches.
    pub committed: bool,
}

/// A connection of either backend inside the transaction a copy reads or writes in.
pub(crate) enum Tx {
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// A read transaction over one snapshot of `store`.
    async fn snapshot(store: &Opened) -> StoreResult<Tx> {
        Ok(match store {
            Opened::Sqlite(s) => Tx::Sqlite(s.snapshot().await?),
            Opened::Postgres(s) => Tx::Postgres(s.snapshot().await?),
        })
    }

    /// A write transaction on `store`, holding SQLite's write lock from the start.
    async fn writer(store: &Opened) -> StoreResult<Tx> {
        Ok(match store {
            Opened::Sqlite(s) => Tx::Sqlite(s.exclusive().await?),
            Opened::Postgres(s) => Tx::Postgres(s.exclusive().await?),
        })
    }

    /// The live schema.
    pub(crate) async fn schema(&mut self) -> StoreResult<Schema> {
        match self {
            Tx::Sqlite(tx) => sqlite::copy::schema(tx).await,
            Tx::Postgres(tx) => postgres::copy::schema(tx).await,
        }
    }

    /// The `SELECT` that reads `table` in primary-key order on this backend. PostgreSQL's text keys
    /// are ordered by the "C" collation, which is code point order as SQLite's BINARY collation is.
    fn select(&self, table: &Table) -> String {
        match self {
            Tx::Sqlite(_) => table.select(""),
            Tx::Postgres(_) => table.select(" COLLATE \"C\""),
        }
    }

    /// The rows `select` (this backend's [`Tx::select`] of `table`) returns, streamed.
    fn rows<'c>(
        &'c mut self,
        select: &'c str,
        table: &'c Table,
    ) -> BoxStream<'c, StoreResult<Row>> {
        match self {
            Tx::Sqlite(tx) => sqlx::query(select)
                .fetch(&mut **tx)
                .map(move |row| decode(&row?, table))
                .boxed(),
            Tx::Postgres(tx) => sqlx::query(select)
                .fetch(&mut **tx)
                .map(move |row| decode(&row?, table))
                .boxed(),
        }
    }

    /// The digest of `table` as this transaction sees it.
    pub(crate) async fn digest(&mut self, table: &Table) -> StoreResult<Digest> {
        let select = self.select(table);
        let mut hasher = Hasher::new(table);
        let mut rows = self.rows(&select, table);
        while let Some(row) = rows.try_next().await? {
            hasher.add(&row);
        }
        Ok(hasher.finish())
    }

    /// How many rows `table` holds.
    async fn count(&mut self, table: &Table) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", quoted(table.name));
        Ok(match self {
            Tx::Sqlite(tx) => sqlx::query_scalar(&sql).fetch_one(&mut **tx).await?,
            Tx::Postgres(tx) => sqlx::query_scalar(&sql).fetch_one(&mut **tx).await?,
        })
    }

    /// Keeps other writers out of `tables` until the commit (SQLite's `BEGIN IMMEDIATE` already has).
    async fn lock(&mut self, tables: &[Table]) -> StoreResult<()> {
        match self {
            Tx::Sqlite(_) => Ok(()),
            Tx::Postgres(tx) => postgres::copy::lock(tx, tables).await,
        }
    }

    /// Writes rows into `table`.
    async fn insert(&mut self, table: &Table, rows: &[Row]) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => sqlite::copy::insert(tx, table, rows).await,
            Tx::Postgres(tx) => postgres::copy::insert(tx, table, rows).await,
        }
    }

    /// The highest id the database ever generated for `table`, where it remembers one beyond the
    /// rows it holds (PostgreSQL's identity sequence, SQLite's `sqlite_sequence`).
    async fn high_water(&mut self, table: &Table) -> StoreResult<Option<i64>> {
        match self {
            Tx::Sqlite(tx) => sqlite::copy::high_water(tx, table).await,
            Tx::Postgres(tx) => postgres::copy::high_water(tx, table).await,
        }
    }

    /// Makes the id generator of `table` continue after its highest id and after `high_water`.
    async fn continue_ids(&mut self, table: &Table, high_water: Option<i64>) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => sqlite::copy::continue_ids(tx, table, high_water).await,
            Tx::Postgres(tx) => postgres::copy::continue_ids(tx, table, high_water).await,
        }
    }

    /// Commits.
    async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls back.
    async fn rollback(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// The tables of [`TABLES`] in `schema`, or `Invalid` naming the first table (or other object) that
/// one has and the other lacks. `database` names the database in the message.
pub(crate) fn plan(database: &str, schema: Schema) -> StoreResult<Vec<Table>> {
    let invalid = |reason: String| StoreError::Invalid {
        what: format!("schema of {database}"),
        reason,
    };
    let mut live = schema.tables;
    let mut tables = Vec::with_capacity(TABLES.len());
    for &name in TABLES {
        let shape = live
            .remove(name)
            .ok_or_else(|| invalid(format!("it has no table {name}")))?;
        tables.push(Table { name, shape });
    }
    if let Some(extra) = live.keys().next() {
        return Err(invalid(format!(
            "table {extra} is not in the copy's table list (bulwark_store::copy::TABLES), so its \
             rows would be left behind; add it there"
        )));
    }
    if let Some(other) = schema.other.first() {
        return Err(invalid(format!(
            "{other} holds data outside any table, which the copy does not move"
        )));
    }
    Ok(tables)
}

/// `Invalid` unless a source and a target table have the same columns (names and kinds, in any
/// order) and the same primary key. The target table read back is returned with the source's
/// column order, so that both are hashed alike.
fn matching(source: &Table, target: &Table) -> StoreResult<Table> {
    let invalid = |reason: String| StoreError::Invalid {
        what: format!("table {}", source.name),
        reason,
    };
    let describe = |t: &Table| {
        let mut columns: Vec<String> = t
            .shape
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.kind.name()))
            .collect();
        columns.sort();
        columns
    };
    let (theirs, ours) = (describe(source), describe(target));
    if theirs != ours {
        return Err(invalid(format!(
            "the source has columns ({}) and the target ({}); both must be at the same migration",
            theirs.join(", "),
            ours.join(", ")
        )));
    }
    if source.shape.key != target.shape.key {
        return Err(invalid(format!(
            "the source's primary key is ({}) and the target's ({})",
            source.shape.key.join(", "),
            target.shape.key.join(", ")
        )));
    }
    Ok(Table {
        name: target.name,
        shape: Shape {
            columns: source.shape.columns.clone(),
            key: source.shape.key.clone(),
            generated: target.shape.generated.clone(),
        },
    })
}

/// Copies every table of the database `from` names into the empty database `to` names (either
/// backend each; both are opened as every command opens them, migrations applied), then reads every
/// table back from the target and commits only if each one's rows and checksum equal the source's.
///
/// Errors: `Invalid` when both URLs are the same or the schemas do not hold the same tables and
/// columns (see [`TABLES`]); `Conflict` naming the first table of the target that holds rows. A
/// difference is not an error: the report says which tables differ, and nothing was committed.
pub async fn copy(from: &str, to: &str) -> StoreResult<CopyReport> {
    if from.trim() == to.trim() {
        return Err(StoreError::Invalid {
            what: "copy".into(),
            reason: format!("the source and the target are the same database ({from})"),
        });
    }
    let source = open_backend(from).await?;
    let target = open_backend(to).await?;
    let report = copy_open(&source, &target, to).await;
    source.close().await;
    target.close().await;
    report
}

/// [`copy`] between two open stores; `to` names the target in messages.
async fn copy_open(source: &Opened, target: &Opened, to: &str) -> StoreResult<CopyReport> {
    let mut reader = Tx::snapshot(source).await?;
    let mut writer = Tx::writer(target).await?;
    let from_tables = plan("the source database", reader.schema().await?)?;
    let to_tables = plan("the target database", writer.schema().await?)?;
    let to_tables: Vec<Table> = from_tables
        .iter()
        .zip(&to_tables)
        .map(|(s, t)| matching(s, t))
        .collect::<StoreResult<_>>()?;
    writer.lock(&to_tables).await?;
    for table in &to_tables {
        let rows = writer.count(table).await?;
        if rows > 0 {
            return Err(StoreError::Conflict(format!(
                "the target database {to} is not empty: table {} holds {rows} rows; copy into a \
                 new database (created empty and migrated) only",
                table.name
            )));
        }
    }
    let mut read = Vec::with_capacity(from_tables.len());
    for (from_table, to_table) in from_tables.iter().zip(&to_tables) {
        let digest = transfer(&mut reader, &mut writer, from_table, to_table).await?;
        let high_water = reader.high_water(from_table).await?;
        writer.continue_ids(to_table, high_water).await?;
        read.push(digest);
    }
    reader.rollback().await?;
    let mut tables = Vec::with_capacity(read.len());
    for (source, table) in read.into_iter().zip(&to_tables) {
        let target = writer.digest(table).await?;
        tables.push(TableReport {
            table: table.name,
            source,
            target,
        });
    }
    let committed = tables.iter().all(TableReport::matches);
    if committed {
        writer.commit().await?;
    } else {
        writer.rollback().await?;
    }
    Ok(CopyReport { tables, committed })
}

/// Streams the rows of `from` (a source table) into `to` (the same table on the target) in
/// bounded batches, returning the digest of what was read.
async fn transfer(
    reader: &mut Tx,
    writer: &mut Tx,
    from: &Table,
    to: &Table,
) -> StoreResult<Digest> {
    let select = reader.select(from);
    let mut hasher = Hasher::new(from);
    let mut rows = reader.rows(&select, from);
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut bytes = 0;
    while let Some(row) = rows.try_next().await? {
        hasher.add(&row);
        bytes += text_bytes(&row);
        batch.push(row);
        if batch.len() >= BATCH_ROWS || bytes >= BATCH_BYTES {
            writer.insert(to, &batch).await?;
            batch.clear();
            bytes = 0;
        }
    }
    if !batch.is_empty() {
        writer.insert(to, &batch).await?;
    }
    Ok(hasher.finish())
}

/// The rows and checksum of one table of a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDigest {
    /// The table.
    pub table: &'static str,
    /// Its rows and checksum.
    pub digest: Digest,
}

/// The digest of every table of the database `url` names (opened as every command opens it), in one
/// snapshot and in [`TABLES`] order: the same data gives the same checksums on either backend, so
/// two databases can be compared after a copy, a backup or a restore.
pub async fn checksums(url: &str) -> StoreResult<Vec<TableDigest>> {
    let store = open_backend(url).await?;
    let digests = async {
        let mut reader = Tx::snapshot(&store).await?;
        let digests = table_digests(&mut reader, url).await?;
        reader.rollback().await?;
        Ok(digests)
    }
    .await;
    store.close().await;
    digests
}

/// The digest of every table in `reader`'s database, checked against [`TABLES`] first.
pub(crate) async fn table_digests(reader: &mut Tx, url: &str) -> StoreResult<Vec<TableDigest>> {
    let tables = plan(url, reader.schema().await?)?;
    let mut digests = Vec::with_capacity(tables.len());
    for table in &tables {
        digests.push(TableDigest {
            table: table.name,
            digest: reader.digest(table).await?,
        });
    }
    Ok(digests)
}

impl Opened {
    /// Closes every connection, waiting for them to finish.
    pub(crate) async fn close(&self) {
        match self {
            Opened::Sqlite(s) => s.close().await,
            Opened::Postgres(s) => s.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[(&str, Kind)], key: &[&str]) -> Table {
        Table {
            name: "t",
            shape: Shape {
                columns: columns
                    .iter()
                    .map(|(name, kind)| Column {
                        name: (*name).to_string(),
                        kind: *kind,
                    })
                    .collect(),
                key: key.iter().map(|k| (*k).to_string()).collect(),
                generated: None,
            },
        }
    }

    fn digest(table: &Table, rows: &[Row]) -> Digest {
        let mut hasher = Hasher::new(table);
        rows.iter().for_each(|r| hasher.add(r));
        hasher.finish()
    }

    #[test]
    fn text_keys_are_ordered_by_the_collation_given_and_integer_keys_as_they_are() {
        let t = table(
            &[("exception_id", Kind::Integer), ("group_name", Kind::Text)],
            &["exception_id", "group_name"],
        );
        assert_eq!(
            t.select(" COLLATE \"C\""),
            "SELECT \"exception_id\", \"group_name\" FROM \"t\" ORDER BY \"exception_id\", \
             \"group_name\" COLLATE \"C\""
        );
        assert_eq!(
            t.select(""),
            "SELECT \"exception_id\", \"group_name\" FROM \"t\" ORDER BY \"exception_id\", \"group_name\""
        );
    }

    #[test]
    fn the_checksum_tells_apart_what_a_careless_encoding_would_not() {
        let t = table(&[("a", Kind::Text), ("b", Kind::Text)], &["a"]);
        let text = |s: &str| Value::Text(s.to_string());
        // Concatenation, NULL against empty text, and row boundaries all change the checksum.
        let base = digest(&t, &[vec![text("ab"), text("c")]]);
        assert_ne!(base, digest(&t, &[vec![text("a"), text("bc")]]));
        assert_ne!(
            digest(&t, &[vec![text(""), Value::Null]]),
            digest(&t, &[vec![text(""), text("")]])
        );
        assert_ne!(
            digest(
                &t,
                &[vec![text("a"), text("b")], vec![text("c"), text("d")]]
            ),
            digest(&t, &[vec![text("a"), text("b")]])
        );
        // The same values under other column names differ; the same values hash alike.
        let renamed = table(&[("a", Kind::Text), ("c", Kind::Text)], &["a"]);
        assert_ne!(base, digest(&renamed, &[vec![text("ab"), text("c")]]));
        assert_eq!(base, digest(&t, &[vec![text("ab"), text("c")]]));
        assert_eq!(base.rows, 1);
        assert_eq!(base.checksum.len(), 64);
    }

    #[test]
    fn numbers_hash_by_their_exact_value() {
        let t = table(&[("x", Kind::Real)], &["x"]);
        let one = |f: f64| digest(&t, &[vec![Value::Real(f)]]);
        assert_ne!(one(0.1), one(0.1 + f64::EPSILON));
        assert_ne!(one(0.0), one(-0.0));
        let i = table(&[("x", Kind::Integer)], &["x"]);
        assert_ne!(
            digest(&i, &[vec![Value::Integer(1)]]),
            digest(&i, &[vec![Value::Integer(256)]])
        );
    }

    #[test]
    fn a_schema_is_planned_only_when_it_holds_exactly_the_listed_tables() {
        let shape = table(&[("id", Kind::Integer)], &["id"]).shape;
        let all = || Schema {
            tables: TABLES
                .iter()
                .map(|t| ((*t).to_string(), shape.clone()))
                .collect(),
            other: Vec::new(),
        };
        let planned = plan("db", all()).unwrap();
        let names: Vec<&str> = planned.iter().map(|t| t.name).collect();
        assert_eq!(names, TABLES);

        let mut extra = all();
        extra.tables.insert("changes".into(), shape.clone());
        let e = plan("db", extra).unwrap_err().to_string();
        assert!(
            e.contains("table changes is not in the copy's table list"),
            "{e}"
        );

        let mut missing = all();
        missing.tables.remove("audit_log");
        let e = plan("db", missing).unwrap_err().to_string();
        assert!(e.contains("it has no table audit_log"), "{e}");

        let mut sequence = all();
        sequence.other.push("sequence change_seq".into());
        let e = plan("db", sequence).unwrap_err().to_string();
        assert!(
            e.contains("sequence change_seq holds data outside any table"),
            "{e}"
        );
    }

    #[test]
    fn tables_match_by_columns_in_any_order_and_are_read_back_in_the_source_order() {
        let source = table(&[("id", Kind::Integer), ("v", Kind::Text)], &["id"]);
        let target = table(&[("v", Kind::Text), ("id", Kind::Integer)], &["id"]);
        let read_back = matching(&source, &target).unwrap();
        assert_eq!(read_back.shape.columns, source.shape.columns);

        let other_kind = table(&[("id", Kind::Integer), ("v", Kind::Boolean)], &["id"]);
        let e = matching(&source, &other_kind).unwrap_err().to_string();
        assert!(
            e.contains("id integer, v text") && e.contains("id integer, v boolean"),
            "{e}"
        );

        let other_key = table(&[("id", Kind::Integer), ("v", Kind::Text)], &["v"]);
        assert!(matching(&source, &other_key).is_err());
    }
}
