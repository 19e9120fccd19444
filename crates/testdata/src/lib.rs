//! Test-only access to the real third-party data staged in `../shared/data` (beside the repository).
//!
//! Tests call [`shared_data`]; when the directory is missing they print why they skip, unless
//! `BULWARK_REQUIRE_SHARED_DATA=1` is set (as `.ci/run` does), in which case a missing directory fails.
//! The data is referenced in place and never copied into the repository.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment variable that makes a missing `../shared/data` an error.
pub const REQUIRE_VAR: &str = "BULWARK_REQUIRE_SHARED_DATA";

/// The environment variable that overrides where the shared data lives.
pub const DIR_VAR: &str = "BULWARK_SHARED_DATA";

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The shared data directory, or `None` (with a printed reason) when it is absent and not required.
///
/// # Panics
/// When the directory is absent and `BULWARK_REQUIRE_SHARED_DATA=1`.
pub fn shared_data() -> Option<PathBuf> {
    let dir = match std::env::var_os(DIR_VAR) {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("../shared/data"),
    };
    if dir.join("README.md").is_file() {
        return Some(dir.canonicalize().unwrap_or(dir));
    }
    let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{REQUIRE_VAR}=1 but the shared data directory {} is missing",
        dir.display()
    );
    eprintln!(
        "skipping: shared data directory {} not found (set {DIR_VAR} or place ../shared beside the repo)",
        dir.display()
    );
    None
}

/// A file under the shared data directory (`None`, with the skip printed, when the directory is absent).
///
/// # Panics
/// When the directory exists but the file does not: the data a test names must be there.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = shared_data()?.join(relative);
    assert!(
        path.exists(),
        "shared data file {} is missing",
        path.display()
    );
    Some(path)
}

/// Reads one member of a `.tar.zst` archive under the shared data directory into memory.
///
/// # Panics
/// When the archive or the member is missing or unreadable.
pub fn archive_member(archive_relative: &str, member: &str) -> Option<Vec<u8>> {
    let path = shared_file(archive_relative)?;
    let file = std::fs::File::open(&path).expect("open archive");
    let decoder = zstd::stream::read::Decoder::new(file).expect("zstd");
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        if name == member || name.trim_start_matches("./") == member {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read member");
            return Some(bytes);
        }
    }
    panic!("member {member} not found in {}", path.display());
}
