//! Reading under the collection root: host paths for the report, size limits, and the one wording of why a
//! file could not be read.

use std::io::{ErrorKind, Read};
use std::path::Path;

use bulwark_formats::inventory::MAX_INVENTORY_BYTES;

/// What the report says when a file exists but the agent's user may not read it.
pub(crate) const PERMISSION_DENIED: &str = "permission denied: run as root to include it";

/// The path as it is on the host (`/var/lib/dpkg/status`), whatever the collection root.
pub(crate) fn host_path(relative: &str) -> String {
    format!("/{}", relative.trim_start_matches('/'))
}

/// The host path of `path` below `root`, for paths found while walking directories.
pub(crate) fn host_path_of(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) => host_path(&relative.to_string_lossy()),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// Why an IO error kept a source out of the report.
pub(crate) fn reason(error: &std::io::Error) -> String {
    match error.kind() {
        ErrorKind::NotFound => "not present".into(),
        ErrorKind::PermissionDenied => PERMISSION_DENIED.into(),
        _ => error.to_string(),
    }
}

/// Reads `root/relative` whole, up to the inventory size limit; the error is the reason to report.
pub(crate) fn file(root: &Path, relative: &str) -> Result<Vec<u8>, String> {
    path(&root.join(relative))
}

/// Reads a file whole, up to the inventory size limit; the error is the reason to report.
pub(crate) fn path(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| reason(&e))?;
    let mut bytes = Vec::new();
    file.take(MAX_INVENTORY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| reason(&e))?;
    if bytes.len() as u64 > MAX_INVENTORY_BYTES {
        return Err(format!(
            "larger than the limit of {MAX_INVENTORY_BYTES} bytes"
        ));
    }
    Ok(bytes)
}

/// The entries of a directory, sorted by name so that reports are stable; the error is the reason.
pub(crate) fn sorted_dir(path: &Path) -> Result<Vec<std::fs::DirEntry>, String> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| reason(&e))? {
        entries.push(entry.map_err(|e| reason(&e))?);
    }
    entries.sort_by_key(std::fs::DirEntry::file_name);
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_say_what_to_do() {
        let reason_of = |kind| reason(&std::io::Error::from(kind));
        assert_eq!(reason_of(ErrorKind::NotFound), "not present");
        assert_eq!(
            reason_of(ErrorKind::PermissionDenied),
            "permission denied: run as root to include it"
        );
        assert_eq!(reason_of(ErrorKind::InvalidData), "invalid data");
    }

    #[test]
    fn host_paths_are_absolute() {
        assert_eq!(host_path("var/lib/dpkg/status"), "/var/lib/dpkg/status");
        assert_eq!(host_path("/etc/hostname"), "/etc/hostname");
        let root = Path::new("/tmp/root");
        assert_eq!(
            host_path_of(root, Path::new("/tmp/root/usr/lib/node_modules")),
            "/usr/lib/node_modules"
        );
    }
}
