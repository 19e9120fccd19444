//! Test support, for tests only: a fresh, private database of the backend the test run chose, removed
//! when its guard drops, so that tests, and whole test runs, never see each other's data.
//!
//! The environment chooses the backend:
//! * `BULWARK_TEST_DATABASE` unset, empty or `sqlite`: every fresh database is a SQLite file in a new
//!   temporary directory.
//! * `BULWARK_TEST_DATABASE=postgres://USER@HOST:PORT/DB` (or `postgresql://…`): every fresh database is
//!   a new PostgreSQL database on that server, created with a unique name and dropped (`WITH (FORCE)`,
//!   so connections still open do not keep it alive) when the guard drops. `DB` is only used to connect
//!   for `CREATE DATABASE` and `DROP DATABASE`; the user must be allowed to create databases.
//! * `BULWARK_TEST_POSTGRES=postgres://…` names a server for suites that run on every backend (the
//!   store's contract suite) when `BULWARK_TEST_DATABASE` does not name one; with
//!   `BULWARK_REQUIRE_POSTGRES=1` or `BULWARK_REQUIRE_SHARED_DATA=1` (as in CI) a missing server is an
//!   error, not a reason to skip ([`postgres_server`]).
//!
//! This module is compiled into the library (it needs nothing the store does not already depend on), so
//! that the integration tests of every crate can use it without a feature flag; nothing else calls it.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection};

use crate::{Store, StoreError};

/// Chooses the backend of fresh test databases: unset or `sqlite`, or a `postgres://` server URL.
pub const DATABASE_VAR: &str = "BULWARK_TEST_DATABASE";

/// A PostgreSQL server for suites that run on every backend, when [`DATABASE_VAR`] names none.
pub const POSTGRES_VAR: &str = "BULWARK_TEST_POSTGRES";

/// `1` makes a missing PostgreSQL server an error in [`postgres_server`].
pub const REQUIRE_POSTGRES_VAR: &str = "BULWARK_REQUIRE_POSTGRES";

/// `1` (as CI sets it) requires everything a complete run needs, PostgreSQL included.
pub const REQUIRE_SHARED_DATA_VAR: &str = "BULWARK_REQUIRE_SHARED_DATA";

/// Why a fresh test database could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TestingError {
    /// An environment variable names no backend.
    #[error("{var}={value:?} names no test backend; expected `sqlite` or a postgres:// URL")]
    UnknownBackend {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// PostgreSQL is required but no server is named.
    #[error(
        "{var}=1 requires PostgreSQL, but neither {DATABASE_VAR} nor {POSTGRES_VAR} names a postgres:// server"
    )]
    PostgresRequired {
        /// The variable that requires it.
        var: &'static str,
    },
    /// The temporary directory, or the runtime of a blocking call, could not be created.
    #[error("cannot prepare a test database: {0}")]
    Io(#[from] std::io::Error),
    /// The PostgreSQL server refused a connection or a `CREATE DATABASE`.
    #[error("cannot create a PostgreSQL test database: {0}")]
    Postgres(#[from] sqlx::Error),
    /// The fresh database could not be opened as a store.
    #[error("cannot open the test database: {0}")]
    Store(#[from] StoreError),
}

/// The backend fresh databases are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in temporary directories.
    Sqlite,
    /// New databases on a PostgreSQL server.
    Postgres {
        /// The server's URL; its database is used only to create and drop the fresh ones.
        server: String,
    },
}

/// Whether `value` is a PostgreSQL URL.
fn is_postgres_url(value: &str) -> bool {
    value.starts_with("postgres://") || value.starts_with("postgresql://")
}

impl Backend {
    /// The backend [`DATABASE_VAR`] chooses.
    pub fn chosen() -> Result<Backend, TestingError> {
        let value = std::env::var(DATABASE_VAR).unwrap_or_default();
        let value = value.trim();
        if value.is_empty() || value == "sqlite" {
            Ok(Backend::Sqlite)
        } else if is_postgres_url(value) {
            Ok(Backend::Postgres {
                server: value.to_string(),
            })
        } else {
            Err(TestingError::UnknownBackend {
                var: DATABASE_VAR,
                value: value.to_string(),
            })
        }
    }

    /// Creates a fresh, empty database of this backend (not yet migrated: opening it migrates it).
    pub async fn fresh(&self) -> Result<FreshDatabase, TestingError> {
        match self {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique_name("bulwark-test"));
                std::fs::create_dir(&dir)?;
                Ok(FreshDatabase {
                    url: format!("sqlite://{}", dir.join("bulwark.db").display()),
                    cleanup: Cleanup::Directory(dir),
                })
            }
            Backend::Postgres { server } => fresh_postgres(server, "").await,
        }
    }
}

/// A new database on the PostgreSQL `server`, made by `CREATE DATABASE name {options}` (options choose a
/// template or a locale; empty takes the server's defaults).
pub(crate) async fn fresh_postgres(
    server: &str,
    options: &str,
) -> Result<FreshDatabase, TestingError> {
    let name = unique_name("bulwark_test");
    let mut admin = PgConnection::connect(server).await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\" {options}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(FreshDatabase {
        url: with_database(server, &name),
        cleanup: Cleanup::Database {
            server: server.to_string(),
            name,
        },
    })
}

