//! What the `bulwark` binary's integration tests share: running the binary on a database, and a fresh
//! PostgreSQL database when the environment names a server.

use std::process::Output;

use bulwark_store::testing::{self, FreshDatabase};

/// The `bulwark` binary built for these tests.
pub fn bulwark() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_bulwark"))
}

/// Runs `bulwark --db DB ARGS…` and returns its output, failing the test (with its stderr) unless it
/// exits 0.
pub fn run<I, S>(db: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = bulwark();
    command.arg("--db").arg(db).args(args);
    let output = command.output().expect("run bulwark");
    assert!(
        output.status.success(),
        "{command:?} exited {:?}:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A new, empty PostgreSQL database ([`testing::postgres_database`]), for a test outside any runtime;
/// `None`, with the reason printed, when the environment names no server.
pub fn postgres_database(what: &str) -> Option<FreshDatabase> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(testing::postgres_database(what))
}
