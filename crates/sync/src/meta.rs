//! The files beside each feed file: what was fetched (ETag, Last-Modified, SHA-256), and the one way a
//! file reaches its final name (a temporary file in the same directory, then a rename).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::SyncError;

/// What is known about a feed file, stored as the hidden `.{name}.sync.json` beside it (hidden, so an
/// import of the directory passes over it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileMeta {
    /// The URL or mirror path it came from.
    pub source: String,
    /// The server's `ETag`, sent back as `If-None-Match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The server's `Last-Modified`, sent back as `If-Modified-Since`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The path of the metadata file of `file`.
pub(crate) fn meta_path(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.with_file_name(format!(".{name}.sync.json"))
}

/// The stored metadata of `file`, if both the file and a readable metadata file exist. Unreadable
/// metadata is treated as absent: the next download is then unconditional, which is always safe.
pub(crate) fn load(file: &Path) -> Option<FileMeta> {
    if !file.is_file() {
        return None;
    }
    let bytes = fs::read(meta_path(file)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes the metadata of `file` (atomically).
pub(crate) fn save(file: &Path, meta: &FileMeta) -> Result<(), SyncError> {
    let path = meta_path(file);
    let json = serde_json::to_vec_pretty(meta).map_err(|e| SyncError::Io {
        path: path.clone(),
        source: io::Error::other(e),
    })?;
    write_atomically(&path, &json)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SyncError> {
    let dir = parent(path);
    let mut temp = temp_in(dir)?;
    io::Write::write_all(&mut temp, bytes).map_err(SyncError::io(temp.path()))?;
    persist(temp, path)
}

/// A new temporary file in `dir`, hidden and removed again if it is dropped before [`persist`].
pub(crate) fn temp_in(dir: &Path) -> Result<NamedTempFile, SyncError> {
    fs::create_dir_all(dir).map_err(SyncError::io(dir))?;
    tempfile::Builder::new()
        .prefix(".incoming-")
        .tempfile_in(dir)
        .map_err(SyncError::io(dir))
}

/// Gives a complete temporary file its final name.
pub(crate) fn persist(temp: NamedTempFile, path: &Path) -> Result<(), SyncError> {
    temp.as_file()
        .sync_all()
        .map_err(SyncError::io(temp.path()))?;
    temp.persist(path).map_err(|e| SyncError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Hex SHA-256 and size of a file, read in a stream.
pub(crate) fn hash_file(path: &Path) -> Result<(String, u64), SyncError> {
    let mut file = fs::File::open(path).map_err(SyncError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(SyncError::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex(&hasher.finalize()), bytes))
}

/// Lower-case hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory a path is in (`.` for a bare name).
pub(crate) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