/// The PostgreSQL server that suites running on every backend should also use: the one
/// [`DATABASE_VAR`] names, else the one [`POSTGRES_VAR`] names, else none, unless
/// [`REQUIRE_POSTGRES_VAR`] or [`REQUIRE_SHARED_DATA_VAR`] is `1`, which makes that an error.
pub fn postgres_server() -> Result<Option<String>, TestingError> {
    if let Backend::Postgres { server } = Backend::chosen()? {
        return Ok(Some(server));
    }
    let value = std::env::var(POSTGRES_VAR).unwrap_or_default();
    let value = value.trim();
    if is_postgres_url(value) {
        return Ok(Some(value.to_string()));
    }
    if !value.is_empty() {
        return Err(TestingError::UnknownBackend {
            var: POSTGRES_VAR,
            value: value.to_string(),
        });
    }
    for var in [REQUIRE_POSTGRES_VAR, REQUIRE_SHARED_DATA_VAR] {
        if std::env::var(var).is_ok_and(|v| v == "1") {
            return Err(TestingError::PostgresRequired { var });
        }
    }
    Ok(None)
}

/// A new, empty database on the PostgreSQL server [`postgres_server`] names, for tests that need
/// PostgreSQL whichever backend [`DATABASE_VAR`] chooses; `None` when no server is named, after printing
/// that `what` is skipped and how to run it.
///
/// # Panics
/// When PostgreSQL is required ([`postgres_server`]) but not named, or the database cannot be created.
pub async fn postgres_database(what: &str) -> Option<FreshDatabase> {
    let server = match postgres_server() {
        Ok(Some(server)) => server,
        Ok(None) => {
            eprintln!(
                "skipping {what}: no PostgreSQL server named; set {POSTGRES_VAR}=postgres://USER@HOST:PORT/DB"
            );
            return None;
        }
        Err(e) => panic!("{e}"),
    };
    let database = Backend::Postgres { server }
        .fresh()
        .await
        .unwrap_or_else(|e| panic!("cannot create a PostgreSQL test database: {e}"));
    Some(database)
}

/// A fresh database of the chosen backend, opened and migrated, and the guard that removes it.
pub async fn fresh_store() -> Result<(Arc<dyn Store>, FreshDatabase), TestingError> {
    let database = Backend::chosen()?.fresh().await?;
    let store = crate::open(database.url()).await?;
    Ok((store, database))
}

/// A fresh database of the chosen backend, not yet opened, for code outside any async runtime (tests
/// that pass [`FreshDatabase::url`] to the `bulwark` binary).
pub fn fresh_database() -> Result<FreshDatabase, TestingError> {
    let backend = Backend::chosen()?;
    block_on(async move { backend.fresh().await })?
}

/// A database made for one test; dropping it removes the database and everything in it.
#[derive(Debug)]
pub struct FreshDatabase {
    url: String,
    cleanup: Cleanup,
}

/// What removing a fresh database takes.
#[derive(Debug)]
enum Cleanup {
    /// The temporary directory holding a SQLite file.
    Directory(PathBuf),
    /// A database on a PostgreSQL server.
    Database { server: String, name: String },
}

impl FreshDatabase {
    /// The URL that opens this database (`sqlite://…` or `postgres://…`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        // Errors cannot be returned from here; they are reported and the test's own result stands.
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                if let Err(e) = std::fs::remove_dir_all(dir) {
                    eprintln!("cannot remove test database {}: {e}", dir.display());
                }
            }
            Cleanup::Database { server, name } => {
                let drop_it = async {
                    let mut admin = PgConnection::connect(server).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                };
                match block_on(drop_it) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("cannot drop test database {name}: {e}"),
                    Err(e) => eprintln!("cannot drop test database {name}: {e}"),
                }
            }
        }
    }
}

/// Runs `future` to completion on a private runtime in a scoped thread, so that it works both outside
/// any runtime and inside one (where blocking the current runtime on itself would panic).
fn block_on<F>(future: F) -> Result<F::Output, std::io::Error>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(runtime.block_on(future))
        });
        match thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// A name no other fresh database has, now or in another run: time, process and a per-process count.
/// Lower case ASCII letters, digits and `prefix`, short enough for a PostgreSQL identifier.
fn unique_name(prefix: &str) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{:06}_{}_{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `server` with its database replaced by `name`, query parameters kept.
fn with_database(server: &str, name: &str) -> String {
    let (scheme, rest) = server.split_once("://").unwrap_or(("postgres", server));
    let (location, query) = match rest.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (rest, None),
    };
    let authority = location.split_once('/').map_or(location, |(a, _)| a);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_server_url_is_replaced() {
        let check = |server: &str, expected: &str| {
            assert_eq!(with_database(server, "fresh"), expected, "{server}");
        };
        check(
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@127.0.0.1:5432/fresh",
        );
        check("postgresql://u:p@db", "postgresql://u:p@db/fresh");
        check("postgres://db/", "postgres://db/fresh");
        check(
            "postgres://u@db:5433/test?sslmode=disable&application_name=x",
            "postgres://u@db:5433/fresh?sslmode=disable&application_name=x",
        );
        check(
            "postgres://db?sslmode=disable",
            "postgres://db/fresh?sslmode=disable",
        );
    }

    #[test]
    fn unique_names_differ_and_fit_an_identifier() {
        let a = unique_name("bulwark_test");
        let b = unique_name("bulwark_test");
        assert_ne!(a, b);
        assert!(a.len() <= 63, "{a}");
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
            "{a}"
        );
    }

    #[test]
    fn sqlite_databases_are_removed_with_their_guard() {
        let database = block_on(Backend::Sqlite.fresh()).unwrap().unwrap();
        let url = database.url().to_string();
        let path = PathBuf::from(url.strip_prefix("sqlite://").unwrap());
        let dir = path.parent().unwrap().to_path_buf();
        assert!(dir.is_dir());
        drop(database);
        assert!(!dir.exists());
    }
}
