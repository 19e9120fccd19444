//! PostgreSQL's part of [`crate::copy`]: the live schema from `information_schema` (and the
//! sequences no column owns, which the copy refuses), `COPY … FROM STDIN` in the text format for the
//! writes, and the identity columns' generators continued after the copied ids.

use std::fmt::Write as _;

use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Row as _, Transaction};

use super::PostgresStore;
use crate::StoreResult;
use crate::copy::{Column, Kind, Row, Schema, Shape, Table, Value, quoted};

impl PostgresStore {
    /// A read-only transaction over one snapshot of the whole database (`REPEATABLE READ`), so that
    /// the tables are read as of one instant while other sessions go on writing.
    pub(crate) async fn snapshot(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    /// A write transaction (the copy locks the tables it writes itself).
    pub(crate) async fn exclusive(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

/// The kinds of the column types the migrations declare, as `information_schema` names them.
const KINDS: &[(&str, Kind)] = &[
    ("bigint", Kind::Integer),
    ("integer", Kind::Integer),
    ("double precision", Kind::Real),
    ("text", Kind::Text),
    ("boolean", Kind::Boolean),
];

/// Every base table of the current schema but sqlx's migration table, with its columns, primary key
/// and identity column; and every sequence that no column owns (data the copy would leave behind).
pub(crate) async fn schema(conn: &mut PgConnection) -> StoreResult<Schema> {
    let columns = sqlx::query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.data_type::text AS data_type, c.is_identity::text AS is_identity \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '_sqlx_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut schema = Schema::default();
    for row in &columns {
        let table: String = row.try_get("table_name")?;
        let column: String = row.try_get("column_name")?;
        let data_type: String = row.try_get("data_type")?;
        let identity: String = row.try_get("is_identity")?;
        let kind = Kind::of(&table, &column, &data_type, KINDS)?;
        let shape = schema.tables.entry(table).or_insert_with(|| Shape {
            columns: Vec::new(),
            key: Vec::new(),
            generated: None,
        });
        if identity == "YES" {
            shape.generated = Some(column.clone());
        }
        shape.columns.push(Column { name: column, kind });
    }
    let keys = sqlx::query(
        "SELECT tc.table_name::text AS table_name, k.column_name::text AS column_name \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage k \
           ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name \
          AND k.table_name = tc.table_name \
         WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() \
         ORDER BY tc.table_name, k.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &keys {
        let table: String = row.try_get("table_name")?;
        let column: String = row.try_get("column_name")?;
        if let Some(shape) = schema.tables.get_mut(&table) {
            shape.key.push(column);
        }
    }
    // Identity (`i`) and serial (`a`) sequences belong to their column; any other sequence is state
    // of its own that a copy of the tables would not carry over.
    let free: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'S' AND n.nspname = current_schema() \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                           AND d.objid = c.oid AND d.deptype IN ('a', 'i')) \
         ORDER BY c.relname",
    )
    .fetch_all(&mut *conn)
    .await?;
    schema
        .other
        .extend(free.into_iter().map(|name| format!("sequence {name}")));
    Ok(schema)
}

/// Locks every table against other sessions' writes until the commit (reads go on), so that the
/// emptiness checked first still holds when the copy commits.
pub(crate) async fn lock(conn: &mut PgConnection, tables: &[Table]) -> StoreResult<()> {
    let names: Vec<String> = tables.iter().map(|t| quoted(t.name)).collect();
    sqlx::query(&format!(
        "LOCK TABLE {} IN EXCLUSIVE MODE",
        names.join(", ")
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes rows with one `COPY … FROM STDIN` (text format). COPY writes the ids given into identity
/// columns declared `GENERATED ALWAYS`, as `INSERT … OVERRIDING SYSTEM VALUE` would.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    table: &Table,
    rows: &[Row],
) -> StoreResult<()> {
    let mut data = CopyRows::default();
    for row in rows {
        for value in row {
            data.value(value);
        }
        data.end_row();
    }
    let statement = format!(
        "COPY {} ({}) FROM STDIN",
        quoted(table.name),
        table.column_list()
    );
    copy_in(conn, &statement, data).await?;
    Ok(())
}

/// Rows in COPY's text format, built field by field: the one encoding of every `COPY … FROM STDIN`
/// this crate runs, the database copy's and the store's bulk writes' (`postgres.rs`).
#[derive(Debug, Default)]
pub(crate) struct CopyRows {
    /// The encoded rows.
    data: String,
    /// Whether the row being built has a field already.
    open: bool,
}

impl CopyRows {
    /// Starts the next field of the current row.
    fn field(&mut self) -> &mut String {
        if self.open {
            self.data.push('\t');
        }
        self.open = true;
        &mut self.data
    }

    /// Adds a value of the database copy.
    fn value(&mut self, value: &Value) -> &mut Self {
        copy_value(self.field(), value);
        self
    }

    /// Adds a text field.
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        copy_text(self.field(), s);
        self
    }

    /// Adds a text field, NULL when absent.
    pub(crate) fn text_or_null(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// Adds an integer field.
    pub(crate) fn integer(&mut self, i: i64) -> &mut Self {
        let _ = write!(self.field(), "{i}");
        self
    }

    /// Adds an integer field, NULL when absent.
    pub(crate) fn integer_or_null(&mut self, i: Option<i64>) -> &mut Self {
        match i {
            Some(i) => self.integer(i),
            None => self.null(),
        }
    }

    /// Adds a floating-point field.
    pub(crate) fn real(&mut self, f: f64) -> &mut Self {
        copy_real(self.field(), f);
        self
    }

    /// Adds a NULL field.
    pub(crate) fn null(&mut self) -> &mut Self {
        self.field().push_str("\\N");
        self
    }

    /// Ends the current row.
    pub(crate) fn end_row(&mut self) {
        self.data.push('\n');
        self.open = false;
    }
}

/// Runs `statement` (a `COPY … FROM STDIN` in the text format) with `rows` as its data, returning
/// the number of rows copied.
pub(crate) async fn copy_in(
    conn: &mut PgConnection,
    statement: &str,
    rows: CopyRows,
) -> StoreResult<u64> {
    let mut copy = conn.copy_in_raw(statement).await?;
    if let Err(e) = copy.send(rows.data.into_bytes()).await {
        // The connection is unusable until the COPY ends; abort it so the error that caused this
        // is the one reported.
        let _ = copy.abort("bulwark COPY failed").await;
        return Err(e.into());
    }
    Ok(copy.finish().await?)
}

/// One value in COPY's text format: `\N` for NULL, backslash escapes for the characters that
/// delimit fields and rows, numbers in a form PostgreSQL reads back to the same value.
fn copy_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Real(f) => copy_real(out, *f),
        Value::Boolean(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Text(s) => copy_text(out, s),
    }
}

/// A floating-point number in COPY's text format. Rust prints the shortest text that reads back as
/// exactly this number; PostgreSQL reads it back exactly.
fn copy_real(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(out, "{f:?}");
    }
}

/// Text in COPY's text format: backslash escapes for the backslash and the characters that delimit
/// fields and rows.
fn copy_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

/// The highest id the identity sequence of `table` has handed out or skipped (rows since deleted
/// included): its last value, or the one before its next when it was restarted and not used since
/// (as after a copy). `None` when it never handed out any.
pub(crate) async fn high_water(conn: &mut PgConnection, table: &Table) -> StoreResult<Option<i64>> {
    let Some(column) = &table.shape.generated else {
        return Ok(None);
    };
    let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, $2)")
        .bind(quoted(table.name))
        .bind(column)
        .fetch_one(&mut *conn)
        .await?;
    let Some(sequence) = sequence else {
        return Ok(None);
    };
    // The name comes back qualified and quoted where needed, ready to be used as a relation.
    let last: i64 = sqlx::query_scalar(&format!(
        "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence}"
    ))
    .fetch_one(&mut *conn)
    .await?;
    Ok((last > 0).then_some(last))
}

