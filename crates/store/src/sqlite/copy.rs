//! SQLite's part of [`crate::copy`] and [`crate::backup`]: the live schema from `sqlite_master` and
//! `pragma_table_info`, multi-row `INSERT`s, `sqlite_sequence` for the tables with `AUTOINCREMENT`, and
//! the online backup (`VACUUM INTO`).

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row as _, Sqlite, Transaction};

use super::SqliteStore;
use crate::copy::{Column, Kind, Row, Schema, Shape, Table, Value, quoted};
use crate::{StoreError, StoreResult};

/// Bound parameters per statement: below SQLite's limit of 32,766 (since 3.32), with room to spare.
const MAX_PARAMETERS: usize = 30_000;

impl SqliteStore {
    /// A read transaction on a reader connection: its first read fixes the snapshot every later read
    /// sees (WAL), while writers carry on.
    pub(crate) async fn snapshot(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.reader.begin().await?)
    }

    /// A write transaction holding the write lock from its start (`BEGIN IMMEDIATE`).
    pub(crate) async fn exclusive(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write().await
    }
}

/// The kinds of the column types the migrations declare, as SQLite reports them.
const KINDS: &[(&str, Kind)] = &[
    ("INTEGER", Kind::Integer),
    ("BIGINT", Kind::Integer),
    ("DOUBLE PRECISION", Kind::Real),
    ("REAL", Kind::Real),
    ("TEXT", Kind::Text),
    ("BOOLEAN", Kind::Boolean),
];

/// Every table but SQLite's own and sqlx's migration table, with its columns and primary key. A
/// single-column `INTEGER` primary key is the rowid, which SQLite generates.
pub(crate) async fn schema(conn: &mut SqliteConnection) -> StoreResult<Schema> {
    let rows = sqlx::query(
        "SELECT m.name AS table_name, p.name AS column_name, p.type AS declared, p.pk AS pk \
         FROM sqlite_master AS m, pragma_table_info(m.name) AS p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
           AND m.name <> '_sqlx_migrations' \
         ORDER BY m.name, p.cid",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut schema = Schema::default();
    let mut keys: Vec<(String, i64, String)> = Vec::new();
    for row in &rows {
        let table: String = row.try_get("table_name")?;
        let column: String = row.try_get("column_name")?;
        let declared: String = row.try_get("declared")?;
        let pk: i64 = row.try_get("pk")?;
        let kind = Kind::of(&table, &column, &declared, KINDS)?;
        if pk > 0 {
            keys.push((table.clone(), pk, column.clone()));
        }
        let shape = schema.tables.entry(table).or_insert_with(|| Shape {
            columns: Vec::new(),
            key: Vec::new(),
            generated: None,
        });
        shape.columns.push(Column { name: column, kind });
    }
    keys.sort();
    for (table, _, column) in keys {
        if let Some(shape) = schema.tables.get_mut(&table) {
            shape.key.push(column);
        }
    }
    for shape in schema.tables.values_mut() {
        if let [key] = shape.key.as_slice()
            && shape
                .columns
                .iter()
                .any(|c| &c.name == key && c.kind == Kind::Integer)
        {
            shape.generated = Some(key.clone());
        }
    }
    Ok(schema)
}

/// Inserts rows as multi-row `INSERT`s, as many rows per statement as the parameter limit allows.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    table: &Table,
    rows: &[Row],
) -> StoreResult<()> {
    let width = table.shape.columns.len().max(1);
    let one = format!("({})", vec!["?"; width].join(", "));
    for chunk in rows.chunks((MAX_PARAMETERS / width).max(1)) {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            quoted(table.name),
            table.column_list(),
            vec![one.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for value in chunk.iter().flatten() {
            query = match value {
                Value::Null => query.bind(None::<i64>),
                Value::Integer(i) => query.bind(*i),
                Value::Real(f) => query.bind(*f),
                Value::Text(s) => query.bind(s.as_str()),
                Value::Boolean(b) => query.bind(*b),
            };
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Whether `table` was declared with `AUTOINCREMENT`: SQLite then never reuses an id, and keeps the
/// highest one it handed out in `sqlite_sequence`.
async fn autoincrement(conn: &mut SqliteConnection, table: &Table) -> StoreResult<bool> {
    let sql: Option<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1")
            .bind(table.name)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(sql.is_some_and(|s| s.to_ascii_uppercase().contains("AUTOINCREMENT")))
}

/// The highest id SQLite handed out for an `AUTOINCREMENT` table (rows since deleted included).
pub(crate) async fn high_water(
    conn: &mut SqliteConnection,
    table: &Table,
) -> StoreResult<Option<i64>> {
    if !autoincrement(conn, table).await? {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?1")
            .bind(table.name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Raises an `AUTOINCREMENT` table's `sqlite_sequence` entry to `high_water` (inserting explicit ids
/// already raised it to the highest of them). Other tables need nothing: SQLite continues after the
/// highest rowid present, which is all it ever promises for them.
pub(crate) async fn continue_ids(
    conn: &mut SqliteConnection,
    table: &Table,
    high_water: Option<i64>,
) -> StoreResult<()> {
    let Some(high_water) = high_water else {
        return Ok(());
    };
    if !autoincrement(conn, table).await? {
        return Ok(());
    }
    sqlx::query("UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1 AND seq < ?2")
        .bind(table.name)
        .bind(high_water)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 \
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
    )
    .bind(table.name)
    .bind(high_water)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether `url` names an in-memory database (which only its own process can read).
pub(crate) fn in_memory(url: &str) -> StoreResult<bool> {
    Ok(super::locate(url)? == super::Location::Memory)
}

/// Writes a consistent copy of the database `url` names into the new file `to` with `VACUUM INTO`,
/// which reads one snapshot and lets other connections and processes go on reading and writing.
pub(crate) async fn vacuum_into(url: &str, to: &Path) -> StoreResult<()> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?
        .busy_timeout(super::BUSY_TIMEOUT);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let target = to.to_str().ok_or_else(|| StoreError::Invalid {
        what: format!("backup file {}", to.display()),
        reason: "the path is not UTF-8".into(),
    })?;
    sqlx::query("VACUUM INTO ?1")
        .bind(target)
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Opens a backup file read-only, as a one-connection pool's read transaction (for
/// [`crate::copy::Tx`]).
pub(crate) async fn open_read_only(path: &Path) -> StoreResult<Transaction<'static, Sqlite>> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(super::BUSY_TIMEOUT);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    Ok(pool.begin().await?)
}
