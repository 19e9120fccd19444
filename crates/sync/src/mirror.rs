//! Air-gapped sites: the same files copied from a directory laid out like the feed directory, with
//! the same change detection (by content hash) and every missing piece reported by name.
//!
//! Layout of a mirror (and of the feed directory):
//!
//! ```text
//! osv/<OSV ecosystem name>/all.zip              osv/PyPI/all.zip, osv/Rocky Linux/all.zip …
//! nvd/*.json, nvd/*.json.gz                     NVD CVE API 2.0 pages (or NVD JSON 2.0 files)
//! kev/known_exploited_vulnerabilities.json      CISA KEV (or known_exploited_vulnerabilities.csv)
//! epss/epss_scores-current.csv.gz               FIRST EPSS
//! ```
//!
//! Files are copied, not hard-linked: a mirror that is updated in place must not change the feed
//! directory behind the sync's back, and the two are often on different file systems anyway.

use std::fs;
use std::path::{Path, PathBuf};

use bulwark_core::Ecosystem;

use crate::meta::{self, FileMeta};
use crate::report::{Feed, ItemReport, Outcome};
use crate::{EPSS_FILE, KEV_CSV, KEV_JSON, OSV_FILE, SyncError};

/// Copies every requested feed from `mirror` into `feed_dir`.
pub(crate) fn sync(
    mirror: &Path,
    feed_dir: &Path,
    feeds: &[Feed],
    ecosystems: &[Ecosystem],
) -> Vec<ItemReport> {
    let mut items = Vec::new();
    for feed in Feed::ALL.into_iter().filter(|f| feeds.contains(f)) {
        let dir = feed.name();
        match feed {
            Feed::Osv => {
                for eco in ecosystems {
                    let relative = Path::new(dir).join(eco.name()).join(OSV_FILE);
                    items.push(ItemReport {
                        feed,
                        name: format!("osv/{}", eco.name()),
                        outcome: copy_one(mirror, feed_dir, &[relative]),
                    });
                }
            }
            Feed::Nvd => items.push(ItemReport {
                feed,
                name: dir.into(),
                outcome: copy_nvd(mirror, feed_dir),
            }),
            Feed::Kev => items.push(ItemReport {
                feed,
                name: dir.into(),
                outcome: copy_one(
                    mirror,
                    feed_dir,
                    &[Path::new(dir).join(KEV_JSON), Path::new(dir).join(KEV_CSV)],
                ),
            }),
            Feed::Epss => items.push(ItemReport {
                feed,
                name: dir.into(),
                outcome: copy_one(mirror, feed_dir, &[Path::new(dir).join(EPSS_FILE)]),
            }),
        }
    }
    items
}

/// Copies the first of `candidates` (paths relative to both directories) that the mirror has.
fn copy_one(mirror: &Path, feed_dir: &Path, candidates: &[PathBuf]) -> Outcome {
    let Some(relative) = candidates.iter().find(|c| mirror.join(c).is_file()) else {
        return Outcome::Missing {
            expected: mirror.join(&candidates[0]),
        };
    };
    let dest = feed_dir.join(relative);
    match copy_if_changed(&mirror.join(relative), &dest) {
        Ok(Some(bytes)) => Outcome::Fetched {
            files: vec![dest],
            bytes,
        },
        Ok(None) => Outcome::Unchanged,
        Err(e) => Outcome::Failed(e),
    }
}

/// Copies every `*.json` and `*.json.gz` of the mirror's `nvd/` (hidden files aside), in name order.
fn copy_nvd(mirror: &Path, feed_dir: &Path) -> Outcome {
    let source = mirror.join(Feed::Nvd.name());
    let entries = match fs::read_dir(&source) {
        Ok(entries) => entries,
        Err(_) => return Outcome::Missing { expected: source },
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => return Outcome::Failed(SyncError::io(&source)(e)),
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        let wanted =
            !name.starts_with('.') && (name.ends_with(".json") || name.ends_with(".json.gz"));
        if wanted && entry.path().is_file() {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Outcome::Missing {
            expected: source.join("*.json"),
        };
    }
    names.sort();
    let mut files = Vec::new();
    let mut total = 0;
    for name in names {
        let dest = feed_dir.join(Feed::Nvd.name()).join(&name);
        match copy_if_changed(&source.join(&name), &dest) {
            Ok(Some(bytes)) => {
                files.push(dest);
                total += bytes;
            }
            Ok(None) => {}
            Err(e) => return Outcome::Failed(e),
        }
    }
    if files.is_empty() {
        Outcome::Unchanged
    } else {
        Outcome::Fetched {
            files,
            bytes: total,
        }
    }
}

/// Copies `source` to `dest` unless `dest` already has the same content; returns the size copied.
fn copy_if_changed(source: &Path, dest: &Path) -> Result<Option<u64>, SyncError> {
    let (sha256, bytes) = meta::hash_file(source)?;
    let current = match meta::load(dest) {
        Some(m) => Some(m.sha256),
        None if dest.is_file() => Some(meta::hash_file(dest)?.0),
        None => None,
    };
    let meta = FileMeta {
        source: source.display().to_string(),
        etag: None,
        last_modified: None,
        sha256,
        bytes,
    };
    if current.as_deref() == Some(meta.sha256.as_str()) {
        meta::save(dest, &meta)?;
        return Ok(None);
    }
    let mut temp = meta::temp_in(meta::parent(dest))?;
    let mut input = fs::File::open(source).map_err(SyncError::io(source))?;
    std::io::copy(&mut input, &mut temp).map_err(SyncError::io(temp.path()))?;
    meta::persist(temp, dest)?;
    meta::save(dest, &meta)?;
    Ok(Some(bytes))
}