/// Restarts the identity of `table` after its highest id and `high_water`, so that the next row
/// gets an id no row of the source ever had. Should the copy then roll back, the empty target only
/// starts its ids higher.
pub(crate) async fn continue_ids(
    conn: &mut PgConnection,
    table: &Table,
    high_water: Option<i64>,
) -> StoreResult<()> {
    let Some(column) = &table.shape.generated else {
        return Ok(());
    };
    let highest: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT MAX({}) FROM {}",
        quoted(column),
        quoted(table.name)
    ))
    .fetch_one(&mut *conn)
    .await?;
    let Some(last) = highest.max(high_water) else {
        return Ok(());
    };
    sqlx::query(&format!(
        "ALTER TABLE {} ALTER COLUMN {} RESTART WITH {}",
        quoted(table.name),
        quoted(column),
        last + 1
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_in_copy_text_format() {
        let check = |value: Value, expected: &str| {
            let mut out = String::new();
            copy_value(&mut out, &value);
            assert_eq!(out, expected, "{value:?}");
        };
        check(Value::Null, "\\N");
        check(Value::Integer(-42), "-42");
        check(Value::Real(0.1), "0.1");
        check(Value::Real(1e300), "1e300");
        check(Value::Real(-0.0), "-0.0");
        check(Value::Real(f64::NEG_INFINITY), "-Infinity");
        check(Value::Boolean(true), "t");
        check(Value::Text("a\tb\nc\\N\r".into()), "a\\tb\\nc\\\\N\\r");
        check(Value::Text("\\N".into()), "\\\\N");
    }
}
