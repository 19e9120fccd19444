//! Online backups of a SQLite database (`bulwark db backup`): a consistent copy written while the
//! database is in use, then verified by opening it read-only, running SQLite's `integrity_check` and
//! reading every table of the schema ([`crate::copy::TABLES`]) for its rows and checksum.
//!
//! A PostgreSQL database is backed up with PostgreSQL's own `pg_dump`, which this crate does not
//! replace (docs/deployment.md); [`backup`] refuses it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::copy::{TableDigest, Tx, table_digests};
use crate::{Opened, StoreError, StoreResult, open_backend, sqlite};

/// A verified backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    /// The backup file.
    pub file: PathBuf,
    /// Every table of the backup, with its rows and checksum (comparable with
    /// [`crate::copy::checksums`] of any database).
    pub tables: Vec<TableDigest>,
}

/// Backs up the SQLite database `url` names into the new file `to` with `VACUUM INTO` (one snapshot;
/// readers and writers, in this process or others, go on meanwhile), then verifies the file: it opens
/// read-only, `PRAGMA integrity_check` answers `ok`, and every table of the schema reads back.
///
/// Errors: `Invalid` for a PostgreSQL or in-memory database, `Conflict` when `to` exists, `Corrupt`
/// when the integrity check finds a problem.
pub async fn backup(url: &str, to: &Path) -> StoreResult<BackupReport> {
    if to.exists() {
        return Err(StoreError::Conflict(format!(
            "the backup file {} exists; name a new file",
            to.display()
        )));
    }
    // Opening applies pending migrations, as every command does, so the backup has the schema the
    // verification expects.
    let store = match open_backend(url).await? {
        Opened::Sqlite(store) => store,
        Opened::Postgres(store) => {
            store.close().await;
            return Err(StoreError::Invalid {
                what: "backup".into(),
                reason: "a PostgreSQL database is backed up with pg_dump (docs/deployment.md)"
                    .into(),
            });
        }
    };
    let written = if sqlite::copy::in_memory(url)? {
        Err(StoreError::Invalid {
            what: "backup".into(),
            reason: "an in-memory database lives only in its process; back up a file database"
                .into(),
        })
    } else {
        sqlite::copy::vacuum_into(url, to).await
    };
    store.close().await;
    written?;
    verify(to).await
}

/// Opens a backup file read-only, checks its integrity and reads every table.
async fn verify(file: &Path) -> StoreResult<BackupReport> {
    let mut tx = sqlite::copy::open_read_only(file).await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *tx)
        .await?;
    if problems != ["ok"] {
        return Err(StoreError::Corrupt {
            table: "the backup",
            reason: problems.join("; "),
        });
    }
    let mut reader = Tx::Sqlite(tx);
    let tables = table_digests(&mut reader, &file.display().to_string()).await?;
    Ok(BackupReport {
        file: file.to_path_buf(),
        tables,
    })
}
