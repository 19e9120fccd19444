//! `bulwark db`: whole databases — `copy` between SQLite and PostgreSQL (either way) into an empty
//! database, verified table by table; `backup` of a SQLite database in use; `checksums` of any
//! database, to compare two of them (after a copy, a backup or a restore).
//!
//! The work is the store's (`bulwark_store::copy`, `bulwark_store::backup`); this module prints the
//! per-table report and chooses the exit code: 0 when everything matches, 1 when a table differs
//! (nothing was committed), 2 on an error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

use bulwark_store::copy::{CopyReport, TableDigest};

/// `bulwark db …`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy every table of one database into a new, empty one (SQLite ↔ PostgreSQL, or SQLite →
    /// SQLite), ids included, then compare every table's rows and checksum; commits only when all
    /// match. Exit code 0: copied and identical; 1: a table differs (the target is left empty);
    /// 2: error (an occupied target, a schema the copy does not know, a database failure).
    Copy {
        /// The database to copy (`sqlite://PATH` or `postgres://…`); it is only read.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The new database to fill (created, or migrated, when opened; it must hold no rows).
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Back up the SQLite database `--db` names into a new FILE while it is in use, then check the
    /// backup (it opens, `integrity_check` is ok, every table reads). For PostgreSQL it prints the
    /// pg_dump and pg_restore commands to use instead and exits 2.
    Backup {
        /// The backup file to create (it must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Print every table's rows and checksum of the database `--db` names (the same data gives the
    /// same checksums on SQLite and PostgreSQL).
    Checksums,
}

/// Runs `bulwark db …` against the database `db` (the global `--db`).
pub async fn run(command: &DbCommand, db: &str) -> Result<ExitCode> {
    match command {
        DbCommand::Copy { from, to } => copy(from, to).await,
        DbCommand::Backup { to } => backup(db, to).await,
        DbCommand::Checksums => {
            let tables = bulwark_store::copy::checksums(db)
                .await
                .with_context(|| format!("reading {}", redacted(db)))?;
            print_digests(&tables);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `db copy`: copies, prints the report, and says whether the target was committed.
async fn copy(from: &str, to: &str) -> Result<ExitCode> {
    let report = bulwark_store::copy::copy(from, to)
        .await
        .with_context(|| format!("copying {} to {}", redacted(from), redacted(to)))?;
    print_copy(&report);
    let rows: u64 = report.tables.iter().map(|t| t.source.rows).sum();
    if report.committed {
        println!(
            "copied {} tables, {rows} rows, from {} to {}: every table matches",
            report.tables.len(),
            redacted(from),
            redacted(to)
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let differ = report.tables.iter().filter(|t| !t.matches()).count();
        eprintln!(
            "error: {differ} tables differ after the copy; nothing was committed, {} is as empty as before",
            redacted(to)
        );
        Ok(ExitCode::from(1))
    }
}

/// The first characters of a checksum, enough to compare by eye.
fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(16)]
}

/// The per-table report of a copy: rows, checksum (the source's; both when they differ), OK/DIFF.
fn print_copy(report: &CopyReport) {
    let width = table_width(report.tables.iter().map(|t| t.table));
    println!(
        "{:width$}  {:>10}  {:16}  RESULT",
        "TABLE", "ROWS", "CHECKSUM"
    );
    for t in &report.tables {
        if t.matches() {
            println!(
                "{:width$}  {:>10}  {:16}  OK",
                t.table,
                t.source.rows,
                short(&t.source.checksum)
            );
        } else {
            println!(
                "{:width$}  {:>10}  {:16}  DIFF (target: {} rows, {})",
                t.table,
                t.source.rows,
                short(&t.source.checksum),
                t.target.rows,
                short(&t.target.checksum)
            );
        }
    }
}

/// Every table's rows and full checksum.
fn print_digests(tables: &[TableDigest]) {
    let width = table_width(tables.iter().map(|t| t.table));
    println!("{:width$}  {:>10}  CHECKSUM (SHA-256)", "TABLE", "ROWS");
    for t in tables {
        println!(
            "{:width$}  {:>10}  {}",
            t.table, t.digest.rows, t.digest.checksum
        );
    }
}

/// The width of the table column.
fn table_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0).max("TABLE".len())
}

/// `db backup`: a verified SQLite backup, or the PostgreSQL tools' commands.
async fn backup(db: &str, to: &Path) -> Result<ExitCode> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        eprint!("{}", pg_dump_guidance(db, to));
        return Ok(ExitCode::from(2));
    }
    let report = bulwark_store::backup::backup(db, to)
        .await
        .with_context(|| format!("backing up {} to {}", redacted(db), to.display()))?;
    print_digests(&report.tables);
    let rows: u64 = report.tables.iter().map(|t| t.digest.rows).sum();
    println!(
        "backed up {} to {}: integrity_check ok, {} tables, {rows} rows",
        redacted(db),
        report.file.display(),
        report.tables.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// What to run instead of `db backup` for a PostgreSQL database. Bulwark does not run pg_dump
/// itself: pg_dump must be at least the server's version and takes libpq's settings (passwords in
/// `~/.pgpass` or `PGPASSWORD`, TLS), which the operator's own installation of it knows best.
fn pg_dump_guidance(db: &str, to: &Path) -> String {
    let url = redacted(db);
    let file = to.display();
    format!(
        "bulwark db backup writes SQLite backups; a PostgreSQL database is backed up with pg_dump, which \
         takes a consistent snapshot while Bulwark keeps running:\n\
         \n  pg_dump --format=custom --file='{file}' '{url}'\n\
         \nTo restore, create an empty database and load the dump into it (then point --db at it):\n\
         \n  createdb --template=template0 bulwark_restored\
         \n  pg_restore --exit-on-error --single-transaction --no-owner --dbname='{restored}' '{file}'\n\
         \nCompare the restore with the original: `bulwark --db URL db checksums` on both.\
         \nOr take a verified copy into a SQLite file: bulwark db copy --from '{url}' --to sqlite://bulwark-backup.db\n\
         (A password given in the URL is left out above: pg_dump reads it from PGPASSWORD or ~/.pgpass.)\n",
        restored = with_database(db, "bulwark_restored"),
    )
}

/// A database URL's parts: scheme, the authority without its password (`user@host:port`, or
/// `host:port`), database path, query (`?` included). `None` for a URL without `//`
/// (`sqlite::memory:`).
fn url_parts(url: &str) -> Option<(&str, String, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (rest, query) = rest.find('?').map_or((rest, ""), |i| rest.split_at(i));
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    Some((scheme, authority, path, query))
}

/// A database URL with its password left out, for printing.
fn redacted(url: &str) -> String {
    match url_parts(url) {
        Some((scheme, authority, path, query)) => format!("{scheme}://{authority}{path}{query}"),
        None => url.to_string(),
    }
}

/// A PostgreSQL URL naming another database on the same server (password left out, query kept).
fn with_database(url: &str, name: &str) -> String {
    match url_parts(url) {
        Some((scheme, authority, _, query)) => format!("{scheme}://{authority}/{name}{query}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_left_out_of_printed_urls() {
        let check = |url: &str, expected: &str| assert_eq!(redacted(url), expected, "{url}");
        check(
            "postgres://bulwark:s3cr@t@db:5432/bulwark?sslmode=require",
            "postgres://bulwark@db:5432/bulwark?sslmode=require",
        );
        check(
            "postgres://bulwark@db/bulwark",
            "postgres://bulwark@db/bulwark",
        );
        check("postgresql://db/bulwark", "postgresql://db/bulwark");
        check(
            "sqlite:///var/lib/bulwark/bulwark.db",
            "sqlite:///var/lib/bulwark/bulwark.db",
        );
        check("sqlite::memory:", "sqlite::memory:");
    }

    #[test]
    fn the_restore_target_is_another_database_on_the_same_server() {
        assert_eq!(
            with_database("postgres://u@db:5432/bulwark?sslmode=require", "r"),
            "postgres://u@db:5432/r?sslmode=require"
        );
        assert_eq!(with_database("postgres://u@db", "r"), "postgres://u@db/r");
    }

    #[test]
    fn pg_dump_guidance_names_the_commands_without_the_password() {
        let text = pg_dump_guidance("postgres://u:pw@db:5432/bulwark", Path::new("/b/x.dump"));
        assert!(
            text.contains(
                "pg_dump --format=custom --file='/b/x.dump' 'postgres://u@db:5432/bulwark'"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "pg_restore --exit-on-error --single-transaction --no-owner \
                 --dbname='postgres://u@db:5432/bulwark_restored' '/b/x.dump'"
            ),
            "{text}"
        );
        assert!(!text.contains("pw"), "{text}");
    }
}
